"""Segments with a million clients: the builder's live count and preview, and a run's recipient resolution.

    DEBUG=1 .venv/bin/python bench/audience_segments.py [CLIENTS]

Creates a fresh workspace bench-segments-<random> and fills it with the
builder of bench/audience_lists.py (CLIENTS clients, default 1,000,000; 10
custom field values each; 5 lists), vacuums it, defines the 10 custom fields, then times
(best of 3) `segment_count` and `segment_preview` for 6 typical segments and
prints the plan of each count with -v (EXPLAIN ANALYZE). Then a mailing to a segment
matching every subscribed client: the engine's `create_deliveries` (one
INSERT … SELECT), beside the same for "all subscribed clients" in the same
conditions. Drops the workspace at the end. Uses DATABASE_URL.
"""

import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.audience_lists import fill, resolve  # noqa: E402
from tenant_apps.audience import segments  # noqa: E402
from tenant_apps.audience.models import CustomField, Segment  # noqa: E402
from tenant_apps.campaigns.models import Mailing, Message  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

T = CustomField.Type
FIELDS = [
    ("city", T.TEXT, []),
    ("age", T.NUMBER, []),
    ("plan", T.CHOICE, ["Базовый", "Про", "Бизнес"]),
    ("vip", T.BOOLEAN, []),
    ("birthday", T.DATE, []),
    ("score", T.NUMBER, []),
    ("company", T.TEXT, []),
    ("source", T.CHOICE, ["сайт", "выставка", "партнёр"]),
    ("orders", T.NUMBER, []),
    ("newsletter", T.BOOLEAN, []),
]


def field(key, op, value=None):
    return {"kind": "field", "field": key, "op": op, "value": value}


def typical(made):
    """Six segments a person would build, over the filled data."""
    fifth, tenth = made[2].pk, made[3].pk
    return {
        "city is Казань": {"match": "all", "conditions": [field("city", "equals", "Казань")]},
        "plan Про, age > 60, on list 'fifth'": {
            "match": "all",
            "conditions": [
                field("plan", "equals", "Про"),
                field("age", "greater", "60"),
                {"kind": "list", "op": "subscribed", "list": fifth},
            ],
        },
        "VIP or (orders > 20 and newsletter yes)": {
            "match": "any",
            "conditions": [
                field("vip", "is_true"),
                {"match": "all", "conditions": [field("orders", "greater", "20"), field("newsletter", "is_true")]},
            ],
        },
        "born before 1965, company contains 'Компания 12'": {
            "match": "all",
            "conditions": [field("birthday", "before", "1965-01-01"), field("company", "contains", "Компания 12")],
        },
        # Relative dates (every client matches both: the worst case, a full scan reading each row's JSONB).
        "birthday more than 3650 days ago, added within the last 30 days": {
            "match": "all",
            "conditions": [
                field("birthday", "more_than_days_ago", 3650),
                {"kind": "added", "op": "within_last_days", "value": 30},
            ],
        },
        "email contains 777, not on 'tenth', never sent": {
            "match": "all",
            "conditions": [
                {"kind": "email", "op": "contains", "value": "777"},
                {"kind": "list", "op": "not_subscribed", "list": tenth},
                {"kind": "history", "op": "never_sent"},
            ],
        },
    }


def best_ms(fn, repeat=3):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, result


def plan_of(definition):
    where, params = segments.compile_definition(definition)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM audience_client c WHERE {where}", params)  # noqa: S608
        return "\n".join("      " + row[0] for row in cursor.fetchall())


def main(clients):
    slug = f"bench-segments-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    try:
        with schema_context(workspace.schema_name):
            made = fill(clients)
            # As autovacuum would have done by the time anyone builds a segment: without it the
            # first scans of the fresh rows also write their hint bits (and the visibility map is empty).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE audience_client")
                cursor.execute("VACUUM ANALYZE audience_membership")
            for key, kind, choices in FIELDS:
                CustomField.objects.create(key=key, label=key, type=kind, choices=choices)
            print(f"segments (best of 3; load average {os.getloadavg()[0]:.1f}):")
            for name, data in typical(made).items():
                definition = segments.validate_definition(data)
                count_ms, counted = best_ms(lambda d=definition: segments.segment_count(d))
                preview_ms, _rows = best_ms(lambda d=definition: segments.segment_preview(d))
                print(f"  {name}: {counted.matching:,} clients; count {count_ms:,.0f} ms, preview {preview_ms:,.0f} ms")
                if "-v" in sys.argv:
                    print(plan_of(definition))
            everyone = segments.save_segment(
                Segment(), "age 18+", {"match": "all", "conditions": [field("age", "greater", "17")]}
            )
            now = timezone.now()
            message = Message.objects.create(subject="s", body_text="b {{ fields.city }}")
            mailing = Mailing.objects.create(
                name="segment", message=message, audience="lists", start_at=now, end_at=now + timedelta(days=1)
            )
            mailing.segments.set([everyone])
            to_all = Mailing.objects.create(
                name="all", message=message, audience="all", start_at=now, end_at=now + timedelta(days=1)
            )
            # The same resolution for "all subscribed clients" in the same conditions, for comparison.
            for label, target in (("audience all", to_all), ("segment 'age 18+'", mailing)):
                created, elapsed = resolve(target)
                load = os.getloadavg()[0]
                print(f"  run resolution, {label}: {created:,} deliveries in {elapsed:.2f} s (load {load:.1f})")
    finally:
        workspace.delete(force_drop=True)


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    main(int(numbers[0]) if numbers else 1_000_000)
