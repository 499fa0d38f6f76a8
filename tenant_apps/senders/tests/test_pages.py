"""The Sending pages: who may see and change what, secrets never shown, tests through the queue."""

import logging

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django_tenants.utils import schema_context

from conftest import host_client
from tenant_apps.delivery.tests.conftest import Recorder
from tenant_apps.senders import services
from tenant_apps.senders.models import SendingDomain, SmtpProvider

from .conftest import free_port

pytestmark = pytest.mark.django_db
SECRET = "pa55-w0rd-that-must-not-leak"


@pytest.fixture
def owner(workspace, member_factory):
    return member_factory(workspace, role="owner")


@pytest.fixture
def as_role(workspace, member_factory):
    def client_as(role):
        return host_client(workspace.host, member_factory(workspace, role=role))

    return client_as


@pytest.fixture
def auth_server():
    """aiosmtpd with AUTH (PLAIN/LOGIN over plain text, as a test server): user "mailer", the SECRET password."""

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == SECRET.encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Recorder(), hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield controller
    controller.stop()


def provider_form(port, password=SECRET, **extra):
    return {
        "name": "Own relay",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "mailer",
        "password": password,
        "rate_per_second": "0",
        "rate_per_hour": "0",
        **extra,
    }


def test_owner_adds_a_domain_and_sees_its_dns_records(workspace, owner):
    http = host_client(workspace.host, owner)
    response = http.post("/senders/domains/new/", {"name": "News.Acme.Example"}, follow=True)
    page = response.content.decode()
    assert "news.acme.example" in page and "v=DKIM1; k=rsa; p=" in page and "_dmarc.news.acme.example" in page


@pytest.mark.parametrize("name", ["not a domain", "example", "-bad-.com"])
def test_bad_domain_is_refused_with_a_message_and_nothing_is_added(workspace, owner, name):
    response = host_client(workspace.host, owner).post("/senders/domains/new/", {"name": name})
    assert response.status_code == 400
    with schema_context(workspace.schema_name):
        assert not SendingDomain.objects.exists()


@pytest.mark.parametrize("role", ["editor", "viewer", "manager"])
def test_non_owners_see_the_pages_but_cannot_change_anything(workspace, as_role, role, user_factory):
    if role == "manager":
        from tenants.access import ensure_managers_group

        user = user_factory()
        user.groups.add(ensure_managers_group())
        http = host_client(workspace.host, user)
    else:
        http = as_role(role)
    with schema_context(workspace.schema_name):
        domain = services.add_domain("acme.example")
        provider = SmtpProvider.objects.create(name="Own", host="h", password=SECRET)
    assert http.get("/senders/").status_code == 200
    assert http.get(f"/senders/domains/{domain.pk}/").status_code == 200
    assert http.post("/senders/domains/new/", {"name": "other.example"}).status_code == 404
    assert http.post(f"/senders/domains/{domain.pk}/delete/").status_code == 404
    assert http.post(f"/senders/providers/{provider.pk}/test/").status_code == 404
    page = http.get(f"/senders/providers/{provider.pk}/")
    assert page.status_code == 200 and SECRET not in page.content.decode()
    with schema_context(workspace.schema_name):
        assert SendingDomain.objects.count() == 1


def test_non_member_gets_404(other_workspace, workspace, member_factory):
    stranger = member_factory(other_workspace)
    assert host_client(workspace.host, stranger).get("/senders/").status_code == 404


def test_password_never_appears_in_the_page_the_database_or_the_logs(
    workspace, owner, auth_server, caplog, django_capture_on_commit_callbacks
):
    http = host_client(workspace.host, owner)
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post("/senders/providers/new/", provider_form(auth_server.port), follow=True)
        http.post(f"/senders/providers/{response.context['provider'].pk}/test/")
    page = http.get(f"/senders/providers/{response.context['provider'].pk}/").content.decode()
    assert "Own relay" in page and SECRET not in page
    with schema_context(workspace.schema_name):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT password FROM senders_smtpprovider")
            assert SECRET not in cursor.fetchone()[0]
    assert SECRET not in caplog.text


def test_empty_password_on_edit_keeps_the_stored_one(workspace, owner):
    with schema_context(workspace.schema_name):
        provider = SmtpProvider.objects.create(name="Own", host="h", port=25, password=SECRET)
    http = host_client(workspace.host, owner)
    http.post(f"/senders/providers/{provider.pk}/", provider_form(25, password=""))
    with schema_context(workspace.schema_name):
        assert SmtpProvider.objects.get(pk=provider.pk).password == SECRET


def test_connection_test_runs_through_the_queue_and_shows_the_servers_answer(
    workspace, owner, auth_server, django_capture_on_commit_callbacks
):
    with schema_context(workspace.schema_name):
        provider = services.save_provider(SmtpProvider(**{**provider_form(auth_server.port), "security": "none"}))
    http = host_client(workspace.host, owner)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        http.post(f"/senders/providers/{provider.pk}/test/")
    assert "Проверяем подключение" in http.get(f"/senders/providers/{provider.pk}/").content.decode()
    for callback in queued:  # what the consumer does
        callback()
    page = http.get(f"/senders/providers/{provider.pk}/").content.decode()
    assert "AUTH: 235" in page and "EHLO: 250" in page


def test_connection_test_reports_a_wrong_password(workspace, auth_server):
    with schema_context(workspace.schema_name):
        provider = SmtpProvider.objects.create(**{**provider_form(auth_server.port), "password": "wrong"})
        ok, answer = services.run_connection_test(provider)
    assert not ok and "535" in answer


def test_connection_test_reports_a_server_that_is_down(workspace):
    with schema_context(workspace.schema_name):
        provider = SmtpProvider.objects.create(**provider_form(free_port()))
        ok, answer = services.run_connection_test(provider)
    assert not ok and "ConnectionRefusedError" in answer


def test_mailing_form_refuses_an_unverified_from_domain(workspace, member_factory, settings):
    from django.utils import timezone

    from tenant_apps.audience.models import Client
    from tenant_apps.campaigns.forms import MailingForm
    from tenant_apps.campaigns.models import Message

    settings.DELIVERY_FROM_EMAIL = "noreply@rassylka.test"
    with schema_context(workspace.schema_name):
        services.add_domain("acme.example")
        message = Message.objects.create(subject="s", body_text="t")
        Client.objects.create(email="someone@example.com")
        now = timezone.localtime()
        data = {
            "name": "M",
            "message": message.pk,
            "audience": "all",
            "start_at": now.strftime("%Y-%m-%dT%H:%M"),
            "end_at": (now + timezone.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "periodicity": "once",
        }
        refused = MailingForm({**data, "from_email": "News <news@acme.example>"})
        assert not refused.is_valid() and "from_email" in refused.errors
        ok = MailingForm({**data, "from_email": "team@rassylka.test"})
        assert ok.is_valid(), ok.errors
        SendingDomain.objects.filter(name="acme.example").update(verified_at=timezone.now())
        assert MailingForm({**data, "from_email": "News <news@acme.example>"}).is_valid()


def test_dashboard_shows_the_monthly_quota_as_a_progress_bar(workspace, owner):
    from tenant_apps.senders import quotas

    workspace.messages_per_month = 200
    workspace.save(update_fields=["messages_per_month"])
    quotas.reserve(workspace, 50)
    page = host_client(workspace.host, owner).get("/").content.decode()
    assert "50 / 200" in page and 'aria-valuenow="25"' in page
