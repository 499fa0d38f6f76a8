"""The footer's language switcher also keeps a signed-in user's choice in the profile."""

from django.urls import reverse

PASSWORD = "correct-horse-battery-staple"


def switch(client, language, next_path="/"):
    return client.post("/i18n/setlang/", {"language": language, "next": next_path})


def test_switcher_posts_to_the_view_that_saves_the_choice(public_client):
    page = public_client.get("/").content.decode()

    assert reverse("set_language", urlconf="saas.urls_public") == "/i18n/setlang/"
    assert 'action="/i18n/setlang/"' in page


def test_signed_in_user_switching_saves_the_language_in_the_profile(public_client, user_factory):
    user = user_factory(language="ru")
    public_client.force_login(user)

    response = switch(public_client, "en", "/profile/")

    assert response.status_code == 302 and response.url == "/profile/"
    assert response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert user.language == "en"


def test_next_sign_in_keeps_the_language_chosen_in_the_footer(public_client, user_factory):
    user = user_factory(email="switcher@example.com", password=PASSWORD, language="ru")
    public_client.force_login(user)
    switch(public_client, "en")
    public_client.post("/accounts/logout/")
    public_client.cookies.pop("django_language")

    response = public_client.post("/accounts/login/", {"login": "switcher@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert "Sign out" in public_client.get("/profile/").content.decode()


def test_anonymous_visitor_switching_changes_no_profile(public_client, user_factory):
    user = user_factory(language="ru")

    response = switch(public_client, "en")

    assert response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert user.language == "ru"


def test_unsupported_language_changes_nothing(public_client, user_factory):
    user = user_factory(language="ru")
    public_client.force_login(user)

    response = switch(public_client, "zz")

    assert response.status_code == 302
    assert "django_language" not in response.cookies
    user.refresh_from_db()
    assert user.language == "ru"


def test_switching_on_a_workspace_host_saves_it_too(workspace, member_factory, workspace_client):
    member = member_factory(workspace, "viewer", language="ru")
    workspace_client.force_login(member)

    response = switch(workspace_client, "en", "/clients/")

    assert response.status_code == 302 and response.url == "/clients/"
    member.refresh_from_db()
    assert member.language == "en"


def test_switcher_answers_post_only(public_client):
    assert public_client.get("/i18n/setlang/").status_code == 405


def sign_in(client, email):
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD})


def test_language_picked_before_signing_in_is_kept_and_saved_to_the_profile(public_client, user_factory):
    user = user_factory(email="picker@example.com", password=PASSWORD, language="ru")
    switch(public_client, "en", "/accounts/login/")

    response = sign_in(public_client, "picker@example.com")

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    assert "Sign out" in public_client.get("/workspaces/").content.decode()


def test_without_a_pick_signing_in_applies_the_profile_language(public_client, user_factory):
    user_factory(email="english@example.com", password=PASSWORD, language="en")

    response = sign_in(public_client, "english@example.com")

    assert response.cookies["django_language"].value == "en"


def test_a_pick_counts_for_one_sign_in_only(public_client, user_factory):
    user_factory(email="first@example.com", password=PASSWORD, language="ru")
    second = user_factory(email="second@example.com", password=PASSWORD, language="ru")
    switch(public_client, "en")
    sign_in(public_client, "first@example.com")
    public_client.post("/accounts/logout/")

    response = sign_in(public_client, "second@example.com")

    assert response.cookies["django_language"].value == "ru"
    second.refresh_from_db()
    assert second.language == "ru"
