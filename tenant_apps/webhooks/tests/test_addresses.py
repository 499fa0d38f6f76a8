"""Requests never go to private, loopback or link-local addresses (checked after DNS resolution)."""

import ipaddress

import pytest
from django.utils import translation

from tenant_apps.webhooks import events, services
from tenant_apps.webhooks.addresses import RefusedAddress, forbidden, permitted_target
from tenant_apps.webhooks.models import Attempt
from tenant_apps.webhooks.sender import send_endpoint


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private address
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
    ],
)
def test_private_link_local_and_reserved_addresses_are_refused(url):
    with pytest.raises(RefusedAddress):
        permitted_target(url)


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://[::1]/hook", "https://localhost/hook"])
def test_loopback_is_refused_unless_the_setting_allows_it(url, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(RefusedAddress):
        permitted_target(url)

    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    assert permitted_target(url)[2] in ("127.0.0.1", "::1")


@pytest.mark.parametrize("url", ["http://example.com/hook", "ftp://example.com/", "https://user:pw@example.com/"])
def test_only_plain_https_addresses_are_accepted(url):
    with pytest.raises(RefusedAddress):
        permitted_target(url)


def test_a_public_address_is_permitted():
    assert not forbidden(ipaddress.ip_address("93.184.216.34"))
    assert not forbidden(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_a_name_that_resolves_to_loopback_is_not_called_in_production(in_workspace, receiver, settings):
    endpoint, _secret = services.create_endpoint(receiver.url(host="localhost"), ["client.unsubscribed"])
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    events.emit("client.unsubscribed", [{"client_id": 1}])

    with translation.override("en"):
        outcome = send_endpoint(endpoint.pk)

    assert receiver.requests == []
    attempt = Attempt.objects.get(endpoint=endpoint)
    assert outcome.failed == 1 and not attempt.succeeded and "refused" in attempt.error
    assert attempt.message.status == "pending", "retried: the owner may fix the name"


def test_a_name_that_resolves_to_loopback_is_called_when_allowed(in_workspace, receiver):
    endpoint, secret = services.create_endpoint(receiver.url(host="localhost"), ["client.unsubscribed"])
    events.emit("client.unsubscribed", [{"client_id": 1}])

    send_endpoint(endpoint.pk)

    (request,) = receiver.requests
    assert request.headers["host"] == f"localhost:{receiver.port}", "the name, not the address, in Host (and SNI)"
