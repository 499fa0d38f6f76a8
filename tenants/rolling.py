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

The fast path (tenants/replay.py): the schemas of a batch that lack the
same migrations, when those reduce to SQL, get that SQL collected once per
job and replayed, each schema in one transaction, over the same parallel
connections (PostgreSQL-bound, so the threads pay). Every other schema,
and a schema whose replay fails (rolled back whole), goes through Django's
executor as before; a schema that fails there too stops the job.

The service keeps serving while this runs, so code and migrations follow
the expand/contract rule (README): the running code works against both the
old and the new schema.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from .crossschema import chunked
from .deploys import missing_migrations, schemas_behind_template
from .models import RollingMigration
from .provisioning import template_version
from .replay import Replay, Rows, collect, replay

WORKERS = 4  # parallel connections
BATCH = 100  # schemas between two progress records


@dataclass
class RollingResult:
    job: RollingMigration | None  # None: nothing was behind and nothing to resume
    checked: int = 0  # workspace schemas looked at
    behind: int = 0  # of those, behind the template when this run started
    migrated: list[str] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)  # of the migrated, by the SQL replay; the rest by the executor
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
    outermost = not connection.in_atomic_block
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
    except Exception:
        if outermost and connection.in_atomic_block:
            _end_abandoned_transaction()
        raise
    finally:
        connection.set_schema_to_public()


def _end_abandoned_transaction() -> None:
    """Roll back the transaction a failed migration left open on this connection.

    Django's schema editor skips the exit of its atomic block when its
    deferred SQL fails (an index created after its table, e.g. on a name
    already taken), so the connection stays inside an aborted transaction
    and every later schema on it would fail with "current transaction is
    aborted". Only when the caller was in no transaction: then every open
    block is the editor's.
    """
    connection.in_atomic_block = False
    connection.savepoint_ids = []
    connection.needs_rollback = False
    connection.rollback()
    connection.set_autocommit(True)


def _migrate_one(schema: str, collected: Replay | None, states: dict) -> bool:
    """Migrate `schema` by replay when given one, else (or when the replay fails) by the executor.

    True when replayed. A failed replay left the schema untouched (one
    transaction), so the executor starts from where the schema was; its
    error, if it fails too, is the one raised.
    """
    if collected is not None:
        try:
            replay(schema, collected)
        except Exception:  # noqa: BLE001, S110 — the executor below tries again and reports its own error
            pass
        else:
            return True
    migrate_schema(schema, states)
    return False


def _apply(
    schemas: Sequence[str], workers: int, replays: dict[str, Replay] | None = None
) -> tuple[list[str], dict[str, str], list[str]]:
    """Migrate `schemas` with `workers` threads; (migrated, {failed schema: error}, those replayed).

    `replays` gives the collected SQL to replay in a schema; the others go through the executor.
    """
    migrated: list[str] = []
    failed: dict[str, str] = {}
    replayed: list[str] = []
    replays = replays or {}
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
                by_replay = _migrate_one(schema, replays.get(schema), states)
            except Exception as error:  # recorded on the job; the schema stays behind
                with lock:
                    failed[schema] = f"{type(error).__name__}: {error}"
            else:
                with lock:
                    migrated.append(schema)
                    if by_replay:
                        replayed.append(schema)

    # Other connections cannot see a caller's uncommitted transaction (tests, an atomic
    # block): then the caller's own connection does the work.
    if workers <= 1 or connection.in_atomic_block:
        work()
        return migrated, failed, replayed

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
    return migrated, failed, replayed


class _Replays:
    """The job's collected SQL, one per set of missing migrations: collected once, replayed in every batch."""

    def __init__(self, enabled: bool, log: Callable[[str], None]) -> None:
        self.enabled = enabled
        self.log = log
        self.collected: dict[Rows, Replay | None] = {}

    def for_batch(self, schemas: Sequence[str]) -> dict[str, Replay]:
        """{schema: the SQL to replay in it} for the schemas of this batch that can take the fast path."""
        if not self.enabled:
            return {}
        missing = missing_migrations(list(schemas))
        if not missing:
            return {}
        # The batch's most common set (all of it, for schemas cloned from one template version);
        # a set collected in an earlier batch is replayed too.
        rows = Counter(missing.values()).most_common(1)[0][0]
        if rows not in self.collected:
            self.collected[rows] = self._collect(next(s for s in schemas if missing.get(s) == rows), rows)
        return {
            schema: self.collected[theirs]
            for schema, theirs in missing.items()
            if self.collected.get(theirs) is not None
        }

    def _collect(self, schema: str, rows: Rows) -> Replay | None:
        try:
            collected, reason = collect(schema, rows)
        except Exception as error:  # noqa: BLE001 — no fast path; the executor will report a real fault
            collected, reason = None, f"collecting the SQL failed ({type(error).__name__}: {error})"
        if collected is None:
            self.log(f"By Django's executor, the schemas missing {_describe(rows)}: {reason}.")
        else:
            self.log(
                f"By replaying the collected SQL ({collected.statements} statements, collected in {schema}), "
                f"the schemas missing {collected.describe()}."
            )
        return collected


def _describe(rows: Rows) -> str:
    return ", ".join(f"{app}.{name}" for app, name in sorted(rows))


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
    workers: int = WORKERS, batch: int = BATCH, log: Callable[[str], None] = lambda line: None, replay_sql: bool = True
) -> RollingResult:
    """Migrate every workspace behind the template, `batch` schemas at a time over `workers` connections.

    `replay_sql=False`: every schema by Django's executor (no SQL replay).
    """
    started = time.monotonic()
    behind, checked = schemas_behind_template()
    job, resumed = _job_to_continue(template_version(), len(behind))
    result = RollingResult(job=job, checked=checked, behind=len(behind), resumed=resumed)
    if job is None:
        return result
    if resumed:
        log(f"Resuming rolling migration #{job.pk}: {job.migrated} of {job.total} schemas migrated before.")
    replays = _Replays(replay_sql, log)
    for number, schemas in enumerate(chunked(behind, batch), start=1):
        migrated, failed, replayed = _apply(schemas, workers, replays.for_batch(schemas))
        result.migrated.extend(migrated)
        result.replayed.extend(replayed)
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
