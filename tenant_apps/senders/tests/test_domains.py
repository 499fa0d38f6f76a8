"""Sending domains: DNS records, verification against a local DNS server, key rotation, secrets at rest."""

import dkim as dkimpy
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tenant_apps.delivery.compose import build_message
from tenant_apps.senders import services
from tenant_apps.senders.dnscheck import dkimpy_dnsfunc
from tenant_apps.senders.models import DkimKey, SmtpProvider

pytestmark = pytest.mark.django_db


def publish_all(zone, domain):
    for record in services.dns_records(domain):
        zone.publish(record.name, record.value)


def test_new_domain_gets_a_2048_bit_key_and_its_dns_records(in_workspace, settings):
    settings.SENDERS_SPF_INCLUDE = "_spf.rassylka.test"
    domain = services.add_domain("News.Acme.Example.")
    key = domain.keys.get()
    records = {r.purpose.split()[0]: r for r in services.dns_records(domain)}
    assert domain.name == "news.acme.example"
    assert records["DKIM"].name == f"{key.selector}._domainkey.news.acme.example"
    assert records["DKIM"].value.startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # 2048-bit SubjectPublicKeyInfo
    assert records["SPF"].value == "v=spf1 include:_spf.rassylka.test ~all"
    assert records["DMARC"].name == "_dmarc.news.acme.example"


def test_domain_is_verified_when_dkim_and_spf_are_published(in_workspace, dns_zone):
    domain = services.add_domain("acme.example")
    services.verify_domain(domain)
    assert not domain.is_verified
    publish_all(dns_zone, domain)
    services.verify_domain(domain)
    assert domain.is_verified and domain.spf_ok and domain.dmarc_ok
    assert domain.keys.get().state == DkimKey.State.ACTIVE


def test_domain_without_spf_include_stays_unverified(in_workspace, dns_zone):
    domain = services.add_domain("acme.example")
    key = domain.keys.get()
    dns_zone.publish(key.record_name, key.record_value)
    dns_zone.publish("acme.example", "v=spf1 include:_spf.google.com ~all")
    services.verify_domain(domain)
    assert not domain.is_verified and not domain.spf_ok


def test_daily_check_unverifies_a_domain_whose_key_was_removed(in_workspace, dns_zone):
    domain = services.add_domain("acme.example")
    publish_all(dns_zone, domain)
    services.verify_domain(domain)
    dns_zone.unpublish(domain.keys.get().record_name)
    services.verify_every_domain()
    domain.refresh_from_db()
    assert not domain.is_verified


def test_unreachable_dns_server_is_reported_not_raised(in_workspace, settings):
    from tenant_apps.delivery.tests.conftest import free_port

    settings.SENDERS_DNS_RESOLVER = f"127.0.0.1:{free_port()}"
    settings.SENDERS_DNS_TIMEOUT = 0.3
    domain = services.verify_domain(services.add_domain("acme.example"))
    assert not domain.is_verified and domain.check_error


def test_key_rotation_keeps_the_old_key_until_the_new_one_is_in_dns(in_workspace, dns_zone):
    domain = services.add_domain("acme.example")
    publish_all(dns_zone, domain)
    services.verify_domain(domain)
    old = domain.keys.get()
    new = services.rotate_key(domain)
    assert new.selector != old.selector

    services.verify_domain(domain)  # the new selector is not published yet: the old key still signs
    old.refresh_from_db()
    assert old.state == DkimKey.State.ACTIVE and domain.is_verified
    assert services.signer_for("news@acme.example").selector == old.selector

    dns_zone.publish(new.record_name, new.record_value)
    services.verify_domain(domain)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == (DkimKey.State.RETIRED, DkimKey.State.ACTIVE)
    signer = services.signer_for("news@acme.example")
    assert signer.selector == new.selector
    signed = signer.sign(build_message(from_header="news@acme.example", to="a@example.com", subject="s", text="t"))
    assert dkimpy.verify(signed, dnsfunc=dkimpy_dnsfunc)


def test_unverified_domain_has_no_signer_and_is_not_an_allowed_from(in_workspace, settings):
    settings.DELIVERY_FROM_EMAIL = "Rassylka <noreply@rassylka.test>"
    services.add_domain("acme.example")
    assert services.signer_for("news@acme.example") is None
    assert not services.from_allowed("news@acme.example")
    assert services.from_allowed("Team <team@rassylka.test>")


def raw_column(table, column):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}"')  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_secrets_are_never_stored_in_plain_text(in_workspace):
    SmtpProvider.objects.create(name="Own", host="smtp.acme.example", username="u", password="hunter2-secret")
    domain = services.add_domain("acme.example")
    [password] = raw_column("senders_smtpprovider", "password")
    [private_key] = raw_column("senders_dkimkey", "private_key")
    assert "hunter2" not in password and password.startswith("gAAAAA")  # a Fernet token
    assert "PRIVATE KEY" not in private_key and private_key.startswith("gAAAAA")
    assert SmtpProvider.objects.get().password == "hunter2-secret"
    assert "BEGIN PRIVATE KEY" in domain.keys.get().private_key


def test_old_rows_decrypt_after_a_key_is_added_and_rotation_moves_them_to_the_new_key(in_workspace, settings):
    from tenant_apps.senders.secrets import rotate_workspace_secrets

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SENDERS_ENCRYPTION_KEYS = [old_key]
    provider = SmtpProvider.objects.create(name="Own", host="h", password="s3cret")
    settings.SENDERS_ENCRYPTION_KEYS = [new_key, old_key]
    assert SmtpProvider.objects.get(pk=provider.pk).password == "s3cret"
    assert rotate_workspace_secrets() == 1
    settings.SENDERS_ENCRYPTION_KEYS = [new_key]  # the old key is gone: the row still decrypts
    assert SmtpProvider.objects.get(pk=provider.pk).password == "s3cret"
