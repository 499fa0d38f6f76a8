"""CSV import: good rows are imported, bad rows reported with their line numbers."""

import io
import zipfile

import pytest
from django_tenants.utils import schema_context

from tenant_apps.audience import services
from tenant_apps.audience.models import Client, ImportJob

from .conftest import csv_upload

pytestmark = pytest.mark.django_db


def upload(http, content, capture, name="clients.csv"):
    with capture(execute=True):
        response = http.post("/clients/import/", {"file": csv_upload(content, name)})
    return response


def acme_emails():
    with schema_context("ws_acme"):
        return sorted(Client.objects.values_list("email", flat=True))


def import_bytes(data):
    """Run the import service on raw bytes in the current schema."""
    job = ImportJob.objects.create(file_name="t.csv", data=data)
    return services.run_import(job)


def reasons(job):
    return {line: reason for line, reason, _value in services.error_report(job)}


def test_upload_runs_the_import_in_the_background_and_shows_the_report(editor, django_capture_on_commit_callbacks):
    response = upload(
        editor,
        "email,full_name,comment\nanna@example.com,Анна,VIP\nboris@example.com,Борис,\n",
        django_capture_on_commit_callbacks,
    )

    with schema_context("ws_acme"):
        job = ImportJob.objects.get()
        anna = Client.objects.get(email="anna@example.com")
    assert response.status_code == 302 and response["Location"] == f"/clients/import/{job.pk}/"
    assert (job.status, job.created_count, job.existing_count, job.error_count) == ("done", 2, 0, 0)
    assert (anna.full_name, anna.comment, anna.is_subscribed) == ("Анна", "VIP", True)
    report = editor.get(response["Location"]).content.decode()
    assert 'data-testid="import-created">2<' in report


def test_the_upload_request_only_stores_the_file_and_enqueues(editor):
    # Without running the commit callbacks, the task has not started: the
    # request itself imported nothing.
    response = editor.post("/clients/import/", {"file": csv_upload("email\nlater@example.com\n")})

    with schema_context("ws_acme"):
        job = ImportJob.objects.get()
        stored = services.open_import_file(job).read()
    assert response.status_code == 302
    assert job.status == "pending" and stored == b"email\nlater@example.com\n"
    assert acme_emails() == []


def test_progress_endpoint_reports_the_state_as_json(editor, django_capture_on_commit_callbacks):
    upload(editor, "email\na@example.com\nbad\n", django_capture_on_commit_callbacks)
    with schema_context("ws_acme"):
        job = ImportJob.objects.get()

    state = editor.get(f"/clients/import/{job.pk}/progress/").json()

    assert state == {
        "status": "done",
        "finished": True,
        "percent": 100,
        "total": 2,
        "processed": 2,
        "created": 1,
        "existing": 0,
        "rejected": 1,
        "url": f"/clients/import/{job.pk}/",
    }


def test_a_running_import_page_polls_the_progress_endpoint(editor):
    editor.post("/clients/import/", {"file": csv_upload("email\nlater@example.com\n")})
    with schema_context("ws_acme"):
        job = ImportJob.objects.get()

    page = editor.get(f"/clients/import/{job.pk}/").content.decode()

    assert f'data-progress-url="/clients/import/{job.pk}/progress/"' in page
    assert 'role="progressbar"' in page


def test_each_bad_row_is_reported_with_its_line_and_reason_and_good_rows_are_imported(in_workspace):
    Client.objects.create(email="Already@Example.com")
    job = import_bytes(
        (
            "email;name;comment\n"  # line 1
            "good@example.com;Хороший;\n"  # 2
            "not-an-email;Плохой;\n"  # 3
            ";Без адреса;\n"  # 4
            "GOOD@example.com;Повтор;\n"  # 5
            "already@example.com;Уже есть;\n"  # 6
            "short@example.com\n"  # 7: the name and comment cells are missing
            "x@example.com;a;b;extra\n"  # 8
            "\n"  # 9: blank lines are skipped
            f"long@example.com;{'я' * 201};\n"  # 10
            '"multi\nline@example.com";M;\n'  # 11-12
            "last@example.com;Последний;ок\n"  # 13
        ).encode()
    )

    assert sorted(Client.objects.values_list("email", flat=True)) == [
        "Already@Example.com",
        "good@example.com",
        "last@example.com",
    ]
    assert (job.created_count, job.existing_count, job.error_count, job.total_rows) == (2, 1, 7, 10)
    assert reasons(job) == {
        3: "неверный адрес email",
        4: "email не указан",
        5: "тот же email уже есть в строке 2 этого файла",
        7: "ячеек меньше, чем столбцов в заголовке",
        8: "ячеек больше, чем столбцов в заголовке (запятая или точка с запятой внутри значения без кавычек?)",
        10: "имя длиннее 200 символов",
        11: "неверный адрес email",
    }


