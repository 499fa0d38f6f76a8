"""Development only (mounted when DEBUG): read what the local mail catcher received."""

import email
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render


def _mail_dir():
    if not (settings.DEBUG and settings.MAIL_CATCHER_DIR):
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
    """DEBUG only, anyone: the list of received messages, newest first."""
    paths = sorted(_mail_dir().glob("*.eml"), reverse=True)[:200]
    return render(request, "public/dev_mailbox.html", {"messages_received": [_read(p) for p in paths]})


def mail_message(request, name):
    """DEBUG only, anyone: one received message."""
    path = _mail_dir() / Path(name).name
    if not path.is_file():
        raise Http404
    return render(request, "public/dev_mail_message.html", {"mail": _read(path)})
