"""Rolling tenant migrations: the workspaces behind the template, in batches, over parallel connections.

`migrate` migrates the public schema and the template first, then hands the
workspaces that lack a template migration (tenants/deploys.py) to this job.
Applying a migration to a schema mostly waits on PostgreSQL (catalog
locks, DDL, fsync), so WORKERS threads, each on its own connection, apply
schemas side by side; more connections than cores pay.

Progress: each schema's own `django_migrations` is the truth (a schema is
migrated in one transaction per migration, so a killed job leaves every
schema either done or untouched), and a `RollingMigration` row in the
public schema counts the batches for people. Running it again (`migrate`
again) finds only the schemas still behind and continues the unfinished job
of the same template version. The first failing schema stops the job at the
end of its batch, named with its error.

The service keeps serving while this runs, so code and migrations follow
the expand/contract rule (README): the running code works against both the
old and the new schema.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from .crossschema import chunked
from .deploys import schemas_behind_template
from .models import RollingMigration
from .provisioning import template_version

WORKERS = 4  # parallel connections
BATCH = 100  # schemas between two progress records


@dataclass
class RollingResult:
    job: RollingMigration | None  # None: nothing was behind and nothing to resume
    checked: int = 0  # workspace schemas looked at
    behind: int = 0  # of those, behind the template when this run started
    migrated: list[str] = field(default_factory=list)
    resumed: bool = False
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.job and self.job.failed_schema)


def migrate_schema(schema: str, states: dict | None = None) -> None:
    """Apply every migration the code has and `schema` lacks, on this thread's connection.

    Django's migration executor directly, as django-tenants' migrate does per
    schema but without its per-schema command, signals and output. Building
    the models' state of the applied migrations is most of the work and the
    same for every schema behind by the same migrations, so it is kept in
    `states` (per thread) by the set of applied migrations and cloned.
    """
    connection.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        targets = executor.loader.graph.leaf_nodes()
        plan = executor.migration_plan(targets)
        if not plan:
            return
        states = {} if states is None else states
        applied = frozenset(executor.loader.applied_migrations)
        if applied not in states:
            states[applied] = executor._create_project_state(with_applied_migrations=True)
            states[applied].apps  # rendered once; clones copy the rendered models  # noqa: B018
        executor.migrate(targets, plan=plan, state=states[applied].clone())
    finally:
        connection.set_schema_to_public()


def _apply(schemas: Sequence[str], workers: int) -> tuple[list[str], dict[str, str]]:
    """Migrate `schemas` with `workers` threads; (migrated, {failed schema: error})."""
    migrated: list[str] = []
    failed: dict[str, str] = {}
    lock = threading.Lock()
    pending = iter(schemas)

    def work() -> None:
        states: dict = {}  # this thread's: a state is mutated while migrating
        while True:
            with lock:
                schema = next(pending, None)
            if schema is None:
                return
            try:
                migrate_schema(schema, states)
            except Exception as error:  # recorded on the job; the schema stays behind
                with lock:
                    failed[schema] = f"{type(error).__name__}: {error}"
            else:
                with lock:
                    migrated.append(schema)

    # Other connections cannot see a caller's uncommitted transaction (tests, an atomic
    # block): then the caller's own connection does the work.
    if workers <= 1 or connection.in_atomic_block:
        work()
        return migrated, failed

    def thread_main() -> None:
        try:
            work()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=thread_main) for _ in range(min(workers, len(schemas)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return migrated, failed


def _job_to_continue(version: str, behind: int) -> tuple[RollingMigration | None, bool]:
    """The unfinished job of this template version (resumed), or a new one when schemas are behind."""
    job = RollingMigration.objects.filter(template_version=version, finished__isnull=True).order_by("-id").first()
    if job is not None:
        job.total = job.migrated + behind
        job.failed_schema = job.error = ""
        job.save()
        return job, True
    if not behind:
        return None, False
    return RollingMigration.objects.create(template_version=version, total=behind), False


def run_rolling_migration(
    workers: int = WORKERS, batch: int = BATCH, log: Callable[[str], None] = lambda line: None
) -> RollingResult:
    """Migrate every workspace behind the template, `batch` schemas at a time over `workers` connections."""
    started = time.monotonic()
    behind, checked = schemas_behind_template()
    job, resumed = _job_to_continue(template_version(), len(behind))
    result = RollingResult(job=job, checked=checked, behind=len(behind), resumed=resumed)
    if job is None:
        return result
    if resumed:
        log(f"Resuming rolling migration #{job.pk}: {job.migrated} of {job.total} schemas migrated before.")
    for number, schemas in enumerate(chunked(behind, batch), start=1):
        migrated, failed = _apply(schemas, workers)
        result.migrated.extend(migrated)
        job.migrated += len(migrated)
        if failed:
            job.failed_schema, job.error = next(iter(sorted(failed.items())))
        job.save()
        log(
            f"Rolling migration #{job.pk}, batch {number}: {job.migrated}/{job.total} schemas, "
            f"{time.monotonic() - started:.1f} s"
        )
        if failed:
            log(f"Stopped: {job.failed_schema} failed ({job.error}). Fix it and run migrate again to resume.")
            break
    else:
        job.finished = timezone.now()
        job.save()
    result.seconds = time.monotonic() - started
    return result
