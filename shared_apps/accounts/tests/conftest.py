import re

import pytest
from django.core import mail

CODE_RE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)
PASSWORD = "a-long-unusual-passphrase-42"


def code_in(message):
    match = CODE_RE.search(message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def send_mail_now(django_capture_on_commit_callbacks):
    """Run a block so that mail queued at commit (queue_email → huey, immediate) is really sent."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def sign_up(public_client, send_mail_now):
    """Sign up through the form; returns (response, verification email)."""

    def run(email, password=PASSWORD, client=None, **extra):
        client = client or public_client
        before = len(mail.outbox)
        response = send_mail_now(
            lambda: client.post(
                "/accounts/signup/", {"email": email, "password1": password, "password2": password, **extra}
            )
        )
        sent = mail.outbox[before:]
        return response, (sent[-1] if sent else None)

    return run
