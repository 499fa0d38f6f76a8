"""Fixtures: the engine's real SMTP servers and mailings, tracking switched on, sent messages to read."""

import re

import pytest

from tenant_apps.delivery.tests.conftest import (  # noqa: F401 - fixtures shared with the engine's tests
    _fresh_worker_connection,
    engine_settings,
    make_mailing,
    smtp_server,
)

HTML = (
    '<html><head><link rel="stylesheet" href="https://cdn.example/style.css"></head><body>'
    '<p>Здравствуйте, {{ name }}!</p><p><a href="https://shop.example/sale?ref=mail">Распродажа</a> '
    '<a href="https://shop.example/new">Новинки</a> <a href="mailto:help@shop.example">Написать</a> '
    '<a href="tel:+79991234567">Позвонить</a> <a href="#top">Наверх</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Отписаться</a></p></body></html>'
)
TEXT = "Распродажа: https://shop.example/sale?ref=mail. Отписаться: {{ unsubscribe_url }}"


@pytest.fixture
def tracking_on(in_workspace):
    from tenant_apps.engagement.services import save_tracking_settings

    return save_tracking_settings(track_opens=True, track_clicks=True)


@pytest.fixture
def sent_mailing(in_workspace, engine_settings, smtp_server, make_mailing, tracking_on):  # noqa: F811
    """Send a mailing with links to `clients` recipients through aiosmtpd; returns (mailing, run, messages)."""
    from tenant_apps.campaigns.models import Message
    from tenant_apps.delivery import engine, services

    def send(clients=2, *, html=HTML, **mailing_fields):
        engine_settings(smtp_server.port)
        mailing = make_mailing(clients, **mailing_fields)
        Message.objects.filter(pk=mailing.message_id).update(body_html=html, body_text=TEXT)
        mailing.refresh_from_db()
        before = len(smtp_server.messages)
        runs = services.prepare_due_runs(mailing, workspace=in_workspace)
        for run in runs:
            engine.process_run(run, in_workspace)
        messages = {rcpt: message for rcpt, message, _s in smtp_server.messages[before:]}
        return mailing, runs[0], messages

    return send


def html_of(message):
    return message.get_body(("html",)).get_content()


def text_of(message):
    return message.get_body(("plain",)).get_content()


def click_urls(message):
    return re.findall(r'href="(https?://[^"]+/c/[^"]+)"', html_of(message))


def pixel_url(message):
    found = re.findall(r'src="(https?://[^"]+/o/[^"]+\.gif)"', html_of(message))
    return found[0] if found else None


def path_of(url):
    return "/" + url.split("/", 3)[3]
