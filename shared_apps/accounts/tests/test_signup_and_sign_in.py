"""Sign-up with email verification by code, sign-in, sign-out (allauth, email only)."""

import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from .conftest import PASSWORD, code_in

User = get_user_model()


def test_sign_up_sends_a_code_and_confirming_it_signs_in(public_client, sign_up, send_mail_now):
    response, message = sign_up("new.person@example.com")

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert message.to == ["new.person@example.com"]
    assert not public_client.get("/profile/").wsgi_request.user.is_authenticated

    response = public_client.post("/accounts/confirm-email/", {"code": code_in(message)})

    assert response.status_code == 302 and response["Location"] == "/workspaces/"
    user = User.objects.get(email="new.person@example.com")
    assert EmailAddress.objects.get(user=user).verified
    assert public_client.get("/workspaces/").wsgi_request.user == user


def test_sign_up_page_uses_the_site_layout_in_russian(public_client):
    page = public_client.get("/accounts/signup/").content.decode()

    assert "bootstrap.min.css" in page
    assert 'class="form-control' in page
    assert "Регистрация" in page


def test_wrong_code_is_refused_and_does_not_verify(public_client, sign_up):
    sign_up("wrong.code@example.com")

    response = public_client.post("/accounts/confirm-email/", {"code": "AAAA-AAAA"})

    assert response.status_code == 200
    assert "Неверный код" in response.content.decode() or "Incorrect code" in response.content.decode()
    assert not EmailAddress.objects.get(email="wrong.code@example.com").verified
    assert not response.wsgi_request.user.is_authenticated


def test_expired_code_is_refused(public_client, sign_up):
    with time_machine.travel("2030-01-01 12:00:00", tick=False):
        _, message = sign_up("slow.person@example.com")
    with time_machine.travel("2030-01-01 12:30:00", tick=False):
        response = public_client.post("/accounts/confirm-email/", {"code": code_in(message)}, follow=True)

    assert not EmailAddress.objects.get(email="slow.person@example.com").verified
    assert not response.wsgi_request.user.is_authenticated


def test_duplicate_email_does_not_create_a_second_account(public_client, sign_up, user_factory):
    user_factory(email="taken@example.com")

    response, message = sign_up("Taken@Example.com")

    # allauth does not reveal that the address exists; the owner gets a notice instead.
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert message is not None and message.to == ["taken@example.com"]
    assert "already" in message.body.lower() or "уже" in message.body.lower()


def test_weak_password_is_refused_with_a_message(public_client, sign_up):
    response, message = sign_up("weak@example.com", password="12345678")

    assert response.status_code == 200
    errors = response.context["form"].errors["password1"]
    assert errors
    assert not User.objects.filter(email="weak@example.com").exists()
    assert message is None


def test_mismatched_passwords_are_refused(public_client, sign_up):
    response, _ = sign_up("typo@example.com", password2="something-else-entirely")

    assert response.status_code == 200
    assert not User.objects.filter(email="typo@example.com").exists()


def test_unverified_user_cannot_sign_in_but_gets_a_new_code(public_client, sign_up, send_mail_now):
    with time_machine.travel("2030-01-01 12:00:00"):
        sign_up("unverified@example.com", client=type(public_client)(HTTP_HOST="localhost"))
    sent_before = len(mail.outbox)

    with time_machine.travel("2030-01-01 12:05:00"):
        response = send_mail_now(
            lambda: public_client.post("/accounts/login/", {"login": "unverified@example.com", "password": PASSWORD})
        )

        assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
        assert len(mail.outbox) == sent_before + 1
        assert not public_client.get("/workspaces/").wsgi_request.user.is_authenticated


