"""Opens and clicks for the reports (run inside a workspace schema; read only).

People and machines are counted apart everywhere: "unique opens" are
deliveries with a human open (or a human click: images are often blocked,
a click implies the message was opened); machine figures are deliveries
only machines opened or clicked. Rates are over delivered (sent) messages.
"""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.formats import date_format

from tenant_apps.delivery.models import Delivery
from tenant_apps.delivery.reports import CHART_CACHE_SECONDS, CHART_PERIODS, _bucket_starts, sent_count

from .models import DeliveryEngagement, Hit

RECENT_DAYS = 30


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def _figures(delivered, row):
    return {
        "delivered": delivered,
        "opens": row["opens"],
        "clicks": row["clicks"],
        "machine_opens": row["machine_opens"],
        "machine_clicks": row["machine_clicks"],
        "open_rate": _rate(row["opens"], delivered),
        "ctr": _rate(row["clicks"], delivered),
        "cto": _rate(row["clicks"], row["opens"]),
    }


_UNIQUE = {
    "opens": Count("pk", filter=Q(first_open_at__isnull=False)),
    "clicks": Count("pk", filter=Q(first_click_at__isnull=False)),
    "machine_opens": Count("pk", filter=Q(first_open_at__isnull=True, machine_opens__gt=0)),
    "machine_clicks": Count("pk", filter=Q(first_click_at__isnull=True, machine_clicks__gt=0)),
}


def mailing_figures(mailing_id: int) -> dict:
    """Unique opens and clicks (people; machines apart), CTR and CTO of one mailing: two aggregate queries."""
    delivered = sent_count(mailing_id=mailing_id)  # from the delivery counters, not a COUNT over the log
    row = DeliveryEngagement.objects.filter(mailing_id=mailing_id).aggregate(**_UNIQUE)
    return _figures(delivered, row)


def recent_figures(now=None) -> dict:
    """The workspace's open and click rates over messages delivered in the last 30 days."""
    since = (now or timezone.now()) - timedelta(days=RECENT_DAYS)
    delivered = sent_count(since=since)
    row = DeliveryEngagement.objects.filter(
        delivery__status=Delivery.Status.SENT, delivery__finished_at__gte=since
    ).aggregate(**_UNIQUE)
    return _figures(delivered, row)


def link_table(mailing_id: int) -> list[dict]:
    """Each link of the mailing (over all its runs) with its clicks: unique people, all people, machines."""
    rows = (
        Hit.objects.filter(mailing_id=mailing_id, kind=Hit.Kind.CLICK)
        .values("link__url")
        .annotate(
            people=Count("delivery_id", filter=Q(machine=False), distinct=True),
            clicks=Count("pk", filter=Q(machine=False)),
            machines=Count("pk", filter=Q(machine=True)),
        )
        .order_by("-people", "-clicks", "link__url")
    )
    return [{"url": row["link__url"], **{k: row[k] for k in ("people", "clicks", "machines")}} for row in rows]


def hit_series(since, mailing_id, bucket, *, tz, until=None) -> dict:
    """Human opens and clicks per bucket, on the attempts chart's buckets."""
    until = until or timezone.now()
    rows = (
        Hit.objects.filter(mailing_id=mailing_id, at__gte=since, at__lte=until, machine=False)
        .annotate(bucket=Trunc("at", bucket, tzinfo=tz))
        .values("bucket")
        .annotate(opens=Count("pk", filter=Q(kind=Hit.Kind.OPEN)), clicks=Count("pk", filter=Q(kind=Hit.Kind.CLICK)))
    )
    counted = {row["bucket"]: row for row in rows}
    starts = _bucket_starts(since, until, bucket, tz)
    empty = {"opens": 0, "clicks": 0}
    return {
        "buckets": [start.isoformat() for start in starts],
        "labels": [date_format(start, "d.m" if bucket == "day" else "d.m H:i") for start in starts],
        "opens": [counted.get(start, empty)["opens"] for start in starts],
        "clicks": [counted.get(start, empty)["clicks"] for start in starts],
    }


def chart_hits(period: str, mailing_id: int, tz) -> dict:
    length, bucket = CHART_PERIODS[period]
    key = f"engagement:chart:{mailing_id}:{period}:{tz}"
    return cache.get_or_set(
        key, lambda: hit_series(timezone.now() - length, mailing_id, bucket, tz=tz), CHART_CACHE_SECONDS
    )


def client_hits(client_id: int, limit: int = 10) -> list[Hit]:
    """The client's latest opens and clicks, newest first, with the mailing and link."""
    return list(
        Hit.objects.filter(client_id=client_id).select_related("link", "delivery__run__mailing").order_by("-at")[:limit]
    )


def mailing_context(mailing_id: int, period: str, tz) -> dict:
    """What the mailing report shows of opens and clicks: figures, links, the chart's lines."""
    figures = mailing_figures(mailing_id)
    tracked = figures["opens"] or figures["clicks"] or figures["machine_opens"] or figures["machine_clicks"]
    return {
        "engagement": figures,
        "engagement_links": link_table(mailing_id),
        "hit_series": chart_hits(period, mailing_id, tz) if tracked else None,
    }