def test_a_row_missing_the_email_cell_is_reported(in_workspace):
    job = import_bytes(b"name,email\nonly-a-name\nok,ok@example.com\n")

    assert reasons(job) == {2: "ячеек меньше, чем столбцов в заголовке"}
    assert job.created_count == 1


def test_importing_the_same_file_again_changes_nothing(in_workspace):
    data = "email,full_name\nsame@example.com,Первый\nother@example.com,\n".encode()
    import_bytes(data)
    before = list(Client.objects.order_by("pk").values())

    again = import_bytes(data)

    assert list(Client.objects.order_by("pk").values()) == before
    assert (again.created_count, again.existing_count, again.error_count) == (0, 2, 0)


def test_an_email_already_there_keeps_its_name_and_subscription(in_workspace):
    Client.objects.create(email="kept@example.com", full_name="Старое", is_subscribed=False)

    import_bytes(b"email,full_name\nKEPT@example.com,New\n")

    kept = Client.objects.get()
    assert (kept.email, kept.full_name, kept.is_subscribed) == ("kept@example.com", "Старое", False)


def test_windows_1251_files_are_read_and_the_encoding_reported(in_workspace):
    job = import_bytes("email;ФИО\nivan@example.com;Иван Иванов\n".encode("cp1251"))

    assert job.encoding == "Windows-1251"
    assert Client.objects.get().full_name == "Иван Иванов"


def test_utf16_files_from_excel_are_read(in_workspace):
    job = import_bytes("email\tname\nolga@example.com\tОльга\n".encode("utf-16"))

    assert job.encoding == "UTF-16"
    assert Client.objects.get().full_name == "Ольга"


def test_utf8_with_bom_header_is_recognised(in_workspace):
    job = import_bytes("\ufeffEmail,Name\nbom@example.com,Бом\n".encode())

    assert (job.encoding, job.created_count) == ("UTF-8", 1)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"name,comment\nAnna,hi\n", "Первая строка должна быть заголовком со столбцом «email»"),
        (b"anna@example.com\nboris@example.com\n", "Первая строка должна быть заголовком"),
        (b"\xff\xfe\x00\xd8", "Файл начинается как UTF-16"),
        (b"email\n" + b'"' + b"x" * 200_000, "Файл не является корректным CSV около строки"),
    ],
    ids=["no email column", "no header", "broken utf-16", "runaway quote"],
)
def test_an_unusable_file_is_refused_with_a_clear_message_and_imports_nothing(in_workspace, data, message):
    job = import_bytes(data)

    assert job.status == "failed"
    assert services.failure_message(job).startswith(message)
    assert not Client.objects.exists()


def many_rows(count):
    return b"email;full_name\n" + b"".join(b"c%d@example.com;Name %d\n" % (n, n) for n in range(count))


def test_a_file_over_the_old_100000_row_limit_imports_in_one_job(editor, django_capture_on_commit_callbacks):
    upload(editor, many_rows(150_000), django_capture_on_commit_callbacks)

    with schema_context("ws_acme"):
        job = ImportJob.objects.get()
        assert (job.status, job.created_count, job.total_rows, job.processed_rows) == (
            "done",
            150_000,
            150_000,
            150_000,
        )
        assert Client.objects.count() == 150_000
        assert job.file_oid is None  # the stored file is gone with the import


