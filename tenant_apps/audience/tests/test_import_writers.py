"""Batches written on two connections at once still commit in the file's order, all or from the start."""

import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from shared_apps.landing.models import SiteStats
from tenant_apps.audience import services
from tenant_apps.audience.models import Client, ImportJob

pytestmark = pytest.mark.django_db

FILE = (
    b"email;name\n"
    b"w1@example.com;A\n"  # batch 1: lines 2-4
    b"w2@example.com;B\n"
    b"broken;C\n"
    b"w3@example.com;D\n"  # batch 2: lines 5-7
    b"w1@example.com;again\n"
    b"w4@example.com;E\n"
    b"w5@example.com;F\n"  # batch 3: lines 8-9
    b"w6@example.com;G\n"
)


def in_own_connection(function):
    """Run `function` on a thread's own connection, outside the test's transaction: what it writes is committed."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class CommittedImport:
    """Imports FILE in a workspace outside the test's transaction (so OrderedWriters is used), 3 rows a batch."""

    def __init__(self, workspace):
        self.workspace, self.job_id = workspace, None

    def run(self):
        def run():
            with schema_context(self.workspace.schema_name):
                assert not connection.in_atomic_block  # so OrderedWriters.for_job gives writers: the path tested
                job = ImportJob.objects.create(file_name="t.csv", data=FILE)
                self.job_id = job.pk
                services.run_import(job)

        in_own_connection(run)

    def state(self):
        """(the job, the emails imported, the site's unique recipients), read on a connection of its own."""

        def read():
            with schema_context(self.workspace.schema_name):
                job = ImportJob.objects.get(pk=self.job_id)
                emails = sorted(Client.objects.filter(email__startswith="w").values_list("email", flat=True))
                return job, emails, SiteStats.objects.get().unique_clients

        return in_own_connection(read)

    def clean(self):
        def clean():
            with schema_context(self.workspace.schema_name):
                for client in Client.objects.filter(email__startswith="w", email__endswith="@example.com"):
                    services.delete_client(client)
                ImportJob.objects.filter(pk=self.job_id).delete()

        in_own_connection(clean)


@pytest.fixture
def committed_import(workspace, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    made = CommittedImport(workspace)
    yield made
    made.clean()


def unique_recipients():
    return in_own_connection(lambda: SiteStats.objects.get_or_create(pk=1)[0].unique_clients)


def test_two_writers_import_every_good_row_and_report_the_others_as_one_would(committed_import):
    before = unique_recipients()

    committed_import.run()

    job, emails, unique_after = committed_import.state()
    assert job.status == ImportJob.Status.DONE
    assert emails == [f"w{n}@example.com" for n in range(1, 7)]
    assert (job.created_count, job.existing_count, job.error_count) == (6, 0, 2)
    assert job.processed_rows == job.total_rows == 8
    assert [line for line, _reason, _value in services.error_report(job)] == [4, 6]
    assert unique_after == before + 6


def test_a_failed_batch_lets_no_later_one_commit_and_the_job_keeps_the_prefix(committed_import, monkeypatch):
    insert = services.insert_new_clients

    def failing_on_the_second_batch(batch, **options):
        if any(row["email"] == "w3@example.com" for row in batch):
            raise RuntimeError("the database went away")
        return insert(batch, **options)

    monkeypatch.setattr(services, "insert_new_clients", failing_on_the_second_batch)
    before = unique_recipients()

    with pytest.raises(RuntimeError, match="went away"):
        committed_import.run()

    job, emails, unique_after = committed_import.state()
    assert job.status == ImportJob.Status.FAILED
    assert emails == ["w1@example.com", "w2@example.com"]  # batch 3 (w5, w6) did not commit after the failure
    assert (job.processed_rows, job.created_count) == (3, 2)
    assert unique_after == before + 2
