"""The open pixel and the click redirect: signed tokens only, no SQL, no open redirect."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import host_client
from tenant_apps.engagement import stream
from tenant_apps.engagement.endpoints import PIXEL
from tenant_apps.engagement.models import Link
from tenant_apps.engagement.tokens import CLICK, OPEN, TokenSigner

from .conftest import click_urls, path_of, pixel_url


def stream_hits():
    return [stream.unpack(fields[b"h"]) for _id, fields in stream.client().xrange(stream.stream_key())]


@pytest.fixture
def one_message(in_workspace, sent_mailing):
    _mailing, run, messages = sent_mailing(1)
    ((rcpt, message),) = messages.items()
    return run, message


def test_open_pixel_is_a_gif_that_is_never_cached_and_queues_one_open(in_workspace, one_message):
    run, message = one_message
    client = host_client(in_workspace.host)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0 (X11) Firefox/140.0")
    assert len(queries) == 0, "the pixel must not touch the database"
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif" and response.content == PIXEL
    assert "no-store" in response["Cache-Control"]
    delivery = run.deliveries.get()
    assert stream_hits() == [
        {"w": "acme", "k": "o", "d": str(delivery.pk), "l": "0", "n": "127.0.0.0/24", "a": "Firefox", "m": ""}
    ]


def test_click_redirects_to_the_original_address_without_sql(in_workspace, one_message):
    run, message = one_message
    client = host_client(in_workspace.host)
    url = click_urls(message)[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path_of(url))
    assert len(queries) == 0, "the redirect must not touch the database"
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/sale?ref=mail"
    (hit,) = stream_hits()
    assert hit["k"] == "c" and hit["d"] == str(run.deliveries.get().pk)
    assert Link.objects.get(pk=int(hit["l"])).url == "https://shop.example/sale?ref=mail"


def test_click_falls_back_to_the_database_when_redis_lost_the_link_table(in_workspace, one_message):
    _run, message = one_message
    stream.client().delete(stream.links_key("acme"))
    response = host_client(in_workspace.host).get(path_of(click_urls(message)[1]))
    assert response.status_code == 302 and response["Location"] == "https://shop.example/new"


def tamper(token):
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize("damage", ["tampered", "truncated", "other_workspace", "open_as_click", "garbage"])
def test_damaged_or_foreign_click_tokens_get_400_and_redirect_nowhere(in_workspace, one_message, damage):
    run, message = one_message
    token = path_of(click_urls(message)[0]).removeprefix("/c/")
    delivery_id, link_id = TokenSigner("acme").read(CLICK, token)
    bad = {
        "tampered": tamper(token),
        "truncated": token[:-3],
        "other_workspace": TokenSigner("globex").make(CLICK, delivery_id, link_id),
        "open_as_click": TokenSigner("acme").make(OPEN, delivery_id, link_id),
        "garbage": "../../evil.example",
    }[damage]
    response = host_client(in_workspace.host).get(f"/c/{bad}?url=https://evil.example/")
    assert response.status_code in (400, 404)
    assert "Location" not in response
    assert stream_hits() == []


@pytest.mark.parametrize("damage", ["tampered", "truncated", "other_workspace"])
def test_damaged_or_foreign_pixel_tokens_get_400_and_count_nothing(in_workspace, one_message, damage):
    _run, message = one_message
    token = path_of(pixel_url(message)).removeprefix("/o/").removesuffix(".gif")
    delivery_id, _ = TokenSigner("acme").read(OPEN, token)
    bad = {
        "tampered": tamper(token),
        "truncated": token[:-2],
        "other_workspace": TokenSigner("globex").make(OPEN, delivery_id),
    }[damage]
    response = host_client(in_workspace.host).get(f"/o/{bad}.gif")
    assert response.status_code == 400
    assert stream_hits() == []


def test_a_token_of_acme_on_the_globex_host_is_refused(in_workspace, one_message):
    _run, message = one_message
    response = host_client("globex.localhost").get(path_of(click_urls(message)[0]))
    assert response.status_code == 400 and "Location" not in response


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-~%/:ABCXYZ", max_size=60))
def test_redirect_never_goes_to_an_address_that_was_not_in_the_message(in_workspace, one_message, junk):
    run, _message = one_message
    known = set(Link.objects.filter(run=run).values_list("url", flat=True))
    response = host_client(in_workspace.host).get(f"/c/{junk}")
    if response.status_code in (301, 302):
        assert response["Location"] in known
    else:
        assert response.status_code in (400, 404)


def test_head_request_and_bot_agents_are_queued_as_machines(in_workspace, one_message):
    _run, message = one_message
    client = host_client(in_workspace.host)
    client.head(path_of(click_urls(message)[0]))
    client.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)")
    client.get(path_of(pixel_url(message)), HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.58.101.7")
    assert [(hit["m"], hit["a"], hit["n"]) for hit in stream_hits()] == [
        ("head", "", "127.0.0.0/24"),
        ("bot", "Bot", "127.0.0.0/24"),
        ("proxy", "Proxy", "17.58.101.0/24"),
    ]


def test_ipv6_addresses_are_cut_to_48_bits(in_workspace, one_message):
    _run, message = one_message
    host_client(in_workspace.host).get(path_of(pixel_url(message)), REMOTE_ADDR="2001:db8:abcd:12:1:2:3:4")
    assert stream_hits()[0]["n"] == "2001:db8:abcd::/48"


def test_forwarded_address_is_believed_only_from_the_local_proxy(in_workspace, one_message):
    _run, message = one_message
    client = host_client(in_workspace.host)
    client.get(path_of(pixel_url(message)), HTTP_X_FORWARDED_FOR="203.0.113.9")
    client.get(path_of(pixel_url(message)), HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.4")
    assert [hit["n"] for hit in stream_hits()] == ["203.0.113.0/24", "198.51.100.0/24"]


def test_unsubscribe_page_carries_no_tracking(in_workspace, one_message):
    _run, message = one_message
    import re

    from .conftest import html_of

    unsubscribe = re.search(r'href="https?://[^/]+(/u/[^"]+)"', html_of(message)).group(1)
    page = host_client(in_workspace.host).get(unsubscribe)
    assert page.status_code == 200
    body = page.content.decode()
    assert "/o/" not in body and "/c/" not in body
