from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


def mark_email_verified(user):
    """Record the user's email as verified and primary (for users made by commands)."""
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])


def has_verified_email(user):
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def end_all_sessions(user):
    """Sign `user` out everywhere: delete every stored session that belongs to them.

    Sessions of the public site and of every workspace host live in the public
    schema's session table. The table does not index the user, so this decodes
    the unexpired sessions; fine for a rare, explicit action.
    """
    user_id = str(user.pk)
    ended = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == user_id
    ]
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def remember_language(response, language):
    """Apply the interface language on this host from the next response on (the cookie LocaleMiddleware reads)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def save_language(user, language):
    """Keep a supported interface language in the profile; anything else changes nothing."""
    if language in dict(settings.LANGUAGES) and language != user.language:
        user.language = language
        user.save(update_fields=["language"])


# The session key holding a language picked in the footer before signing in.
CHOSEN_LANGUAGE_KEY = "chosen_language"


def remember_chosen_language(request, language: str) -> None:
    """A visitor (not signed in) picked `language`: keep it for when they sign in."""
    if language in dict(settings.LANGUAGES):
        request.session[CHOSEN_LANGUAGE_KEY] = language


def language_after_sign_in(request, user) -> str:
    """The language to use once `user` signed in: the one they picked just before
    (then saved to their profile), else their profile's."""
    chosen = request.session.pop(CHOSEN_LANGUAGE_KEY, None)
    if chosen:
        save_language(user, chosen)
    return user.language
