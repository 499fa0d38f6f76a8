"""An import whose huey worker died is found by the periodic task and resumed, with exact counts."""

import datetime
import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.audience import importfile, recovery, services, tasks
from tenant_apps.audience.models import Client, ImportJob
from tenants import crossschema

pytestmark = pytest.mark.django_db

# 7 rows: 4 new, 1 already in the workspace, 1 invalid, 1 repeated from the first batch.
CSV = (
    b"email,name\n"
    b"one@example.com,One\n"  # line 2
    b"two@example.com,Two\n"  # line 3
    b"old@example.com,Old\n"  # line 4, already a client
    b"not-an-email,Bad\n"  # line 5
    b"ONE@example.com,Again\n"  # line 6, same as line 2
    b"three@example.com,Three\n"  # line 7
    b"four@example.com,Four\n"  # line 8
)


class WorkerKilled(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the service catches it."""


def long_ago():
    return timezone.now() - services.IMPORT_STALE_AFTER - datetime.timedelta(minutes=1)


def interrupted_import(monkeypatch, data=CSV, batches_before_death=1, job=None):
    """A job as a killed worker leaves it: running, its first batches saved, the rest not."""
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    real_insert = services.insert_new_clients
    calls = {"n": 0}

    def insert_then_die(batch):
        calls["n"] += 1
        if calls["n"] > batches_before_death:
            raise WorkerKilled
        return real_insert(batch)

    job = job or ImportJob.objects.create(file_name="clients.csv", data=data)
    monkeypatch.setattr(services, "insert_new_clients", insert_then_die)
    with pytest.raises(WorkerKilled):
        tasks.import_clients.call_local(connection.schema_name, job.pk)
    monkeypatch.setattr(services, "insert_new_clients", real_insert)
    job.refresh_from_db()
    return job


def test_a_job_left_running_with_an_old_heartbeat_is_resumed_with_exact_counts(in_workspace, monkeypatch):
    Client.objects.create(email="old@example.com")
    job = interrupted_import(monkeypatch)
    assert (job.status, job.processed_rows, job.created_count) == ("running", 2, 2)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago())

    tasks.resume_stale_imports.call_local()

    job.refresh_from_db()
    assert job.status == "done"
    assert (job.total_rows, job.processed_rows) == (7, 7)
    assert (job.created_count, job.existing_count, job.error_count) == (4, 1, 2)
    assert [(line, reason) for line, reason, _value in services.error_report(job)] == [
        (5, "неверный адрес email"),
        (6, "тот же email уже есть в строке 2 этого файла"),
    ]
    assert job.attempts == 2 and job.finished_at is not None and bytes(job.data) == b""
    assert sorted(Client.objects.values_list("email", flat=True)) == [
        "four@example.com",
        "old@example.com",
        "one@example.com",
        "three@example.com",
        "two@example.com",
    ]


def test_resumed_job_reports_what_a_run_without_interruption_reports(in_workspace, monkeypatch):
    Client.objects.create(email="old@example.com")
    job = interrupted_import(monkeypatch, batches_before_death=2)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago())
    tasks.resume_stale_imports.call_local()
    job.refresh_from_db()

    Client.objects.exclude(email="old@example.com").delete()
    uninterrupted = services.run_import(ImportJob.objects.create(file_name="again.csv", data=CSV))

    fields = ("status", "total_rows", "processed_rows", "created_count", "existing_count", "error_count", "errors")
    assert [getattr(job, f) for f in fields] == [getattr(uninterrupted, f) for f in fields]


def test_a_running_job_with_a_fresh_heartbeat_is_left_to_its_worker(in_workspace, monkeypatch):
    job = interrupted_import(monkeypatch)

    tasks.resume_stale_imports.call_local()

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.attempts) == ("running", 2, 1)


def test_a_pending_job_whose_task_was_lost_is_run(in_workspace):
    job = ImportJob.objects.create(file_name="clients.csv", data=b"email\nlost@example.com\n")
    ImportJob.objects.filter(pk=job.pk).update(created=long_ago())

    tasks.resume_stale_imports.call_local()

    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)
    assert Client.objects.filter(email="lost@example.com").exists()


def test_a_finished_job_is_never_run_again(in_workspace):
    job = services.run_import(ImportJob.objects.create(file_name="c.csv", data=b"email\nx@example.com\n"))
    ImportJob.objects.filter(pk=job.pk).update(created=long_ago(), heartbeat=long_ago())

    assert recovery.find_stale_imports() == []
    assert services.claim_import(job.pk) is None


def test_a_job_interrupted_too_often_is_failed_with_a_message(in_workspace, monkeypatch):
    job = interrupted_import(monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago(), attempts=services.MAX_IMPORT_ATTEMPTS)

    tasks.resume_stale_imports.call_local()

    job.refresh_from_db()
    assert job.status == "failed"
    assert services.failure_message(job) == ("Импорт прерывался слишком много раз; строки до прерывания импортированы.")
    assert job.created_count == 2  # what was imported stays, and is reported


def test_only_one_worker_claims_a_stale_job(in_workspace, monkeypatch):
    job = interrupted_import(monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago())

    first, second = services.claim_import(job.pk), services.claim_import(job.pk)

    assert first is not None and first.status == "running"
    assert second is None


def test_stale_jobs_of_every_workspace_are_found_with_one_query(workspace, other_workspace):
    stale = {}
    for ws in (workspace, other_workspace):
        with schema_context(ws.schema_name):
            job = ImportJob.objects.create(file_name="c.csv", data=b"email\n", status="running")
            ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago())
            ImportJob.objects.create(file_name="fresh.csv", data=b"email\n", status="running", heartbeat=timezone.now())
            stale[ws.schema_name] = job.pk

    with CaptureQueriesContext(connection) as queries:
        found = recovery.find_stale_imports()

    assert {(schema, pk) for schema, pk in found} >= set(stale.items())
    assert all(schema in [schema for _pk, schema in crossschema.workspace_schemas()] for schema, _pk in found)
    union_queries = [q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"]]
    assert len(union_queries) == 1
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 2  # the workspaces with a schema, the union: the same with any number of workspaces


def test_an_uploaded_zip_interrupted_mid_file_resumes_without_duplicates_or_loss(in_workspace, monkeypatch):
    rows = b"email\n" + b"".join(b"r%d@example.com\n" % n for n in range(9)) + b"R1@example.com\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("clients.csv", rows)
    oid, size = importfile.store([buffer.getvalue()[:100], buffer.getvalue()[100:]])
    job = ImportJob.objects.create(file_name="clients.zip", file_oid=oid, file_size=size)
    job = interrupted_import(monkeypatch, batches_before_death=2, job=job)
    assert job.processed_rows == 4
    ImportJob.objects.filter(pk=job.pk).update(heartbeat=long_ago())

    tasks.resume_stale_imports.call_local()

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.error_count) == ("done", 10, 9, 1)
    assert sorted(Client.objects.values_list("email", flat=True)) == [f"r{n}@example.com" for n in range(9)]
    assert services.error_report(job)[0][0] == 11  # R1 repeats line 3, known again after the resume
