"""Moving hits from the Redis stream into PostgreSQL, a batch at a time.

Drains read through a consumer group, so two drains running at once get
disjoint entries; a drain that died holding entries has them claimed back
(XAUTOCLAIM) after TRACKING_CLAIM_IDLE seconds. Every hit is written with
its stream id as `hit_id` and ON CONFLICT DO NOTHING, and only the rows
actually inserted feed the per-delivery counts and the clients' last
open/click: a batch written twice (a drain died between COMMIT and XACK)
counts once. One statement per batch per workspace.
"""

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from tenant_apps.webhooks import events as webhook_events
from tenants.models import Workspace

from . import stream
from .classify import BURST

log = logging.getLogger(__name__)

GROUP = "drain"
CLAIM_IDLE_MS = 60_000
SEQ_BITS = 20  # hit_id = milliseconds << 20 | sequence within the millisecond (the SQL's "hit_id >> 20")

WRITE_SQL = """
WITH v AS (
    SELECT hit_id, kind, to_timestamp((hit_id >> 20) / 1000.0) AS at, delivery_id, link_id, reason, network, agent
    FROM unnest(%(hit)s::bigint[], %(kind)s::text[], %(delivery)s::bigint[], %(link)s::bigint[],
                %(reason)s::text[], %(network)s::text[], %(agent)s::text[])
        AS v(hit_id, kind, delivery_id, link_id, reason, network, agent)
), j AS (
    SELECT v.*, r.mailing_id, d.client_id,
           CASE WHEN v.reason <> '' THEN v.reason
                WHEN v.kind = 'click' AND d.finished_at IS NOT NULL
                     AND v.at < d.finished_at + %(scanner)s * interval '1 second' THEN 'scanner'
                ELSE '' END AS why
    FROM v
    JOIN delivery_delivery d ON d.id = v.delivery_id
    JOIN delivery_run r ON r.id = d.run_id
    WHERE v.link_id IS NULL
       OR EXISTS (SELECT 1 FROM engagement_link l WHERE l.id = v.link_id AND l.run_id = d.run_id)
), ins AS (
    INSERT INTO engagement_hit (hit_id, kind, at, delivery_id, mailing_id, client_id, link_id, machine, reason,
                                network, agent)
    SELECT hit_id, kind, at, delivery_id, mailing_id, client_id, link_id, why <> '', why, network, agent FROM j
    ON CONFLICT (hit_id) DO NOTHING
    RETURNING hit_id, delivery_id, mailing_id, client_id, kind, at, machine
), per_delivery AS (
    SELECT delivery_id, max(mailing_id) AS mailing_id, max(client_id) AS client_id,
           min(at) FILTER (WHERE NOT machine) AS first_open,
           min(at) FILTER (WHERE kind = 'click' AND NOT machine) AS first_click,
           count(*) FILTER (WHERE kind = 'open' AND NOT machine) AS opens,
           count(*) FILTER (WHERE kind = 'click' AND NOT machine) AS clicks,
           count(*) FILTER (WHERE kind = 'open' AND machine) AS machine_opens,
           count(*) FILTER (WHERE kind = 'click' AND machine) AS machine_clicks,
           max(at) FILTER (WHERE NOT machine) AS last_open,
           max(at) FILTER (WHERE kind = 'click' AND NOT machine) AS last_click
    FROM ins GROUP BY delivery_id
), upsert AS (
    INSERT INTO engagement_deliveryengagement AS e
        (delivery_id, mailing_id, client_id, first_open_at, first_click_at, opens, clicks, machine_opens,
         machine_clicks)
    SELECT delivery_id, mailing_id, client_id, first_open, first_click, opens, clicks, machine_opens, machine_clicks
    FROM per_delivery ORDER BY delivery_id
    ON CONFLICT (delivery_id) DO UPDATE SET
        first_open_at = LEAST(e.first_open_at, EXCLUDED.first_open_at),
        first_click_at = LEAST(e.first_click_at, EXCLUDED.first_click_at),
        opens = e.opens + EXCLUDED.opens,
        clicks = e.clicks + EXCLUDED.clicks,
        machine_opens = e.machine_opens + EXCLUDED.machine_opens,
        machine_clicks = e.machine_clicks + EXCLUDED.machine_clicks
    RETURNING 1
), people AS (
    UPDATE audience_client c SET
        last_opened_at = GREATEST(c.last_opened_at, x.last_open),
        last_clicked_at = GREATEST(c.last_clicked_at, x.last_click)
    FROM (SELECT client_id, max(last_open) AS last_open, max(last_click) AS last_click
          FROM per_delivery WHERE client_id IS NOT NULL AND last_open IS NOT NULL GROUP BY client_id) x
    WHERE c.id = x.client_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upsert), (SELECT count(*) FROM people),
       -- the people's new hits, for webhooks (only asked for when an endpoint wants opens or clicks)
       CASE WHEN %(new_hit_ids)s THEN ARRAY(SELECT hit_id FROM ins WHERE NOT machine ORDER BY hit_id) END
"""


@dataclass(slots=True)
class Entry:
    hit_id: int
    ms: int  # the hit's time, milliseconds since 1970 (from the stream entry's id)
    slug: str
    kind: str
    delivery_id: int
    link_id: int | None
    network: str
    agent: str
    reason: str


