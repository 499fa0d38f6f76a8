"""DNS checks of a sending domain (dnspython), through the resolver named in settings.

`SENDERS_DNS_RESOLVER` is "" for the system's resolver or "host:port" (tests
point it at a dnslib server on 127.0.0.1). No ORM here: callers pass what to
look for and get back what was found.
"""

from dataclasses import asdict, dataclass

import dns.exception
import dns.resolver
from django.conf import settings


def resolver() -> dns.resolver.Resolver:
    address = settings.SENDERS_DNS_RESOLVER
    timeout = settings.SENDERS_DNS_TIMEOUT
    if not address:
        res = dns.resolver.Resolver()
    else:
        host, _colon, port = address.rpartition(":")
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [host or address]
        res.port = int(port) if host else 53
    res.timeout = res.lifetime = timeout
    return res


def txt_records(name: str) -> list[str]:
    """Every TXT record at `name`, each one's strings joined; [] when there is none."""
    try:
        answer = resolver().resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return []
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def dkimpy_dnsfunc(name, timeout=5):
    """A `dnsfunc` for dkimpy's verify that asks our resolver (tests verify against the local server)."""
    name = name.decode() if isinstance(name, bytes) else name
    records = txt_records(name.rstrip("."))
    return records[0].encode() if records else None


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, _eq, value = part.strip().partition("=")
        tags[key.strip()] = "".join(value.split())
    return tags


@dataclass
class DomainCheck:
    dkim: bool = False
    spf: bool = False
    dmarc: bool = False
    error: str = ""

    @property
    def verified(self) -> bool:
        """DKIM and SPF are required; DMARC is a suggestion, reported but not required."""
        return self.dkim and self.spf

    def as_dict(self) -> dict:
        return asdict(self)


def dkim_published(domain: str, selector: str, public_key: str) -> bool:
    records = txt_records(f"{selector}._domainkey.{domain}")
    return any(_tags(r).get("p") == public_key for r in records)


def check_domain(domain: str, selector: str, public_key: str, spf_include: str) -> DomainCheck:
    """Look up the DKIM key, the SPF include and DMARC of a domain."""
    check = DomainCheck()
    try:
        check.dkim = dkim_published(domain, selector, public_key)
        spf = [r for r in txt_records(domain) if r.lower().startswith("v=spf1")]
        check.spf = any(f"include:{spf_include.lower()}" in r.lower().split() for r in spf)
        check.dmarc = any(r.upper().startswith("V=DMARC1") for r in txt_records(f"_dmarc.{domain}"))
    except dns.exception.DNSException as exc:
        check.error = f"{type(exc).__name__}: {exc}"[:500]
    return check
