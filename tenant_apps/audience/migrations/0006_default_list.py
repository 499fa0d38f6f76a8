"""Every workspace's existing clients join one default list.

Runs in each workspace schema (and in the template new workspaces are cloned
from, so a new workspace starts with the same default list). One
INSERT … SELECT, so a workspace with a million clients migrates in seconds.
A client unsubscribed from everything is marked unsubscribed on the list too,
dated when they unsubscribed.
"""

from django.db import migrations

DEFAULT_LIST_NAME = "Основной список"
DEFAULT_LIST_DESCRIPTION = "Все клиенты, добавленные до появления списков."


def create_default_list(apps, schema_editor):
    MailingList = apps.get_model("audience", "MailingList")
    if MailingList.objects.exists():
        return
    default = MailingList.objects.create(
        name=DEFAULT_LIST_NAME, description=DEFAULT_LIST_DESCRIPTION, is_public=False, double_opt_in=False
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audience_membership (mailing_list_id, client_id, status, changed_at, source)
            SELECT %s, c.id,
                   CASE WHEN c.is_subscribed THEN 'subscribed' ELSE 'unsubscribed' END,
                   COALESCE(c.unsubscribed_at, c.created), 'migration'
            FROM audience_client c
            ON CONFLICT DO NOTHING
            """,
            [default.pk],
        )


class Migration(migrations.Migration):
    dependencies = [("audience", "0005_lists_and_memberships")]

    operations = [migrations.RunPython(create_default_list, migrations.RunPython.noop)]
