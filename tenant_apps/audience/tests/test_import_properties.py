"""Whatever a CSV upload holds, the import never fails with a server error and never imports an invalid row."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_apps.audience import services
from tenant_apps.audience.models import Client, ImportJob

from .conftest import csv_upload

pytestmark = pytest.mark.django_db

HEADER_NAMES = ["email", "E-mail", "Почта", "name", "full_name", "ФИО", "comment", "Комментарий", "phone", ""]
cells = st.one_of(
    st.emails(),
    st.text(max_size=30),
    st.sampled_from(["a@b.co", "A@B.CO", "bad@", "@x.io", " padded@example.com ", "=1+2", "x" * 300, "\x00"]),
)
header = st.lists(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=10)), min_size=1, max_size=5)


@st.composite
def csv_files(draw):
    columns = draw(header)
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(columns) + 2), max_size=15))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    if draw(st.booleans()):
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows([columns, *rows])
        text = out.getvalue()
    else:  # hand-written: no quoting at all
        text = "\n".join(delimiter.join(row) for row in [columns, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
    return text.encode(encoding, errors="replace")


raw_files = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda tail: b"email,name\n" + tail, st.binary(max_size=400)),
)


def assert_every_client_is_valid():
    for email, full_name, comment in Client.objects.values_list("email", "full_name", "comment"):
        try:
            validate_email(email)
        except ValidationError:  # pragma: no cover - the failure message says which
            pytest.fail(f"imported an invalid email {email!r}")
        assert len(email) <= 254 and len(full_name) <= 200
        assert "\x00" not in email + full_name + comment
        assert email == email.strip()


def check_import(data):
    job = services.run_import(ImportJob.objects.create(file_name="random.csv", data=data))
    assert job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    assert_every_client_is_valid()
    if job.status == ImportJob.Status.FAILED:
        assert services.failure_message(job)
        assert not Client.objects.exists()
        return
    assert job.created_count + job.existing_count + job.error_count == job.total_rows == job.processed_rows
    assert Client.objects.count() == job.created_count
    assert len(job.errors) == job.error_count
    services.error_report(job)  # every stored reason can be shown
    again = services.run_import(ImportJob.objects.create(file_name="random.csv", data=data))
    assert again.created_count == 0
    assert again.existing_count == job.created_count + job.existing_count


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(csv_files(), raw_files))
def test_random_csv_never_breaks_the_import_nor_imports_an_invalid_row(in_workspace, data):
    with transaction.atomic():
        check_import(data)
        transaction.set_rollback(True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(csv_files(), raw_files))
def test_random_upload_never_gives_a_server_error(editor, django_capture_on_commit_callbacks, data):
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            response = editor.post("/clients/import/", {"file": csv_upload(data or b"\n")})
        assert response.status_code == 302
        report = editor.get(response["Location"])
        progress = editor.get(response["Location"] + "progress/")
        assert report.status_code == 200 and progress.status_code == 200
        assert progress.json()["finished"] is True
        transaction.set_rollback(True)
