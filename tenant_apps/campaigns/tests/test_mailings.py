"""Mailings: list, create, edit, view, delete, validation, time zones, pause and resume."""

from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from django.urls import reverse

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing


def url(name, *args):
    return reverse(f"campaigns:{name}", args=args)


def form_data(message, **overrides):
    """A valid-looking POST for the mailing form; `clients` may be given as a list of ids."""
    if isinstance(overrides.get("clients"), list):
        overrides["clients"] = ",".join(str(pk) for pk in overrides["clients"])
    data = {
        "name": "Winter news",
        "message": message.pk,
        "audience": "selected",
        "clients": "",
        "start_at": "2030-01-10T09:00",
        "end_at": "2030-01-10T18:00",
        "periodicity": "once",
    }
    return data | overrides


def errors_of(response):
    assert response.status_code == 200, "the form should be shown again with errors"
    return response.context["form"].errors


# --- create, view, list, edit, delete ---------------------------------------


def test_editor_creates_a_mailing_for_chosen_clients(editor_client, make_message, make_client):
    message = make_message()
    ann, bob = make_client(), make_client()

    response = editor_client.post(url("mailing_create"), form_data(message, clients=[ann.pk, bob.pk]))

    mailing = Mailing.objects.get(name="Winter news")
    assert response.status_code == 302
    assert response["Location"] == url("mailing_detail", mailing.pk)
    assert mailing.status == Mailing.Status.CREATED
    assert mailing.message == message
    assert set(mailing.clients.all()) == {ann, bob}
    assert (mailing.is_paused, mailing.disabled_by_manager) == (False, False)


def test_editor_creates_a_mailing_for_all_subscribed_clients(editor_client, make_message, make_client):
    make_client()

    response = editor_client.post(
        url("mailing_create"), form_data(make_message(), audience="all", periodicity="weekly")
    )

    mailing = Mailing.objects.get(name="Winter news")
    assert response.status_code == 302
    assert (mailing.audience, mailing.periodicity) == ("all", "weekly")
    assert mailing.clients.count() == 0


def test_the_engine_hears_of_a_new_mailing_with_its_recipients_already_saved(
    editor_client, make_message, make_client, django_capture_on_commit_callbacks
):
    ann = make_client()
    seen = []

    def engine_like_receiver(sender, instance, **kwargs):
        transaction.on_commit(lambda: seen.append(list(instance.clients.all())))

    post_save.connect(engine_like_receiver, sender=Mailing)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            editor_client.post(url("mailing_create"), form_data(make_message(), clients=[ann.pk]))
    finally:
        post_save.disconnect(engine_like_receiver, sender=Mailing)

    assert seen == [[ann]]


