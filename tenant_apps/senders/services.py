"""Sending domains, DKIM keys and own providers: what the views and the engine call.

Every function runs inside a workspace schema (the caller entered it).
"""

import logging
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenant_apps.delivery.smtp import SmtpConfig

from . import dkim
from .dnscheck import check_domain, dkim_published
from .models import DkimKey, SendingDomain, SmtpProvider

log = logging.getLogger(__name__)


# --- domains and keys -------------------------------------------------------------------


def new_selector() -> str:
    """A selector per key: the month it was made and a random tail (rotation never reuses one)."""
    return f"r{timezone.now():%Y%m}{secrets.token_hex(3)}"


def create_key(domain: SendingDomain) -> DkimKey:
    pem = dkim.generate_private_key(2048)
    return DkimKey.objects.create(
        domain=domain,
        selector=new_selector(),
        private_key=pem.decode("ascii"),
        public_key=dkim.public_key_base64(pem),
    )


@transaction.atomic
def add_domain(name: str) -> SendingDomain:
    domain = SendingDomain.objects.create(name=name.strip().lower().rstrip("."))
    create_key(domain)
    return domain


def platform_domain() -> str:
    return parseaddr(settings.DELIVERY_FROM_EMAIL)[1].rpartition("@")[2].lower()


@dataclass(frozen=True)
class DnsRecord:
    kind: str
    name: str
    value: str
    purpose: str


def dns_records(domain: SendingDomain) -> list[DnsRecord]:
    """What the owner publishes: each non-retired DKIM key, an SPF include, a DMARC suggestion."""
    records = [
        DnsRecord("TXT", key.record_name, key.record_value, f"DKIM ({key.get_state_display()})")
        for key in domain.keys.exclude(state=DkimKey.State.RETIRED)
    ]
    records.append(DnsRecord("TXT", domain.name, f"v=spf1 include:{settings.SENDERS_SPF_INCLUDE} ~all", "SPF"))
    records.append(
        DnsRecord("TXT", f"_dmarc.{domain.name}", f"v=DMARC1; p=none; rua=mailto:{settings.SENDERS_DMARC_RUA}", "DMARC")
    )
    return records


def verify_domain(domain: SendingDomain) -> SendingDomain:
    """Look the domain's records up in DNS and update its state and its keys'.

    A new key found in DNS becomes the active one; the key it replaces is
    retired only then, so mail is never signed with a key nobody can look up.
    The domain is verified while its active key is published and SPF includes
    the platform's relay.
    """
    now = timezone.now()
    keys = list(domain.keys.exclude(state=DkimKey.State.RETIRED).order_by("created"))
    active = next((k for k in keys if k.state == DkimKey.State.ACTIVE), None)
    newest = keys[-1] if keys else None
    check = (
        check_domain(
            domain.name, (active or newest).selector, (active or newest).public_key, settings.SENDERS_SPF_INCLUDE
        )
        if keys
        else None
    )
    with transaction.atomic():
        if newest is not None and newest.state == DkimKey.State.NEW and not (check and check.error):
            if dkim_published(domain.name, newest.selector, newest.public_key):
                if active is not None:
                    DkimKey.objects.filter(pk=active.pk).update(state=DkimKey.State.RETIRED, retired_at=now)
                DkimKey.objects.filter(pk=newest.pk).update(state=DkimKey.State.ACTIVE, published_at=now)
                active, check.dkim = newest, True
        domain.checked_at = now
        domain.spf_ok = bool(check and check.spf)
        domain.dmarc_ok = bool(check and check.dmarc)
        domain.check_error = check.error if check else ""
        domain.check_pending = False
        verified = bool(check and check.verified and active is not None)
        domain.verified_at = (domain.verified_at or now) if verified else None
        domain.save(update_fields=["checked_at", "spf_ok", "dmarc_ok", "check_error", "verified_at", "check_pending"])
    return domain


def rotate_key(domain: SendingDomain) -> DkimKey:
    """Start a rotation: a new key under a new selector; it takes over once verify_domain finds it in DNS."""
    pending = domain.keys.filter(state=DkimKey.State.NEW).first()
    return pending or create_key(domain)


