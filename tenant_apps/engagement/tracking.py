"""Tracking for one sending run: decided, and its link table built, once per run.

`RunTracking.prepare(run, workspace)` reads the switches (workspace and
mailing), marks the message's trackable links, stores the link table (in
PostgreSQL and in Redis for the click endpoint) and returns the texts to
compile; `personalise()` then puts one delivery's signed URLs in, per message.
"""

import html as html_lib
import logging

import redis
from django.db import connection
from django.utils.text import slugify

from tenants.services import site_url

from . import stream
from .models import Link, TrackingSettings
from .rewrite import MARK_RE, PIXEL_MARK, LinkTable, add_pixel, add_utm_in_place, mark_html, mark_text
from .tokens import CLICK, OPEN, TokenSigner

log = logging.getLogger(__name__)


def workspace_switches() -> TrackingSettings:
    return TrackingSettings.objects.first() or TrackingSettings()


def utm_for(mailing) -> dict[str, str]:
    if not mailing.add_utm:
        return {}
    return {"utm_source": "rassylka", "utm_campaign": slugify(mailing.name) or f"mailing-{mailing.pk}"}


def store_links(run, urls: list[str]) -> dict[int, int]:
    """{number in this run: Link id}; several workers of one run store the same table once."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO engagement_link (run_id, number, url)
               SELECT %s, n, u FROM unnest(%s::int[], %s::text[]) AS v(n, u)
               ON CONFLICT (run_id, number) DO NOTHING""",
            [run.pk, list(range(1, len(urls) + 1)), urls],
        )
    rows = Link.objects.filter(run=run).values_list("number", "id", "url")
    return {number: (pk, url) for number, pk, url in rows}


class RunTracking:
    def __init__(self, text, html, *, click_ids=None, signer=None, prefix="", opens=False):
        self.text, self.html = text, html
        self.click_ids = click_ids or {}  # number in the run → Link id (signed into the token)
        self.signer, self.prefix, self.opens = signer, prefix, opens

    @property
    def active(self):
        return bool(self.click_ids) or self.opens

    @classmethod
    def prepare(cls, run, workspace, body_text: str, body_html: str) -> "RunTracking":
        mailing = run.mailing
        switches = workspace_switches()
        clicks = switches.track_clicks and mailing.track_clicks
        # A plain-text message has nowhere to put a pixel: clicks only.
        opens = switches.track_opens and mailing.track_opens and bool(body_html)
        utm = utm_for(mailing)
        text, html, click_ids = body_text, body_html, {}
        if clicks:
            table = LinkTable()
            html = mark_html(body_html, table, utm) if body_html else body_html
            text = mark_text(body_text, table, utm)
            stored = store_links(run, table.urls) if table.urls else {}
            publish(workspace.slug, stored)
            click_ids = {number: pk for number, (pk, _url) in stored.items()}
        elif utm:
            text = add_utm_in_place(body_text, utm, html=False)
            html = add_utm_in_place(body_html, utm, html=True) if body_html else body_html
        if opens:
            html = add_pixel(html)
        if not (click_ids or opens):
            return cls(text, html)
        signer = TokenSigner(workspace.slug)
        return cls(text, html, click_ids=click_ids, signer=signer, prefix=site_url(workspace.host, ""), opens=opens)

    def personalise(self, delivery_id: int, text: str, html: str) -> tuple[str, str]:
        """The rendered bodies with this delivery's click URLs and open pixel."""
        if not self.active:
            return text, html
        if self.click_ids:
            urls = {}

            def url(match):
                number = int(match.group(1))
                if number not in urls:
                    token = self.signer.make(CLICK, delivery_id, self.click_ids[number])
                    urls[number] = f"{self.prefix}/c/{token}"
                return urls[number]

            text = MARK_RE.sub(url, text)
            html = MARK_RE.sub(url, html) if html else html
        if self.opens and html:
            html = html.replace(
                PIXEL_MARK, html_lib.escape(f"{self.prefix}/o/{self.signer.make(OPEN, delivery_id)}.gif")
            )
        return text, html


def publish(slug, stored):
    try:
        stream.publish_links(slug, {pk: url for _number, (pk, url) in stored.items()})
    except redis.RedisError:
        # The click endpoint falls back to PostgreSQL for links Redis does not have.
        log.warning("link table of %s not cached in Redis", slug, exc_info=True)
