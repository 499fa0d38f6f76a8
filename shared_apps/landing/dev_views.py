"""Development only (mounted when DEBUG): read what the local mail catcher received.

Caught mail holds sign-up codes and password-reset and invitation links, so
it is shown only to a browser on this machine: the connection's address
(REMOTE_ADDR) must be loopback, whatever Host header the request names.
"""

import email
import ipaddress
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render


def from_loopback(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    # A dual-stack listener ([::]) reports IPv4 clients as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def mail_catcher_open_to(request) -> bool:
    return bool(settings.DEBUG and settings.MAIL_CATCHER_DIR) and from_loopback(request)


def _mail_dir(request):
    if not mail_catcher_open_to(request):
        raise Http404
    return Path(settings.MAIL_CATCHER_DIR)


def _read(path):
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    return {
        "name": path.name,
        "from": message["From"],
        "to": message["To"],
        "subject": message["Subject"],
        "date": message["Date"],
        "body": body.get_content() if body else "",
    }


def mailbox(request):
    """DEBUG only, requests from loopback: the list of received messages, newest first."""
    paths = sorted(_mail_dir(request).glob("*.eml"), reverse=True)[:200]
    return render(request, "public/dev_mailbox.html", {"messages_received": [_read(p) for p in paths]})


def mail_message(request, name):
    """DEBUG only, requests from loopback: one received message."""
    path = _mail_dir(request) / Path(name).name
    if not path.is_file():
        raise Http404
    return render(request, "public/dev_mail_message.html", {"mail": _read(path)})
