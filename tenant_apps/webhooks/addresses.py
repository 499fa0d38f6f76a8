"""Where a webhook may go: HTTPS to public addresses only, checked after DNS resolution.

The sender connects to the address checked here (not to the name again), so
a DNS answer that changes between the check and the connection (rebinding)
cannot send the request inside our network.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class RefusedAddress(Exception):
    """The URL may not be called; the message says why (shown to the owner and in the delivery log)."""


def check_url(url: str) -> tuple[str, int]:
    """(host, port) of an https URL, or RefusedAddress."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise RefusedAddress(_("The address must start with https://."))
    if parts.username or parts.password:
        raise RefusedAddress(_("The address must not contain a user name or password."))
    try:
        port = parts.port or 443
    except ValueError as error:
        raise RefusedAddress(_("The port is not a number.")) from error
    return parts.hostname, port


def forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not a public internet address (loopback allowed by the setting, for development and tests)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return not settings.WEBHOOKS_ALLOW_LOOPBACK
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local


def resolve(host: str, port: int) -> str:
    """A permitted address of `host`; RefusedAddress if it does not resolve or any answer is not permitted.

    Any forbidden answer refuses the whole name: a name that also points
    inside our network is not one to call.
    """
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedAddress(_("The host name does not resolve.")) from error
    addresses = [ipaddress.ip_address(answer[4][0].split("%")[0]) for answer in answers]
    for ip in addresses:
        if forbidden(ip):
            raise RefusedAddress(
                _("%(host)s resolves to %(ip)s, a private or reserved address: refused.") % {"host": host, "ip": ip}
            )
    return str(addresses[0])


def permitted_target(url: str) -> tuple[str, int, str]:
    """(host, port, the address to connect to) for a URL we may call; RefusedAddress otherwise."""
    host, port = check_url(url)
    return host, port, resolve(host, port)