def verify_every_domain() -> int:
    checked = 0
    for domain in SendingDomain.objects.all():
        verify_domain(domain)
        checked += 1
    return checked


def from_domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def from_allowed(address: str) -> bool:
    """A mailing may send from the platform's domain or from one of the workspace's verified domains."""
    domain = from_domain(address)
    if not domain:
        return False
    if domain == platform_domain():
        return True
    return SendingDomain.objects.filter(name=domain, verified_at__isnull=False).exists()


# --- what the engine needs for a run ----------------------------------------------------


@dataclass(frozen=True)
class ProviderSpec:
    """The provider a run sends through: its identity (pool, breaker, bucket), connection and rates."""

    key: str
    config: SmtpConfig
    rate_per_second: float
    rate_per_hour: int


def platform_provider() -> ProviderSpec:
    from tenant_apps.delivery.engine import smtp_config

    return ProviderSpec(
        "platform",
        smtp_config(),
        settings.SENDERS_PLATFORM_RATE_PER_SECOND,
        settings.SENDERS_PLATFORM_RATE_PER_HOUR,
    )


def provider_spec(provider: SmtpProvider, schema_name: str) -> ProviderSpec:
    config = SmtpConfig(
        host=provider.host,
        port=provider.port,
        username=provider.username,
        password=provider.password,
        use_tls=provider.security == SmtpProvider.Security.STARTTLS,
        use_ssl=provider.security == SmtpProvider.Security.TLS,
        timeout=settings.DELIVERY_SMTP_TIMEOUT,
        idle_check=settings.DELIVERY_SMTP_IDLE_CHECK,
        local_hostname=settings.BASE_DOMAIN,
    )
    return ProviderSpec(f"{schema_name}:{provider.pk}", config, provider.rate_per_second, provider.rate_per_hour)


def provider_for(from_address: str, schema_name: str) -> ProviderSpec:
    """The sending domain's provider, else the workspace's default provider, else the platform relay."""
    domain = SendingDomain.objects.filter(name=from_domain(from_address)).select_related("provider").first()
    provider = domain.provider if domain and domain.provider_id else None
    provider = provider or SmtpProvider.objects.filter(is_workspace_default=True).first()
    return provider_spec(provider, schema_name) if provider else platform_provider()


def signer_for(from_address: str) -> dkim.DkimSigner | None:
    """The DKIM signer of a verified From domain (key decrypted and parsed once per run), or None."""
    key = (
        DkimKey.objects.filter(
            domain__name=from_domain(from_address),
            domain__verified_at__isnull=False,
            state=DkimKey.State.ACTIVE,
        )
        .select_related("domain")
        .first()
    )
    if key is None:
        return None
    return dkim.DkimSigner(key.domain.name, key.selector, key.private_key.encode("ascii"))


def request_domain_check(domain: SendingDomain, schema_name: str) -> None:
    """Queue a DNS check (never in the request: a slow resolver must not hold a page)."""
    from .tasks import check_domain_now

    SendingDomain.objects.filter(pk=domain.pk).update(check_pending=True)
    transaction.on_commit(lambda: check_domain_now(schema_name, domain.pk))


@transaction.atomic
def save_provider(provider: SmtpProvider) -> SmtpProvider:
    """Save a provider; only one may be the workspace's default."""
    provider.save()
    if provider.is_workspace_default:
        SmtpProvider.objects.exclude(pk=provider.pk).update(is_workspace_default=False)
    return provider


# --- "test connection" --------------------------------------------------------------------


def request_connection_test(provider: SmtpProvider, schema_name: str) -> None:
    """Queue a real EHLO/AUTH against the provider; the page shows the answer when it is there."""
    from .tasks import test_provider_connection

    SmtpProvider.objects.filter(pk=provider.pk).update(test_pending=True)
    transaction.on_commit(lambda: test_provider_connection(schema_name, provider.pk))


def run_connection_test(provider: SmtpProvider) -> tuple[bool, str]:
    from .smtp_test import probe

    ok, answer = probe(provider_spec(provider, "test").config)
    SmtpProvider.objects.filter(pk=provider.pk).update(
        tested_at=timezone.now(), test_ok=ok, test_answer=answer[:2000], test_pending=False
    )
    return ok, answer