def test_mailing_page_shows_schedule_recipients_and_status(editor_client, make_mailing, make_client):
    ann = make_client(email="ann-detail@example.com")
    mailing = make_mailing(name="Detail me", audience="selected")
    mailing.clients.add(ann)

    response = editor_client.get(url("mailing_detail", mailing.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Detail me" in page and "ann-detail@example.com" in page
    assert response.context["recipient_count"] == 1
    assert f'data-testid="status-{mailing.pk}"' in page


def test_mailing_list_shows_status_badges(editor_client, make_mailing):
    created = make_mailing(name="Fresh")
    running = make_mailing(name="Going", status="running", is_paused=True)
    done = make_mailing(name="Over", status="completed", disabled_by_manager=True)
    editor_client.cookies["django_language"] = "en"

    response = editor_client.get(url("mailing_list"))

    page = response.content.decode()
    for mailing, badge in ((created, "created"), (running, "running"), (done, "completed")):
        assert f'data-testid="status-{mailing.pk}">{badge}</span>' in page
    assert ">paused</span>" in page
    assert ">disabled by a manager</span>" in page


def test_mailing_list_filters_by_status(editor_client, make_mailing):
    make_mailing(name="Fresh one")
    make_mailing(name="Done one", status="completed")

    response = editor_client.get(url("mailing_list") + "?status=completed")

    names = [m.name for m in response.context["page"].object_list]
    assert "Done one" in names and "Fresh one" not in names


def test_a_status_tab_without_mailings_says_so_and_links_back_to_all(editor_client, make_mailing):
    Mailing.objects.filter(status="running").delete()  # mailings committed by browser journeys; rolled back after
    make_mailing(name="Fresh one")

    page = editor_client.get(url("mailing_list") + "?status=running").content.decode()

    assert "Рассылок с таким статусом нет." in page
    assert "Создайте" not in page  # not "create the first": the workspace has mailings
    assert f'href="{url("mailing_list")}">Показать все рассылки' in page


def test_editor_edits_a_mailing(editor_client, make_mailing, make_message, make_client):
    mailing = make_mailing(audience="all")
    other_message = make_message(subject="Other")
    ann = make_client()

    response = editor_client.post(
        url("mailing_edit", mailing.pk),
        form_data(other_message, name="Renamed", clients=[ann.pk], periodicity="monthly"),
    )

    mailing.refresh_from_db()
    assert response.status_code == 302
    assert (mailing.name, mailing.message, mailing.periodicity, mailing.audience) == (
        "Renamed",
        other_message,
        "monthly",
        "selected",
    )
    assert list(mailing.clients.all()) == [ann]


def test_edit_form_lists_the_chosen_clients_without_listing_every_client(editor_client, make_mailing, make_client):
    chosen = make_client(email="chosen-one@example.com")
    make_client(email="not-chosen@example.com")
    mailing = make_mailing(audience="selected")
    mailing.clients.add(chosen)

    page = editor_client.get(url("mailing_edit", mailing.pk)).content.decode()

    assert "chosen-one@example.com" in page
    assert f'type="hidden" name="clients" value="{chosen.pk}"' in page
    assert "not-chosen@example.com" not in page
    assert "<select multiple" not in page


def test_thousands_of_chosen_clients_fit_in_one_post_field(editor_client, make_message):
    clients = Client.objects.bulk_create(Client(email=f"bulk-{n}@example.com") for n in range(1500))

    response = editor_client.post(url("mailing_create"), form_data(make_message(), clients=[c.pk for c in clients]))

    assert response.status_code == 302  # not 400: Django allows 1,000 fields per request
    assert Mailing.objects.get(name="Winter news").clients.count() == 1500


@pytest.mark.parametrize("garbled", ["{pk},x", "{pk},-3", "{pk},99999999999999999999", "{pk};{pk}"])
def test_garbled_client_ids_are_a_clear_error(editor_client, make_message, make_client, garbled):
    editor_client.cookies["django_language"] = "en"
    clients = garbled.format(pk=make_client().pk)

    response = editor_client.post(url("mailing_create"), form_data(make_message(), clients=clients))

    assert errors_of(response)["clients"] == ["The chosen clients could not be read; choose them again."]
    assert not Mailing.objects.filter(name="Winter news").exists()


def test_delete_asks_for_confirmation_then_deletes(editor_client, make_mailing):
    mailing = make_mailing()

    assert editor_client.get(url("mailing_delete", mailing.pk)).status_code == 200
    assert Mailing.objects.filter(pk=mailing.pk).exists()
    response = editor_client.post(url("mailing_delete", mailing.pk))

    assert response["Location"] == url("mailing_list")
    assert not Mailing.objects.filter(pk=mailing.pk).exists()


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize("end", ["2030-01-10T08:00", "2030-01-10T09:00"])
def test_end_must_be_after_start(editor_client, make_message, make_client, end):
    editor_client.cookies["django_language"] = "en"
    data = form_data(make_message(), end_at=end, clients=[make_client().pk])

    response = editor_client.post(url("mailing_create"), data)

    assert errors_of(response)["end_at"] == ["The end must be after the start."]
    assert not Mailing.objects.filter(name="Winter news").exists()


def test_end_in_the_past_is_refused_for_a_new_mailing(editor_client, make_message, make_client):
    editor_client.cookies["django_language"] = "en"
    data = form_data(make_message(), start_at="2020-01-01T09:00", end_at="2020-01-02T09:00", clients=[make_client().pk])

    response = editor_client.post(url("mailing_create"), data)

    assert errors_of(response)["end_at"] == ["The end is in the past: nothing would be sent."]
    assert not Mailing.objects.filter(name="Winter news").exists()


def test_a_message_is_required(editor_client, make_message, make_client):
    editor_client.cookies["django_language"] = "en"
    data = form_data(make_message(), clients=[make_client().pk]) | {"message": ""}

    response = editor_client.post(url("mailing_create"), data)

    assert errors_of(response)["message"] == ["Choose the message to send."]


def test_chosen_recipients_must_not_be_empty(editor_client, make_message):
    editor_client.cookies["django_language"] = "en"

    response = editor_client.post(url("mailing_create"), form_data(make_message(), clients=[]))

    assert errors_of(response)["clients"] == ["Choose at least one client."]
    assert not Mailing.objects.filter(name="Winter news").exists()


def test_chosen_recipients_must_include_a_subscribed_client(editor_client, make_message, make_client):
    editor_client.cookies["django_language"] = "en"
    gone = make_client(subscribed=False)

    response = editor_client.post(url("mailing_create"), form_data(make_message(), clients=[gone.pk]))

    assert errors_of(response)["clients"] == ["None of the chosen clients is subscribed."]


def test_all_clients_needs_at_least_one_subscribed_client(editor_client, make_message, only_unsubscribed_clients):
    editor_client.cookies["django_language"] = "en"

    response = editor_client.post(url("mailing_create"), form_data(make_message(), audience="all"))

    assert errors_of(response)["audience"] == ["There are no subscribed clients yet: add clients first."]
    assert not Mailing.objects.filter(name="Winter news").exists()


def test_invalid_mailing_edit_changes_nothing(editor_client, make_mailing, make_message):
    mailing = make_mailing(name="Keep me", audience="all")

    response = editor_client.post(
        url("mailing_edit", mailing.pk), form_data(make_message(), name="Changed", end_at="2030-01-01T00:00")
    )

    mailing.refresh_from_db()
    assert "end_at" in errors_of(response)
    assert mailing.name == "Keep me"


# --- time zones ------------------------------------------------------------------


def test_times_are_entered_in_the_workspace_time_zone(editor_client, workspace, make_message, make_client):
    workspace.time_zone = "Asia/Tokyo"  # UTC+9, no daylight saving
    workspace.save()

    editor_client.post(url("mailing_create"), form_data(make_message(), clients=[make_client().pk]))

    mailing = Mailing.objects.get(name="Winter news")
    assert mailing.start_at == datetime(2030, 1, 10, 0, 0, tzinfo=UTC)
    assert mailing.end_at == datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


def test_times_are_shown_in_the_workspace_time_zone(editor_client, workspace, make_mailing):
    workspace.time_zone = "America/New_York"  # UTC-5 in January
    workspace.save()
    mailing = make_mailing(start_at=datetime(2030, 1, 10, 15, 30, tzinfo=UTC))
    editor_client.cookies["django_language"] = "en"

    form_page = editor_client.get(url("mailing_edit", mailing.pk)).content.decode()
    detail_page = editor_client.get(url("mailing_detail", mailing.pk)).content.decode()

    assert 'value="2030-01-10T10:30"' in form_page
    assert "America/New_York" in form_page
    assert "10 Jan 2030, 10:30" in detail_page


def test_same_input_means_different_instants_in_different_workspace_zones(
    editor_client, workspace, make_message, make_client
):
    message, client = make_message(), make_client()
    for zone, name in (("Europe/Moscow", "Moscow"), ("UTC", "Utc")):
        workspace.time_zone = zone
        workspace.save()
        editor_client.post(url("mailing_create"), form_data(message, name=name, clients=[client.pk]))

    moscow, utc = Mailing.objects.get(name="Moscow"), Mailing.objects.get(name="Utc")
    assert utc.start_at - moscow.start_at == datetime(2030, 1, 1, 3, tzinfo=UTC) - datetime(2030, 1, 1, tzinfo=UTC)


def test_a_time_that_does_not_exist_in_the_workspace_zone_is_a_form_error(
    editor_client, workspace, make_message, make_client
):
    workspace.time_zone = "America/New_York"  # clocks jump from 02:00 to 03:00 on 10 March 2030
    workspace.save()

    response = editor_client.post(
        url("mailing_create"),
        form_data(make_message(), start_at="2030-03-10T02:30", end_at="2030-03-11T09:00", clients=[make_client().pk]),
    )

    assert "start_at" in errors_of(response)
    assert not Mailing.objects.filter(name="Winter news").exists()


# --- status, pause, manager's disable ------------------------------------------------


def test_users_cannot_set_status_pause_or_manager_disable_through_the_form(
    editor_client, make_mailing, make_message, make_client
):
    mailing = make_mailing(audience="all", disabled_by_manager=True)
    make_client()

    response = editor_client.post(
        url("mailing_edit", mailing.pk),
        form_data(make_message(), audience="all", status="completed", is_paused="on", disabled_by_manager=""),
    )

    mailing.refresh_from_db()
    assert response.status_code == 302
    assert mailing.status == "created"
    assert mailing.is_paused is False
    assert mailing.disabled_by_manager is True


def test_editing_a_completed_mailing_with_a_later_end_makes_it_pending_again(editor_client, make_mailing, make_client):
    mailing = make_mailing(audience="all", status="completed")
    make_client()

    editor_client.post(
        url("mailing_edit", mailing.pk), form_data(mailing.message, audience="all", end_at="2031-01-01T00:00")
    )

    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CREATED


def test_editing_a_finished_mailing_without_moving_its_end_keeps_it_completed(editor_client, make_mailing, make_client):
    mailing = make_mailing(
        audience="all",
        status="completed",
        start_at=datetime(2020, 1, 1, tzinfo=UTC),
        end_at=datetime(2020, 1, 2, tzinfo=UTC),
    )
    make_client()
    editor_client.get(url("mailing_edit", mailing.pk))  # the form shows the stored times back

    response = editor_client.post(
        url("mailing_edit", mailing.pk),
        form_data(
            mailing.message,
            name="Renamed archive",
            audience="all",
            start_at="2020-01-01T03:00",
            end_at="2020-01-02T03:00",
        ),
    )

    mailing.refresh_from_db()
    assert response.status_code == 302
    assert (mailing.name, mailing.status) == ("Renamed archive", "completed")


def test_editor_pauses_and_resumes_a_mailing(editor_client, make_mailing):
    mailing = make_mailing(status="running")

    editor_client.post(url("mailing_pause", mailing.pk))
    mailing.refresh_from_db()
    assert mailing.is_paused is True

    editor_client.post(url("mailing_resume", mailing.pk))
    mailing.refresh_from_db()
    assert mailing.is_paused is False


def test_pause_is_offered_while_there_is_something_to_send_but_not_once_completed(editor_client, make_mailing):
    running = make_mailing(status="running")
    completed = make_mailing(status="completed")

    running_page = editor_client.get(url("mailing_detail", running.pk)).content.decode()
    completed_page = editor_client.get(url("mailing_detail", completed.pk)).content.decode()

    assert url("mailing_pause", running.pk) in running_page
    assert url("mailing_pause", completed.pk) not in completed_page


def test_pause_and_resume_are_post_only(editor_client, make_mailing):
    mailing = make_mailing()

    assert editor_client.get(url("mailing_pause", mailing.pk)).status_code == 405
    assert editor_client.get(url("mailing_resume", mailing.pk)).status_code == 405


def test_a_mailing_disabled_by_a_manager_cannot_be_resumed_by_the_workspace(editor_client, make_mailing):
    mailing = make_mailing(status="running", is_paused=True, disabled_by_manager=True)
    editor_client.cookies["django_language"] = "en"

    response = editor_client.post(url("mailing_resume", mailing.pk), follow=True)

    mailing.refresh_from_db()
    assert (mailing.is_paused, mailing.disabled_by_manager) == (True, True)
    flashes = [str(m) for m in response.context["messages"]]
    assert flashes == ["A manager has disabled this mailing; it cannot be resumed."]


def test_a_disabled_mailing_page_says_so_and_offers_no_resume(editor_client, make_mailing):
    mailing = make_mailing(is_paused=True, disabled_by_manager=True)

    page = editor_client.get(url("mailing_detail", mailing.pk)).content.decode()
    form_page = editor_client.get(url("mailing_edit", mailing.pk)).content.decode()

    assert 'data-testid="disabled-notice"' in page
    assert url("mailing_resume", mailing.pk) not in page
    assert "disabled_by_manager" not in form_page


def test_a_mailing_the_engine_paused_shows_the_providers_reply_and_resuming_clears_it(editor_client, make_mailing):
    detail = "MAIL FROM: 553 5.7.1 sender address rejected"
    mailing = make_mailing(status="running", is_paused=True, pause_reason="sender_refused", pause_detail=detail)
    editor_client.cookies["django_language"] = "en"

    page = editor_client.get(url("mailing_detail", mailing.pk)).content.decode()

    assert 'data-testid="pause-reason"' in page and detail in page
    assert "the mail provider refused the sender or the account" in page
    assert url("mailing_resume", mailing.pk) in page

    editor_client.post(url("mailing_resume", mailing.pk))
    mailing.refresh_from_db()
    assert (mailing.is_paused, mailing.pause_reason, mailing.pause_detail) == (False, "", "")
    assert 'data-testid="pause-reason"' not in editor_client.get(url("mailing_detail", mailing.pk)).content.decode()


def test_a_mailing_paused_by_a_person_shows_no_provider_reason(editor_client, make_mailing):
    mailing = make_mailing(status="running", is_paused=True)

    page = editor_client.get(url("mailing_detail", mailing.pk)).content.decode()

    assert 'data-testid="pause-reason"' not in page


# --- recipient search -------------------------------------------------------------------


def test_client_search_finds_by_email_or_name(editor_client, make_client):
    make_client(email="zed-search@example.com", full_name="Olga Smirnova")
    make_client(email="olga.k-search@example.com")
    make_client(email="nobody-search@example.com")

    by_name = editor_client.get(url("client_search"), {"q": "smirnova"}).json()
    by_email = editor_client.get(url("client_search"), {"q": "OLGA"}).json()

    assert [c["email"] for c in by_name["results"]] == ["zed-search@example.com"]
    assert by_name["results"][0] == {
        "id": by_name["results"][0]["id"],
        "email": "zed-search@example.com",
        "name": "Olga Smirnova",
        "subscribed": True,
    }
    assert [c["email"] for c in by_email["results"]] == ["olga.k-search@example.com", "zed-search@example.com"]


def test_client_search_with_a_nul_character_answers_instead_of_failing(editor_client, make_client):
    make_client(email="nul-search@example.com")

    response = editor_client.get(url("client_search"), {"q": "nul-search\x00"})

    assert response.status_code == 200  # PostgreSQL refuses NUL in a query: it was a 500
    assert [c["email"] for c in response.json()["results"]] == ["nul-search@example.com"]


def test_client_search_is_paginated_and_limited(editor_client, make_client):
    for n in range(45):
        make_client(email=f"paged-{n:02d}@example.com")

    first = editor_client.get(url("client_search"), {"q": "paged-"}).json()
    third = editor_client.get(url("client_search"), {"q": "paged-", "page": 3}).json()
    nonsense = editor_client.get(url("client_search"), {"q": "paged-", "page": "x"}).json()

    assert len(first["results"]) == 20 and first["has_more"] is True
    assert first["results"][0]["email"] == "paged-00@example.com"
    assert [c["email"] for c in third["results"]] == [f"paged-{n}@example.com" for n in range(40, 45)]
    assert third["has_more"] is False
    assert nonsense["page"] == 1


def test_saving_a_form_read_before_the_engine_or_a_manager_acted_keeps_their_changes(
    in_workspace, make_mailing, make_client
):
    from tenant_apps.campaigns import services
    from tenant_apps.campaigns.forms import MailingForm

    mailing = make_mailing(audience="all")
    make_client()
    form = MailingForm(form_data(mailing.message, audience="all", name="Edited"), instance=mailing)
    assert form.is_valid(), form.errors
    Mailing.objects.filter(pk=mailing.pk).update(status="running", is_paused=True, disabled_by_manager=True)

    services.save_mailing(form)

    mailing.refresh_from_db()
    # (The status, too, is taken fresh; after the save the engine derives it again from its runs.)
    assert (mailing.name, mailing.is_paused, mailing.disabled_by_manager) == ("Edited", True, True)


def test_resume_checks_the_current_manager_decision_not_the_one_read_earlier(in_workspace, make_mailing):
    from tenant_apps.campaigns import services

    mailing = make_mailing(status="running", is_paused=True)
    Mailing.objects.filter(pk=mailing.pk).update(disabled_by_manager=True)  # a manager, meanwhile

    with pytest.raises(services.ActionRefused):
        services.resume_mailing(mailing)

    mailing.refresh_from_db()
    assert mailing.is_paused is True