def zipped(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zipped_csv_is_imported(editor, django_capture_on_commit_callbacks):
    data = zipped("clients.csv", "email,full_name\nzip@example.com,Зип\nbad-email,\n".encode())
    upload(editor, data, django_capture_on_commit_callbacks, name="clients.zip")

    with schema_context("ws_acme"):
        job = ImportJob.objects.get()
        assert (job.status, job.created_count, job.error_count) == ("done", 1, 1)
        assert Client.objects.get().full_name == "Зип"
    assert reasons(job) == {3: "неверный адрес email"}


def test_a_zip_without_exactly_one_file_is_refused(in_workspace):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "email\na@example.com\n")
        archive.writestr("b.csv", "email\nb@example.com\n")

    job = import_bytes(buffer.getvalue())

    assert job.status == "failed" and not Client.objects.exists()


def test_a_finished_upload_drops_its_stored_file(editor, django_capture_on_commit_callbacks):
    editor.post("/clients/import/", {"file": csv_upload("email\nlater@example.com\n")})
    with schema_context("ws_acme"):
        oid = ImportJob.objects.get().file_oid
    assert oid is not None

    with django_capture_on_commit_callbacks(execute=True):
        pass
    with schema_context("ws_acme"):
        from tenant_apps.audience.tasks import import_clients

        import_clients.call_local("ws_acme", ImportJob.objects.get().pk)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s", [oid])
        assert cursor.fetchone()[0] == 0


def test_a_refused_file_shows_why_on_its_page(editor, django_capture_on_commit_callbacks):
    response = upload(editor, "name\nAnna\n", django_capture_on_commit_callbacks)

    page = editor.get(response["Location"]).content.decode()

    assert "Файл не импортирован" in page and "столбцом «email»" in page
    assert 'href="/clients/import/" data-testid="import-again"' in page


def test_an_empty_upload_is_a_form_error(editor):
    response = editor.post("/clients/import/", {"file": csv_upload(b"")})

    assert response.status_code == 200 and response.context["form"].errors["file"]
    with schema_context("ws_acme"):
        assert not ImportJob.objects.exists()


def test_an_oversized_upload_is_a_form_error(editor, monkeypatch):
    monkeypatch.setattr(services, "MAX_IMPORT_BYTES", 10)

    response = editor.post("/clients/import/", {"file": csv_upload("email\nbig@example.com\n")})

    assert "Файл больше" in response.content.decode()
    with schema_context("ws_acme"):
        assert not ImportJob.objects.exists()


def test_the_report_lists_bad_rows(editor, django_capture_on_commit_callbacks):
    response = upload(editor, "email\nok@example.com\nnope\n", django_capture_on_commit_callbacks)

    page = editor.get(response["Location"]).content.decode()

    assert '<td>3</td><td class="text-break"><code>nope</code></td><td>неверный адрес email</td>' in page


def test_the_task_enters_the_schema_it_is_given(workspace, other_workspace):
    from tenant_apps.audience.tasks import import_clients

    with schema_context(other_workspace.schema_name):
        job = ImportJob.objects.create(file_name="g.csv", data=b"email\nonly-globex@example.com\n")

    import_clients.call_local(other_workspace.schema_name, job.pk)

    with schema_context(other_workspace.schema_name):
        assert Client.objects.filter(email="only-globex@example.com").exists()
    assert acme_emails() == []


def test_the_task_does_not_run_a_finished_job_twice(in_workspace):
    from tenant_apps.audience.tasks import import_clients

    job = import_bytes(b"email\nonce@example.com\n")
    Client.objects.all().delete()

    import_clients.call_local("ws_acme", job.pk)

    assert not Client.objects.exists()


def test_an_unexpected_error_marks_the_import_failed_instead_of_leaving_it_running(in_workspace, monkeypatch):
    def database_went_away(batch):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(services, "insert_new_clients", database_went_away)
    job = ImportJob.objects.create(file_name="t.csv", data=b"email\na@example.com\n")

    with pytest.raises(RuntimeError):
        services.run_import(job)

    job.refresh_from_db()
    assert job.status == "failed" and job.is_finished
    assert "внутренней ошибки" in services.failure_message(job)


def test_a_finished_import_no_longer_keeps_the_file(in_workspace):
    job = import_bytes(b"email\nkept-report@example.com\n")

    job.refresh_from_db()
    assert bytes(job.data) == b"" and job.created_count == 1
