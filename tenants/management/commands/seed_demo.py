"""Create the demo users, workspace and content for `make run` (idempotent) and print how to get in."""

import datetime
import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.links import absolute_url
from shared_apps.accounts.services import mark_email_verified
from shared_apps.blog.demo import add_demo_posts
from tenant_apps.audience import services as audience
from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing, Message
from tenant_apps.delivery import services as delivery_services
from tenant_apps.delivery.demo import add_demo_report
from tenants.access import MANAGERS_GROUP
from tenants.models import Workspace
from tenants.services import create_workspace

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "rassylka-demo"
DEMO_SLUG = "demo"
MANAGER_EMAIL = "manager@example.com"

# (first names, surnames) of each grammatical gender, so every pair agrees.
NAMES = (
    (("Анна", "Вера", "Дарья", "Зоя", "Кира"), ("Иванова", "Смирнова", "Орлова")),
    (("Борис", "Глеб", "Егор", "Игорь", "Лев"), ("Петров", "Соколов", "Волков")),
)
UNSUBSCRIBED_EVERY = 8  # clients 8, 16, 24 unsubscribed: the lists and reports show both states

DEMO_SUBJECT = "Весенние новости Rassylka"
DEMO_BODY = (
    "Здравствуйте, {{ name }}!\n\n"
    "Это демонстрационное письмо из рабочего пространства Demo. "
    "Рассылка подставляет имя каждого получателя и ссылку для отписки.\n\n"
    "Отписаться: {{ unsubscribe_url }}\n"
)
SENT_MAILING = "Весенние новости: первая волна"
SCHEDULED_MAILING = "Весенние новости: вторая волна"


def demo_clients():
    """30 (email, full name) pairs, always the same."""
    names = [f"{first} {last}" for firsts, lasts in NAMES for last in lasts for first in firsts]
    return [(f"client{number:02d}@example.com", name) for number, name in enumerate(sorted(names), start=1)]


class Command(BaseCommand):
    help = "Create the demo users, the demo workspace and its content (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            owner = demo_user(DEMO_EMAIL, "Demo User")
            manager = demo_user(MANAGER_EMAIL, "Demo Manager")
            manager.groups.add(Group.objects.get(name=MANAGERS_GROUP))
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
        if workspace is None:
            workspace = create_workspace(name="Demo", slug=DEMO_SLUG, owner=owner)
        with transaction.atomic():
            add_demo_posts(author=manager)
        with schema_context(workspace.schema_name), transaction.atomic():
            message = add_demo_content()
            add_demo_mailings(workspace, message)

        # Printed from SITE_URL, which `make run` sets from the port it serves on.
        lines = [
            f"Public site:     {absolute_url('/')}",
            f"Demo workspace:  {absolute_url('/', host=workspace.host)}",
            f"Sign in as:      {DEMO_EMAIL} / {DEMO_PASSWORD} (owner of the demo workspace)",
            f"Manager:         {MANAGER_EMAIL} / {DEMO_PASSWORD} (managers' console: {absolute_url('/console/')})",
        ]
        if settings.MAIL_CATCHER_DIR:
            lines.append(f"Received mail:   {absolute_url('/dev/mail/')}")
        self.stdout.write("\n".join(lines))


def demo_user(email, full_name):
    """A verified user with the demo password; an existing one is left as it is."""
    user, created = get_user_model().objects.get_or_create(email=email)
    if created:
        user.full_name = full_name
        user.set_password(DEMO_PASSWORD)
        user.save()
    mark_email_verified(user)
    return user


def add_demo_content():
    """30 clients (a few unsubscribed) and a message with placeholders, each made once; returns the message."""
    unsubscribed_at = timezone.now() - datetime.timedelta(days=3)
    existing = {email.lower() for email in Client.objects.values_list("email", flat=True)}
    new_clients = []
    for number, (email, full_name) in enumerate(demo_clients(), start=1):
        if email in existing:
            continue  # kept as the user left it (edited, unsubscribed or subscribed again)
        subscribed = number % UNSUBSCRIBED_EVERY != 0
        new_clients.append(
            Client(
                email=email,
                full_name=full_name,
                comment="Демо-клиент",
                is_subscribed=subscribed,
                unsubscribed_at=None if subscribed else unsubscribed_at,
            )
        )
    Client.objects.bulk_create(new_clients)
    audience.clients_changed(saved=new_clients, added_emails=[client.email for client in new_clients])
    message = Message.objects.filter(subject=DEMO_SUBJECT).first()
    return message or Message.objects.create(subject=DEMO_SUBJECT, body_text=DEMO_BODY)


def add_demo_mailings(workspace, message):
    """A mailing sent yesterday morning (with its report) and one scheduled in three days, each made once.

    The sent one's window is over before it is saved, so nothing is sent: its
    history is recorded by delivery.demo. The scheduled one goes into the
    schedule index and is sent by the consumer when its time comes.
    """
    local = zoneinfo.ZoneInfo(workspace.time_zone)
    today = timezone.localdate(timezone=local)
    if not Mailing.objects.filter(name=SENT_MAILING).exists():
        start = datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time(9, 0), tzinfo=local)
        sent = Mailing.objects.create(
            name=SENT_MAILING, message=message, start_at=start, end_at=start + datetime.timedelta(hours=8)
        )
        add_demo_report(sent, start)
    if not Mailing.objects.filter(name=SCHEDULED_MAILING).exists():
        start = datetime.datetime.combine(today + datetime.timedelta(days=3), datetime.time(10, 0), tzinfo=local)
        scheduled = Mailing.objects.create(
            name=SCHEDULED_MAILING, message=message, start_at=start, end_at=start + datetime.timedelta(days=1)
        )
        delivery_services.mailing_changed(scheduled)  # into the schedule index and the home page's figures