def parse(entry_id: bytes, fields: dict) -> Entry | None:
    try:
        ms, _sep, seq = entry_id.partition(b"-")
        ms = int(ms)
        slug, kind, delivery, link, network, agent, reason = fields[b"h"].decode().split("\t")
        return Entry(
            (ms << SEQ_BITS) | min(int(seq), (1 << SEQ_BITS) - 1),
            ms,
            slug,
            "click" if kind == "c" else "open",
            int(delivery),
            int(link) or None,
            network[:50],
            agent[:40],
            reason[:10],
        )
    except (ValueError, TypeError, AttributeError, KeyError):
        log.warning("unreadable tracking hit %r dropped", entry_id)
        return None


def mark_bursts(entries: list[Entry]) -> None:
    """Several different links of one message clicked within one second: a scanner following them all."""
    clicks = defaultdict(list)
    for entry in entries:
        if entry.kind == "click":
            clicks[entry.delivery_id].append(entry)
    for group in clicks.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda e: e.ms)
        for i, entry in enumerate(group):
            near = [o for o in group[max(0, i - 10) : i + 10] if abs(o.ms - entry.ms) < 1000]
            if len({o.link_id for o in near}) > 1 and not entry.reason:
                entry.reason = BURST


def number_array(values) -> str:
    """A PostgreSQL array literal of integers (NULL for None).

    Sent as one string constant: psycopg2 would send a list as ARRAY[v1, v2, …],
    thousands of expressions that cost more to parse and plan than to insert.
    """
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def text_array(values) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def write_workspace(schema_name: str, entries: list[Entry]) -> int:
    """One statement for one workspace's hits; returns how many were new."""
    params = {
        "hit": number_array(e.hit_id for e in entries),
        "kind": text_array(e.kind for e in entries),
        "delivery": number_array(e.delivery_id for e in entries),
        "link": number_array(e.link_id for e in entries),
        "reason": text_array(e.reason for e in entries),
        "network": text_array(e.network for e in entries),
        "agent": text_array(e.agent for e in entries),
        "scanner": settings.TRACKING_SCANNER_SECONDS,
    }
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as cursor:
        # Drains of one workspace take turns: concurrent upserts of the same deliveries
        # and clients in different orders could deadlock.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"engagement:{schema_name}"])
        cursor.execute(WRITE_SQL, {**params, "new_hit_ids": webhook_events.wants_hits()})
        written, _upserted, _people, new_hit_ids = cursor.fetchone()
        if new_hit_ids:
            webhook_events.engagement_hits(new_hit_ids)
        return written


def write_entries(entries: list[Entry]) -> int:
    by_slug = defaultdict(list)
    for entry in entries:
        by_slug[entry.slug].append(entry)
    schemas = dict(Workspace.objects.filter(slug__in=list(by_slug)).values_list("slug", "schema_name"))
    written = 0
    for slug, group in by_slug.items():
        if slug not in schemas:
            log.info("%d hits of unknown workspace %r dropped", len(group), slug)
            continue
        mark_bursts(group)
        written += write_workspace(schemas[slug], group)
    return written


def ensure_group(client):
    try:
        client.xgroup_create(stream.stream_key(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def consumer_name():
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 10**8}"


def next_entries(client, consumer, count):
    """Entries a dead drain left unacknowledged first, then new ones."""
    _next, claimed, *_deleted = client.xautoclaim(
        stream.stream_key(), GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=count
    )
    claimed = [(entry_id, fields) for entry_id, fields in claimed if fields]
    if claimed:
        return claimed
    answer = client.xreadgroup(GROUP, consumer, {stream.stream_key(): ">"}, count=count)
    return answer[0][1] if answer else []


def fetch(client, consumer, batch):
    raw = next_entries(client, consumer, batch)
    return raw, [e for e in (parse(entry_id, fields) for entry_id, fields in raw) if e is not None]


def acknowledge(client, raw):
    ids = [entry_id for entry_id, _fields in raw]
    pipe = client.pipeline(transaction=False)
    pipe.xack(stream.stream_key(), GROUP, *ids)
    pipe.xdel(stream.stream_key(), *ids)
    pipe.execute()


def drain(budget_seconds: float = 50.0, batch: int | None = None) -> int:
    """Write what the stream holds, batch by batch, until it is empty or the budget is spent.

    The next batch is read from Redis and parsed on a thread while PostgreSQL
    writes the current one. Entries are acknowledged only once written; a
    batch read ahead is never left behind (the loop always writes what it read).
    """
    client = stream.client(timeout=stream.DRAIN_TIMEOUT)
    ensure_group(client)
    consumer = consumer_name()
    batch = batch or settings.TRACKING_DRAIN_BATCH
    started, total = time.monotonic(), 0
    with ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(fetch, client, consumer, batch)
        while ahead is not None:
            raw, entries = ahead.result()
            if not raw:
                break
            more = time.monotonic() - started < budget_seconds
            ahead = reader.submit(fetch, client, consumer, batch) if more else None
            total += write_entries(entries)
            acknowledge(client, raw)
    # Only now, with nothing of ours unacknowledged: deleting a consumer drops its pending entries.
    client.xgroup_delconsumer(stream.stream_key(), GROUP, consumer)
    return total