def test_sign_in_and_sign_out(public_client, user_factory):
    user = user_factory(email="regular@example.com", password=PASSWORD)

    response = public_client.post("/accounts/login/", {"login": "regular@example.com", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/workspaces/"
    assert public_client.get("/workspaces/").wsgi_request.user == user

    response = public_client.post("/accounts/logout/")

    assert response.status_code == 302
    assert not public_client.get("/").wsgi_request.user.is_authenticated


def test_wrong_password_is_refused(public_client, user_factory):
    user_factory(email="regular@example.com", password=PASSWORD)

    response = public_client.post("/accounts/login/", {"login": "regular@example.com", "password": "nope-nope-nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not response.wsgi_request.user.is_authenticated


def test_repeated_failed_sign_ins_are_rate_limited(public_client, user_factory):
    user_factory(email="target@example.com", password=PASSWORD)
    for _ in range(5):
        public_client.post("/accounts/login/", {"login": "target@example.com", "password": "guess-guess-guess"})

    # Even the right password is refused for a while after too many failures.
    response = public_client.post("/accounts/login/", {"login": "target@example.com", "password": PASSWORD})

    assert not response.wsgi_request.user.is_authenticated
    text = response.content.decode()
    assert "Слишком много" in text or "Too many" in text


def test_signing_in_applies_the_profile_language(public_client, user_factory):
    user_factory(email="english@example.com", password=PASSWORD, language="en")

    response = public_client.post("/accounts/login/", {"login": "english@example.com", "password": PASSWORD})

    assert response.cookies["django_language"].value == "en"
    assert "My workspaces" in public_client.get("/workspaces/").content.decode()


def test_sign_in_with_next_to_a_workspace_lands_on_the_workspace(public_client, workspace, member_factory):
    user = member_factory(workspace, "editor", password=PASSWORD)
    # Where the workspace host sends an anonymous visitor of acme.localhost/.
    first = type(public_client)(HTTP_HOST="acme.localhost").get("/")
    login_url = first["Location"].removeprefix("http://localhost")
    assert login_url.startswith("/accounts/login/?next=%2Fopen%2Facme%2F")

    signed_in = public_client.post(login_url, {"login": user.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/open/acme/?next=%2F"
    handoff = public_client.get(signed_in["Location"])
    assert handoff["Location"].startswith("http://acme.localhost/handoff/?token=")
    acme = type(public_client)(HTTP_HOST="acme.localhost")
    landed = acme.get(handoff["Location"].removeprefix("http://acme.localhost"), follow=True)

    assert landed.status_code == 200
    assert landed.wsgi_request.path == "/"
    assert landed.wsgi_request.user == user


def test_password_reset_by_emailed_link(public_client, user_factory, send_mail_now):
    user_factory(email="forgetful@example.com", password=PASSWORD)

    send_mail_now(lambda: public_client.post("/accounts/password/reset/", {"email": "forgetful@example.com"}))
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/accounts/password/reset/key/" in line)
    path = link.strip().split("localhost", 1)[1]
    form_page = public_client.get(path, follow=True)
    response = public_client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": "brand-new-passphrase-77", "password2": "brand-new-passphrase-77"},
    )

    assert response.status_code == 302
    assert User.objects.get(email="forgetful@example.com").check_password("brand-new-passphrase-77")


def test_password_reset_with_a_forged_key_says_so(public_client, user_factory):
    user_factory(email="forgetful@example.com", password=PASSWORD)

    response = public_client.get("/accounts/password/reset/key/1-forged-key/", follow=True)

    assert response.context["token_fail"]
    assert User.objects.get(email="forgetful@example.com").check_password(PASSWORD)


def test_change_password(public_client, user_factory):
    user = user_factory(password=PASSWORD)
    public_client.force_login(user)

    response = public_client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "another-long-phrase-91", "password2": "another-long-phrase-91"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-phrase-91")


def test_change_password_with_a_wrong_current_password_is_refused(public_client, user_factory):
    user = user_factory(password=PASSWORD)
    public_client.force_login(user)

    response = public_client.post(
        "/accounts/password/change/",
        {"oldpassword": "not-it-at-all", "password1": "another-long-phrase-91", "password2": "another-long-phrase-91"},
    )

    assert response.status_code == 200 and response.context["form"].errors["oldpassword"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_email_is_verified_before_it_takes_effect(public_client, user_factory, send_mail_now):
    user = user_factory(email="old@example.com", password=PASSWORD)
    public_client.force_login(user)

    response = send_mail_now(
        lambda: public_client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})
    )

    assert response.status_code == 302
    assert mail.outbox[-1].to == ["new@example.com"]
    user.refresh_from_db()
    assert user.email == "old@example.com"

    public_client.post("/accounts/confirm-email/", {"code": code_in(mail.outbox[-1])})

    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert EmailAddress.objects.get(user=user, primary=True).email == "new@example.com"


def test_change_email_to_an_address_in_use_does_not_take_it(public_client, user_factory, send_mail_now):
    other = user_factory(email="someone@example.com")
    user = user_factory(email="me@example.com")
    public_client.force_login(user)

    # allauth does not reveal that the address is taken; the change just never happens.
    send_mail_now(lambda: public_client.post("/accounts/email/", {"action_add": "", "email": "someone@example.com"}))

    user.refresh_from_db()
    assert user.email == "me@example.com"
    assert not EmailAddress.objects.filter(user=user, email="someone@example.com").exists()
    assert EmailAddress.objects.get(email="someone@example.com").user == other


def test_verification_email_names_the_site(sign_up):
    _response, message = sign_up("greeted@example.com")

    assert "Rassylka" in message.body.splitlines()[0]
    assert " !" not in message.body and "сайте ." not in message.body
