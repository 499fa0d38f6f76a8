from django.db import migrations

MANAGERS_GROUP = "Managers"  # tenants.access.MANAGERS_GROUP, frozen here as migrations must be


def create_managers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=MANAGERS_GROUP)


class Migration(migrations.Migration):
    """The Managers group: its members view every workspace, read only."""

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("tenants", "0003_invitation"),
    ]

    operations = [
        migrations.RunPython(create_managers_group, migrations.RunPython.noop),
    ]
