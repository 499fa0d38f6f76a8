"""The workspace dashboard: mailings, clients and what was sent in the last 30 days."""

import json
import re
from datetime import timedelta

from django.utils import timezone

from saas.factories import recount_delivery_counters
from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery.models import Delivery, Run


def deliveries(mailing, *, sent=0, failed=0, days_ago=1):
    finished = timezone.now() - timedelta(days=days_ago)
    run = Run.objects.create(mailing=mailing, scheduled_for=finished, deadline=finished + timedelta(hours=1))
    for n, status in enumerate(["sent"] * sent + ["failed"] * failed):
        Delivery.objects.create(run=run, email=f"r{n}@example.com", status=status, finished_at=finished)
    recount_delivery_counters(mailing.pk)  # made here, not by the engine


def test_dashboard_counts_mailings_and_only_running_unpaused_enabled_ones_as_active(editor_client, make_mailing):
    Mailing.objects.all().delete()  # mailings committed by browser journeys; rolled back after the test
    make_mailing(status="running")
    make_mailing(status="running")
    make_mailing(status="running", is_paused=True)
    make_mailing(status="running", disabled_by_manager=True)
    make_mailing(status="created")
    make_mailing(status="completed")

    counts = editor_client.get("/").context["counts"]

    assert counts["mailings"] == 6
    assert counts["active_mailings"] == 2


def test_dashboard_counts_clients_and_subscribed_clients(editor_client, make_client):
    total, subscribed = Client.objects.count(), Client.objects.filter(is_subscribed=True).count()
    make_client()
    make_client()
    make_client(subscribed=False)

    response = editor_client.get("/")

    counts = response.context["counts"]
    assert (counts["clients"], counts["subscribed_clients"]) == (total + 3, subscribed + 2)
    assert f'data-testid="count-clients">{total + 3}<' in response.content.decode()


def test_dashboard_shows_sent_and_failed_of_the_last_30_days_only(editor_client, make_mailing):
    mailing = make_mailing(status="running")
    deliveries(mailing, sent=3, failed=1, days_ago=2)
    deliveries(mailing, sent=5, failed=4, days_ago=45)  # too old to count

    response = editor_client.get("/")

    counts = response.context["counts"]
    assert (counts["sent"], counts["failed"]) == (3, 1)
    page = response.content.decode()
    assert 'data-testid="count-sent">3<' in page
    assert 'data-testid="count-failed">1<' in page


def test_dashboard_chart_carries_the_same_numbers(editor_client, make_mailing):
    mailing = make_mailing(status="running")
    deliveries(mailing, sent=2, failed=1)

    response = editor_client.get("/")

    page = response.content.decode()
    assert "chartjs-4.5.1/chart.umd.min.js" in page
    chart = json.loads(re.search(r'<script id="dashboard-chart-data"[^>]*>(.*?)</script>', page).group(1))
    counts = response.context["counts"]
    assert chart["deliveries"]["values"] == [2, 1, 0, 0]  # sent, failed, bounced, complaints
    assert chart["statuses"]["values"] == [counts["mailings_by_status"][s] for s in ("created", "running", "completed")]
    assert sum(chart["statuses"]["values"]) == counts["mailings"]


def test_dashboard_is_in_russian_and_english(editor_client):
    russian = editor_client.get("/").content.decode()
    editor_client.cookies["django_language"] = "en"
    english = editor_client.get("/").content.decode()

    assert "Активные рассылки" in russian
    assert "Active mailings" in english


def test_dashboard_links_its_numbers_to_the_lists_behind_them(editor_client):
    page = editor_client.get("/").content.decode()

    assert 'href="/mailings/"' in page
    assert 'href="/clients/"' in page
    assert 'href="/delivery/"' in page


def test_workspace_without_mailings_shows_the_first_steps_with_buttons(editor_client, make_message):
    Mailing.objects.all().delete()  # mailings committed by browser journeys; rolled back after the test
    make_message()

    page = editor_client.get("/").content.decode()

    assert 'data-testid="getting-started"' in page
    assert 'href="/clients/import/"' in page and 'href="/messages/new/"' in page and 'href="/mailings/new/"' in page
    assert "Напишите сообщение, которое получат клиенты." in page
    assert "готово" in page  # the message step is done


def test_getting_started_disappears_once_a_mailing_exists(editor_client, make_mailing):
    make_mailing()

    assert 'data-testid="getting-started"' not in editor_client.get("/").content.decode()
