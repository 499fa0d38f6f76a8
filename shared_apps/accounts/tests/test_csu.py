import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


def test_csu_creates_a_verified_superuser_from_settings(db, settings):
    settings.CSU_EMAIL = "Boss@Example.com"
    settings.CSU_PASSWORD = "a-long-secret-password"

    call_command("csu")

    user = get_user_model().objects.get(email="boss@example.com")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("a-long-secret-password")
    assert EmailAddress.objects.get(user=user).verified


def test_csu_run_twice_updates_instead_of_failing(db, settings):
    settings.CSU_EMAIL = "boss@example.com"
    settings.CSU_PASSWORD = "first-password-123"
    call_command("csu")
    settings.CSU_PASSWORD = "second-password-456"

    call_command("csu")

    users = get_user_model().objects.filter(email="boss@example.com")
    assert users.count() == 1
    assert users.get().check_password("second-password-456")
    assert EmailAddress.objects.filter(user=users.get()).count() == 1


def test_csu_without_email_and_without_terminal_is_a_clear_error(db, settings, monkeypatch):
    settings.CSU_EMAIL = ""
    settings.CSU_PASSWORD = ""
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    with pytest.raises(CommandError, match="CSU_EMAIL"):
        call_command("csu")


def test_csu_rejects_an_invalid_email(db):
    with pytest.raises(CommandError, match="Invalid email"):
        call_command("csu", email="not-an-email", password="whatever-123456")
    # Browser journeys commit users of their own, so look for this one only.
    assert not get_user_model().objects.filter(email="not-an-email").exists()
