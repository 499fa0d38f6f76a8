"""The import's batches: rows are checked in a thread a batch ahead, the file read a chunk at a time.

What must not change with the batch size, the chunk size or the thread:
line numbers, repeats across batches, counts, and nothing left running.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_apps.audience import importfile, services
from tenant_apps.audience.models import Client, ImportJob

pytestmark = pytest.mark.django_db


def stored_job(data):
    oid, size = importfile.store([data])
    return ImportJob.objects.create(file_name="t.csv", file_oid=oid, file_size=size)


def reasons(job):
    return {line: reason for line, reason, _value in services.error_report(job)}


def cleaning_threads():
    return [thread for thread in threading.enumerate() if thread.name == "import-cleaning"]


def test_a_bad_row_last_in_a_batch_and_repeats_across_batches_report_their_lines(in_workspace, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    data = (
        b"email;name\n"  # line 1
        b"a@example.com;A\n"  # 2  batch 1
        b"b@example.com;B\n"  # 3
        b"broken;C\n"  # 4: last row of batch 1
        b"A@EXAMPLE.COM;A again\n"  # 5  batch 2: repeats line 2, a batch earlier
        b"c@example.com;C\n"  # 6
        b"c@example.com;C again\n"  # 7  batch 3: repeats line 6, the batch just before
        b"b@example.com;B again\n"  # 8
        b"d@example.com;D\n"  # 9
    )

    job = services.run_import(stored_job(data))

    assert reasons(job) == {
        4: "неверный адрес email",
        5: "тот же email уже есть в строке 2 этого файла",
        7: "тот же email уже есть в строке 6 этого файла",
        8: "тот же email уже есть в строке 3 этого файла",
    }
    assert (job.created_count, job.existing_count, job.error_count, job.processed_rows) == (4, 0, 4, 8)
    assert sorted(Client.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]


def test_rows_across_the_stored_files_chunks_are_read_whole(in_workspace, monkeypatch):
    monkeypatch.setattr(importfile, "CHUNK_BYTES", 7)  # every row crosses a chunk boundary
    rows = [f"client{n}@example.com;Имя {n}" for n in range(40)]
    data = ("email;name\n" + "\n".join(rows) + "\n").encode()

    job = services.run_import(stored_job(data))

    assert (job.created_count, job.error_count) == (40, 0)
    assert Client.objects.get(email="client39@example.com").full_name == "Имя 39"


def test_the_stored_file_reads_back_the_same_bytes_from_any_position(in_workspace, monkeypatch):
    monkeypatch.setattr(importfile, "CHUNK_BYTES", 5)
    data = bytes(range(256)) * 3
    oid, size = importfile.store([data])
    stream = importfile.open_stored(oid, size)

    for position in (0, 3, 5, 250, 511, 767, 3, 0):
        stream.seek(position)
        assert stream.read(9) == data[position : position + 9]
    stream.seek(0)
    assert stream.read() == data


def test_the_checking_thread_is_gone_when_the_import_stops_at_the_client_limit(in_workspace, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    in_workspace.clients_max = 3
    in_workspace.save(update_fields=["clients_max"])
    data = ("email\n" + "\n".join(f"c{n}@example.com" for n in range(50)) + "\n").encode()

    job = services.run_import(stored_job(data))

    assert job.status == ImportJob.Status.FAILED
    assert Client.objects.count() == 3
    assert cleaning_threads() == []


def test_the_checking_thread_is_gone_after_a_refused_file(in_workspace):
    # Rows first, then a quote never closed: the csv module refuses the field past its limit.
    job = services.run_import(stored_job(b"email\na@example.com\n" + b'"' + b"x" * 200_000))

    assert job.status == ImportJob.Status.FAILED
    assert cleaning_threads() == []


def test_an_import_into_a_workspace_with_clients_counts_only_new_emails(in_workspace, home_figures, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    for email in ("old1@example.com", "Old2@Example.com"):
        services.save_client(Client(email=email))
    before = home_figures()[2]
    data = b"email\nOLD2@example.com\nnew1@example.com\nold1@example.com\nnew2@example.com\nnew1@example.com\n"

    job = services.run_import(stored_job(data))

    assert (job.created_count, job.existing_count, job.error_count) == (2, 2, 1)
    assert home_figures()[2] == before + 2


def test_a_file_neither_utf8_nor_windows_1251_is_refused_even_when_the_bad_byte_comes_first(in_workspace):
    # 0x98 is undefined in Windows-1251; the file is not UTF-8 either (0xff later on).
    job = services.run_import(stored_job(b"e\x98mail\nx@example.com\xff\n"))

    assert job.status == ImportJob.Status.FAILED
    assert services.failure_message(job).startswith("Файл не является текстом в UTF-8 или Windows-1251")


email_like = st.one_of(
    st.emails(),
    st.text(max_size=40),
    st.builds(lambda user, domain: f"{user}@{domain}", st.text(max_size=12), st.text(max_size=16)),
    st.sampled_from(
        [
            "user@localhost",
            "user@[127.0.0.1]",
            "user@[::1]",
            "user@[300.1.1.1]",
            "user@почта.рф",
            "user@example.com.",
            "user@-example.com",
            '"quoted user"@example.com',
            "a@b@example.com",
            "x" * 250 + "@example.com",
            "user@xn--80ak6aa92e.com",
        ]
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(email_like)
def test_the_fast_email_check_agrees_with_djangos_validator(email):
    try:
        validate_email(email)
        django_says = True
    except ValidationError:
        django_says = False

    assert services.email_is_valid(email) is django_says
