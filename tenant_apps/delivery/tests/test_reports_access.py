"""Who may see the reports, and that another workspace's mailings stay out of reach."""

import uuid

import pytest
from django_tenants.utils import schema_context

from saas.factories import make_attempt, make_delivery, make_mailing, make_manager, make_run
from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery.models import Run


@pytest.fixture
def mailing(in_workspace):
    mailing = make_mailing(name="Acme news")
    make_attempt(make_delivery(make_run(mailing), "sent"))
    return mailing


def report_urls(mailing):
    return ["/delivery/", f"/delivery/mailings/{mailing.pk}/", f"/delivery/mailings/{mailing.pk}/?status=failure"]


@pytest.fixture
def manager(db):
    return make_manager()


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_every_member_sees_the_reports(mailing, workspace, workspace_client, member_factory, role):
    workspace_client.force_login(member_factory(workspace, role))

    for url in report_urls(mailing):
        response = workspace_client.get(url)
        assert response.status_code == 200, url
        assert "Acme news" in response.content.decode()


def test_manager_sees_the_reports(mailing, workspace_client, manager):
    workspace_client.force_login(manager)

    for url in report_urls(mailing):
        assert workspace_client.get(url).status_code == 200, url


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_reports_only_read_even_for_a_manager(mailing, workspace_client, manager, method):
    workspace_client.force_login(manager)
    before = Mailing.objects.filter(pk=mailing.pk).values().get()

    for url in report_urls(mailing):
        assert getattr(workspace_client, method)(url).status_code == 405, url

    assert Mailing.objects.filter(pk=mailing.pk).values().get() == before


def test_report_pages_offer_no_form_that_changes_anything(mailing, workspace, workspace_client, member_factory):
    workspace_client.force_login(member_factory(workspace, "owner"))

    for url in report_urls(mailing):
        page = workspace_client.get(url).content.decode()
        # Only the footer's language switcher posts; report forms are GET filters.
        assert page.count('method="post"') == 1, url
        assert 'action="/i18n/setlang/" method="post"' in page


def test_non_member_gets_404(mailing, workspace_client, user_factory):
    workspace_client.force_login(user_factory())

    for url in report_urls(mailing):
        assert workspace_client.get(url).status_code == 404, url


def test_anonymous_visitor_is_sent_to_sign_in(mailing, workspace_client):
    for url in report_urls(mailing):
        response = workspace_client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.fixture
def globex_mailing(other_workspace):
    """A mailing and a run in globex with ids acme does not use, so a 404 means isolation, not a missing id."""
    big_id = 10**9 + uuid.uuid4().int % 10**6  # acme's sequences never get there
    with schema_context(other_workspace.schema_name):
        mailing = make_mailing(pk=big_id, name="Globex secret plan")
        run = make_run(mailing, pk=big_id)
        make_attempt(make_delivery(run, "failed"), status="failure", response="globex-only response")
    return mailing, run


def test_another_workspaces_mailing_is_404_on_this_host(
    mailing, globex_mailing, workspace, workspace_client, member_factory
):
    globex, globex_run = globex_mailing
    assert not Mailing.objects.filter(pk=globex.pk).exists()
    assert not Run.objects.filter(pk=globex_run.pk).exists()
    workspace_client.force_login(member_factory(workspace, "owner"))

    assert workspace_client.get(f"/delivery/mailings/{globex.pk}/").status_code == 404
    assert workspace_client.get(f"/delivery/mailings/{globex.pk}/", {"status": "failure"}).status_code == 404


def test_another_workspaces_run_cannot_filter_this_log(
    mailing, globex_mailing, workspace, workspace_client, member_factory
):
    _, globex_run = globex_mailing
    workspace_client.force_login(member_factory(workspace, "owner"))

    response = workspace_client.get(f"/delivery/mailings/{mailing.pk}/", {"run": globex_run.pk})

    assert response.status_code == 200
    assert response.context["log"] is None
    assert "globex-only response" not in response.content.decode()


def test_workspace_report_shows_nothing_of_another_workspace(
    mailing, globex_mailing, workspace, workspace_client, member_factory
):
    workspace_client.force_login(member_factory(workspace, "owner"))

    response = workspace_client.get("/delivery/")

    page = response.content.decode()
    assert "Acme news" in page and "Globex secret" not in page
    assert sum(response.context["series"]["failure"]) == 0  # globex's failure is not in acme's chart


def test_globex_member_cannot_open_acme_reports(mailing, other_workspace, workspace_client, member_factory):
    workspace_client.force_login(member_factory(other_workspace, "owner"))

    for url in report_urls(mailing):
        assert workspace_client.get(url).status_code == 404, url


def test_report_and_unsubscribe_pages_send_and_queue_nothing(
    mailing, workspace, workspace_client, member_factory, mailoutbox, django_capture_on_commit_callbacks
):
    from saas.factories import make_client
    from tenant_apps.delivery.unsubscribe import make_token

    workspace_client.force_login(member_factory(workspace, "owner"))
    token = make_token(workspace.schema_name, make_client().pk)

    # queue_email() sends after commit: run those callbacks too, and expect none.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for url in report_urls(mailing):
            workspace_client.get(url)
        workspace_client.get(f"/u/{token}/")
        workspace_client.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert callbacks == []
    assert mailoutbox == []


def test_user_given_oversight_of_this_workspace_sees_the_reports(mailing, workspace, workspace_client, user_factory):
    from guardian.shortcuts import assign_perm

    overseer = user_factory()
    assign_perm("oversee_workspace", overseer, workspace)
    workspace_client.force_login(overseer)

    for url in report_urls(mailing):
        assert workspace_client.get(url).status_code == 200, url
