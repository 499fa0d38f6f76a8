"""Lists and custom fields with a million clients: a run's recipient resolution and the pages' counts.

    DEBUG=1 .venv/bin/python bench/audience_lists.py [CLIENTS]

Creates a fresh workspace bench-lists-<random>, fills it in SQL with CLIENTS
clients (default 1,000,000; 10 custom field values each, 1% unsubscribed from
everything) on 5 lists (the default list: everyone; "half": 50%; "fifth": 20%;
"tenth": 10% of which a third unconfirmed; "rare": 1%), then times:
the engine's `create_deliveries` (one INSERT … SELECT) for a mailing to all
subscribed clients and for one to two lists, the lists page's counts, the
client list filtered by a list, and a count by a custom field value (JSONB
containment, GIN index). Drops the workspace at the end. Uses DATABASE_URL.
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

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from tenant_apps.audience import lists, services  # noqa: E402
from tenant_apps.audience.models import Client, MailingList  # noqa: E402
from tenant_apps.campaigns.models import Mailing, Message  # noqa: E402
from tenant_apps.delivery import engine  # noqa: E402
from tenant_apps.delivery.models import Run  # noqa: E402
from tenants.services import create_workspace  # noqa: E402

FILL_CLIENTS = """
INSERT INTO audience_client (email, full_name, comment, is_subscribed, created, updated, fields)
SELECT 'user' || n || '@example.com', 'Клиент ' || n, '', n %% 100 <> 0, now(), now(),
       jsonb_build_object(
         'city', (ARRAY['Москва','Казань','Омск','Пермь','Тула','Сочи','Уфа','Орёл'])[n %% 8 + 1],
         'age', 18 + n %% 60, 'plan', (ARRAY['Базовый','Про','Бизнес'])[n %% 3 + 1], 'vip', n %% 50 = 0,
         'birthday', to_char(date '1960-01-01' + (n %% 15000), 'YYYY-MM-DD'), 'score', (n %% 1000) / 10.0,
         'company', 'Компания ' || (n %% 5000), 'source', (ARRAY['сайт','выставка','партнёр'])[n %% 3 + 1],
         'orders', n %% 25, 'newsletter', n %% 2 = 0)
FROM generate_series(1, %s) AS n
"""
FILL_LIST = """
INSERT INTO audience_membership (mailing_list_id, client_id, status, changed_at, source)
SELECT %s, id, CASE WHEN %s AND id %% 3 = 0 THEN 'unconfirmed' ELSE 'subscribed' END, now(), 'import'
FROM audience_client WHERE id %% %s = 0
"""


def timed(label, fn, repeat=3):
    best = min(_once(fn) for _ in range(repeat))
    print(f"  {label}: {best * 1000:,.0f} ms")


def _once(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def fill(clients):
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL_CLIENTS, [clients])
        made = [MailingList.objects.get()] + [
            MailingList.objects.create(name=name) for name in ("half", "fifth", "tenth", "rare")
        ]
        for mailing_list, every, unconfirmed in zip(
            made, (1, 2, 5, 10, 100), (False, False, False, True, False), strict=True
        ):
            cursor.execute(FILL_LIST, [mailing_list.pk, unconfirmed, every])
        cursor.execute("ANALYZE audience_client; ANALYZE audience_membership")
    print(f"filled {clients:,} clients on 5 lists in {time.perf_counter() - started:.1f} s")
    return made


def resolve(mailing):
    """One run's recipient resolution, as the engine does it at the run's start; the rows are then removed."""
    now = timezone.now()
    run = Run.objects.create(mailing=mailing, scheduled_for=now, started_at=now, deadline=now + timedelta(days=1))
    started = time.perf_counter()
    created = engine.create_deliveries(run, mailing)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:  # in SQL: the ORM's cascade would load every delivery
        cursor.execute("DELETE FROM delivery_delivery WHERE run_id = %s", [run.pk])
    run.delete()
    return created, elapsed


def main(clients):
    slug = f"bench-lists-{uuid.uuid4().hex[:6]}"
    workspace = create_workspace(name=slug, slug=slug)
    try:
        with schema_context(workspace.schema_name):
            made = fill(clients)
            now = timezone.now()
            message = Message.objects.create(subject="s", body_text="b {{ fields.city }}")
            window = {"start_at": now, "end_at": now + timedelta(days=1)}
            to_all = Mailing.objects.create(name="all", message=message, audience="all", **window)
            to_lists = Mailing.objects.create(name="lists", message=message, audience="lists", **window)
            to_lists.lists.set([made[1], made[2]])
            for mailing in (to_all, to_lists):
                created, elapsed = resolve(mailing)
                print(f"  run resolution, audience {mailing.audience}: {created:,} deliveries in {elapsed:.2f} s")
            print("pages (best of 3):")
            timed("lists page counts (5 lists)", lambda: list(lists.lists_with_counts()))
            timed(
                "client list filtered by 'fifth', page 1 + count",
                lambda: len(Paginator(services.search_clients("", "", made[2].pk), 50).get_page(1).object_list),
            )
            timed(
                "count city = Казань (JSONB containment)",
                lambda: Client.objects.filter(fields__contains={"city": "Казань"}).count(),
            )
    finally:
        workspace.delete(force_drop=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
