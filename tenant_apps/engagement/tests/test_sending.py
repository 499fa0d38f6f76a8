"""The engine puts tracking into messages: links rewritten, a pixel added, switches obeyed."""

import pytest

from tenant_apps.delivery.models import Delivery
from tenant_apps.engagement.models import Link
from tenant_apps.engagement.services import save_tracking_settings
from tenant_apps.engagement.tokens import CLICK, OPEN, TokenSigner

from .conftest import click_urls, html_of, path_of, pixel_url, text_of


def test_sent_message_has_signed_click_links_and_a_pixel_and_keeps_other_links(in_workspace, sent_mailing):
    mailing, run, messages = sent_mailing(2)
    signer = TokenSigner(in_workspace.slug)
    for rcpt, message in messages.items():
        delivery = Delivery.objects.get(run=run, email=rcpt)
        html = html_of(message)
        urls = click_urls(message)
        assert len(urls) == 2
        tokens = [path_of(url).removeprefix("/c/") for url in urls]
        linked = [Link.objects.get(pk=signer.read(CLICK, token)[1]).url for token in tokens]
        assert linked == ["https://shop.example/sale?ref=mail", "https://shop.example/new"]
        assert {signer.read(CLICK, token)[0] for token in tokens} == {delivery.pk}
        assert urls[0].startswith(f"http://{in_workspace.host}")
        # Never rewritten: head, mailto:, tel:, #anchor, the unsubscribe link.
        for kept in (
            'href="https://cdn.example/style.css"',
            'href="mailto:help@shop.example"',
            'href="tel:+79991234567"',
            'href="#top"',
        ):
            assert kept in html
        assert f"//{in_workspace.host}/u/" in html
        pixel = path_of(pixel_url(message)).removeprefix("/o/").removesuffix(".gif")
        assert signer.read(OPEN, pixel) == (delivery.pk, 0)
        text = text_of(message)
        assert "/c/" in text and "shop.example" not in text and "/u/" in text


def test_link_table_is_built_once_per_run(in_workspace, sent_mailing):
    _mailing, run, _messages = sent_mailing(5)
    assert Link.objects.filter(run=run).count() == 2


@pytest.mark.parametrize(
    ("workspace_opens", "workspace_clicks", "mailing_fields", "expect_pixel", "expect_clicks"),
    [
        (False, False, {}, False, False),  # a new workspace tracks nothing
        (True, False, {}, True, False),
        (False, True, {}, False, True),
        (True, True, {"track_opens": False}, False, True),
        (True, True, {"track_clicks": False}, True, False),
    ],
)
def test_workspace_and_mailing_switches_decide_what_is_tracked(
    in_workspace, sent_mailing, workspace_opens, workspace_clicks, mailing_fields, expect_pixel, expect_clicks
):
    save_tracking_settings(track_opens=workspace_opens, track_clicks=workspace_clicks)
    _mailing, _run, messages = sent_mailing(1, **mailing_fields)
    message = next(iter(messages.values()))
    assert (pixel_url(message) is not None) == expect_pixel
    assert bool(click_urls(message)) == expect_clicks
    if not expect_clicks:
        assert 'href="https://shop.example/sale?ref=mail"' in html_of(message)


def test_utm_parameters_are_added_to_tracked_link_targets(in_workspace, sent_mailing):
    _mailing, run, _messages = sent_mailing(1, add_utm=True)
    slug = _mailing.name.lower().replace(" ", "-")  # "Mailing 1" → mailing-1
    assert list(Link.objects.filter(run=run).order_by("number").values_list("url", flat=True)) == [
        f"https://shop.example/sale?ref=mail&utm_source=rassylka&utm_campaign={slug}",
        f"https://shop.example/new?utm_source=rassylka&utm_campaign={slug}",
    ]


def test_plain_text_message_gets_click_tracking_only(in_workspace, sent_mailing):
    _mailing, _run, messages = sent_mailing(1, html="")
    message = next(iter(messages.values()))
    assert message.get_body(("html",)) is None
    assert "/c/" in text_of(message) and "shop.example" not in text_of(message)
