"""The console never contradicts itself and asks before it blocks or disables."""

from .helpers import public_url


def test_disabled_running_mailing_is_shown_as_disabled_not_running(console_client, workspace, make_mailing):
    make_mailing(workspace, "stopped one", status="running", disabled_by_manager=True)

    response = console_client.get(public_url("console:mailings"), {"name": "stopped one"})

    html = response.content.decode()
    assert 'data-testid="shown-status">отключена<' in html
    assert "выполняется" not in html.split('data-testid="console-mailings"')[1]


def test_completed_mailing_offers_no_disable(console_client, workspace, make_mailing):
    done = make_mailing(workspace, "all done", status="completed")

    html = console_client.get(public_url("console:mailings"), {"name": "all done"}).content.decode()

    assert public_url("console:confirm_disable_mailing", "acme", done.pk) not in html
    assert 'data-testid="disable"' not in html


def test_disabling_a_completed_mailing_is_refused_with_a_message(
    console_client, workspace, make_mailing, reload_mailing
):
    done = make_mailing(workspace, "finished", status="completed")

    response = console_client.post(public_url("console:disable_mailing", "acme", done.pk), follow=True)

    assert reload_mailing(workspace, done.pk).disabled_by_manager is False
    assert "завершена" in str(list(response.context["messages"])[0])


def test_disable_button_leads_to_a_confirmation_that_changes_nothing(
    console_client, workspace, make_mailing, reload_mailing
):
    mailing = make_mailing(workspace, "ask first")
    back = public_url("console:mailings") + "?name=ask+first"
    confirm_url = public_url("console:confirm_disable_mailing", "acme", mailing.pk)

    listing = console_client.get(back).content.decode()
    confirmation = console_client.get(confirm_url, {"next": back})

    assert confirm_url in listing
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "ask first" in page and public_url("console:disable_mailing", "acme", mailing.pk) in page
    assert f'name="next" value="{back}"' in page
    assert reload_mailing(workspace, mailing.pk).disabled_by_manager is False


def test_confirmed_disable_disables_and_returns_to_the_list(console_client, workspace, make_mailing, reload_mailing):
    mailing = make_mailing(workspace, "confirmed")
    back = public_url("console:mailings") + "?name=confirmed"

    response = console_client.post(public_url("console:disable_mailing", "acme", mailing.pk), {"next": back})

    assert response.url == back
    assert reload_mailing(workspace, mailing.pk).disabled_by_manager is True


def test_confirmation_of_a_completed_mailing_explains_instead_of_offering_the_button(
    console_client, workspace, make_mailing
):
    done = make_mailing(workspace, "over", status="completed")

    page = console_client.get(public_url("console:confirm_disable_mailing", "acme", done.pk)).content.decode()

    assert 'data-testid="refusal"' in page
    assert f'action="{public_url("console:disable_mailing", "acme", done.pk)}"' not in page


def test_confirmation_never_links_off_site(console_client, workspace, make_mailing):
    mailing = make_mailing(workspace, "safe")

    response = console_client.get(
        public_url("console:confirm_disable_mailing", "acme", mailing.pk), {"next": "https://evil.example/"}
    )

    page = response.content.decode()
    assert 'href="https://evil.example/"' not in page and 'name="next" value="https://evil.example/"' not in page
    assert response.context["next"] == public_url("console:mailings")


def test_confirmation_of_an_unknown_mailing_gets_404(console_client):
    assert console_client.get(public_url("console:confirm_disable_mailing", "acme", 987654321)).status_code == 404


def test_block_button_leads_to_a_confirmation_that_changes_nothing(console_client, user_factory):
    person = user_factory(email="maybe@example.com")
    confirm_url = public_url("console:confirm_block_user", person.pk)

    listing = console_client.get(public_url("console:users"), {"q": "maybe"}).content.decode()
    confirmation = console_client.get(confirm_url)

    assert confirm_url in listing
    page = confirmation.content.decode()
    assert "maybe@example.com" in page and public_url("console:block_user", person.pk) in page
    person.refresh_from_db()
    assert person.is_active is True


def test_confirmation_to_block_oneself_explains_instead_of_offering_the_button(console_client, manager):
    page = console_client.get(public_url("console:confirm_block_user", manager.pk)).content.decode()

    assert 'data-testid="refusal"' in page
    assert f'action="{public_url("console:block_user", manager.pk)}"' not in page


def test_console_pages_carry_no_inline_script(console_client, workspace, make_mailing, user_factory):
    mailing = make_mailing(workspace, "scripts")
    person = user_factory(email="noscript@example.com")

    for url in (
        public_url("console:confirm_disable_mailing", "acme", mailing.pk),
        public_url("console:confirm_block_user", person.pk),
    ):
        html = console_client.get(url).content.decode()
        assert "<script>" not in html and " onclick=" not in html and " onsubmit=" not in html
