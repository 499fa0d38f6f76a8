"""Unsubscribing from an email's link (RFC 8058 one-click), on the workspace host."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.factories import make_client
from tenant_apps.audience.models import Client
from tenant_apps.delivery.unsubscribe import list_unsubscribe_headers, make_token, unsubscribe_url


@pytest.fixture
def recipient(in_workspace):
    return make_client(full_name="Ivan")


def anonymous_browser(host="acme.localhost", **extra):
    """A visitor with no session who gets no CSRF help: like a mail provider's POST."""
    return DjangoClient(HTTP_HOST=host, enforce_csrf_checks=True, **extra)


def link_path(workspace, client_id, schema_name=None):
    return f"/u/{make_token(schema_name or workspace.schema_name, client_id)}/"


def reload(client):
    client.refresh_from_db()
    return client


def test_one_click_post_with_no_session_and_no_csrf_token_unsubscribes(workspace, recipient):
    before = timezone.now()

    response = anonymous_browser().post(link_path(workspace, recipient.pk), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    recipient = reload(recipient)
    assert recipient.is_subscribed is False
    assert before <= recipient.unsubscribed_at <= timezone.now()


def test_get_shows_a_confirmation_in_russian_and_changes_nothing(workspace, recipient):
    response = anonymous_browser().get(link_path(workspace, recipient.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Отписаться от этих писем?" in page
    assert recipient.email in page
    assert '<button type="submit" class="btn btn-danger">Отписаться</button>' in page
    recipient = reload(recipient)
    assert recipient.is_subscribed is True and recipient.unsubscribed_at is None


def test_confirmation_page_is_in_english_for_an_english_reader(workspace, recipient):
    response = anonymous_browser(HTTP_ACCEPT_LANGUAGE="en").get(link_path(workspace, recipient.pk))

    assert "Unsubscribe from these emails?" in response.content.decode()


def test_after_the_post_the_page_says_you_are_unsubscribed(workspace, recipient):
    response = anonymous_browser().post(link_path(workspace, recipient.pk), {"List-Unsubscribe": "One-Click"})

    assert "Вы отписались" in response.content.decode()


def test_forged_token_gets_400_and_changes_nothing(workspace, recipient):
    good = make_token(workspace.schema_name, recipient.pk)
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")

    for token in (forged, "not-a-token", "WyJ3c19hY21lIiwxXQ:1vXXXX:abc"):
        response = anonymous_browser().post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400
        assert "Ссылка для отписки не работает" in response.content.decode()

    assert reload(recipient).is_subscribed is True


def test_token_naming_another_workspace_is_refused_even_when_the_id_exists_here(workspace, recipient):
    # Same client id, signed for globex's schema: must not touch acme's client of that id.
    response = anonymous_browser().post(
        link_path(workspace, recipient.pk, schema_name="ws_globex"), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 404
    assert "Ссылка для отписки не работает" in response.content.decode()
    assert reload(recipient).is_subscribed is True


def test_link_of_another_workspaces_client_does_nothing_on_this_host(workspace, other_workspace):
    with schema_context(other_workspace.schema_name):
        stranger = make_client()
    token = make_token(other_workspace.schema_name, stranger.pk)

    response = anonymous_browser().post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    with schema_context(other_workspace.schema_name):
        assert Client.objects.get(pk=stranger.pk).is_subscribed is True


def test_link_of_a_deleted_client_gets_404(workspace, recipient):
    path = link_path(workspace, recipient.pk)
    recipient.delete()

    assert anonymous_browser().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 404


def test_unsubscribing_again_stays_unsubscribed_and_keeps_the_first_time(workspace, recipient):
    path = link_path(workspace, recipient.pk)
    first = timezone.now() - timedelta(days=3)
    with time_machine.travel(first, tick=False):
        anonymous_browser().post(path, {"List-Unsubscribe": "One-Click"})

    second = anonymous_browser().post(path, {"List-Unsubscribe": "One-Click"})

    assert second.status_code == 200
    recipient = reload(recipient)
    assert recipient.is_subscribed is False
    assert recipient.unsubscribed_at == first


def test_get_of_an_unsubscribed_client_says_so_and_changes_nothing(workspace, recipient):
    path = link_path(workspace, recipient.pk)
    anonymous_browser().post(path, {"List-Unsubscribe": "One-Click"})
    unsubscribed_at = reload(recipient).unsubscribed_at

    response = anonymous_browser().get(path)

    assert "Вы уже отписались" in response.content.decode()
    assert reload(recipient).unsubscribed_at == unsubscribed_at


def test_headers_of_a_message_carry_a_link_the_view_accepts(workspace, recipient):
    headers = list_unsubscribe_headers(unsubscribe_url(workspace.host, workspace.schema_name, recipient.pk))

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    value = headers["List-Unsubscribe"]
    assert value.startswith("<") and value.endswith(">")
    url = urlparse(value[1:-1])
    assert url.hostname == "acme.localhost" and url.path.startswith("/u/")
    # What a mail provider does with the headers (RFC 8058 section 3.2).
    response = anonymous_browser(host=url.netloc).post(
        url.path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert reload(recipient).is_subscribed is False


def test_resubscribing_needs_the_pages_csrf_token(workspace, recipient):
    path = link_path(workspace, recipient.pk)
    browser = anonymous_browser()
    browser.post(path, {"List-Unsubscribe": "One-Click"})

    refused = browser.post(path, {"action": "resubscribe"})
    assert refused.status_code == 403
    assert reload(recipient).is_subscribed is False

    page = browser.get(path)
    token = page.context["csrf_token"]
    accepted = browser.post(path, {"action": "resubscribe", "csrfmiddlewaretoken": str(token)})
    assert accepted.status_code == 200
    assert "Вы снова подписаны" in accepted.content.decode()
    recipient = reload(recipient)
    assert recipient.is_subscribed is True and recipient.unsubscribed_at is None


def test_other_methods_are_not_allowed(workspace, recipient):
    response = anonymous_browser().put(link_path(workspace, recipient.pk))

    assert response.status_code == 405
    assert reload(recipient).is_subscribed is True


def test_links_made_fast_for_a_run_are_the_tokens_make_token_makes(workspace):
    from tenant_apps.delivery.unsubscribe import UnsubscribeLinks

    links = UnsubscribeLinks(workspace.host, workspace.schema_name)
    for client_id in (1, 4321, 987_654):
        for _ in range(3):  # the tokens carry the second they were made: retry across a tick
            fast, slow = links.url(client_id), unsubscribe_url(workspace.host, workspace.schema_name, client_id)
            if fast.split(":")[1] == slow.split(":")[1]:
                break
        assert fast == slow


def test_fast_tokens_are_never_compressed_and_always_readable(workspace):
    from tenant_apps.delivery.unsubscribe import UnsubscribeLinks, read_token

    links = UnsubscribeLinks(workspace.host, workspace.schema_name)
    for client_id in (1, 10**12):  # make_token compresses the second one (zeros repeat)
        token = links.token(client_id)
        assert not token.startswith(".")
        assert read_token(token) == (workspace.schema_name, client_id)


def test_a_fast_link_unsubscribes_its_client(workspace, recipient):
    from tenant_apps.delivery.unsubscribe import UnsubscribeLinks

    url = UnsubscribeLinks(workspace.host, workspace.schema_name).url(recipient.pk)
    response = anonymous_browser().post(urlparse(url).path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert reload(recipient).is_subscribed is False
