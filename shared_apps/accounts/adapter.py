from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from saas.links import absolute_url
from saas.mail import queue_email

from .services import language_after_sign_in, remember_language

SITE_NAME = "Rassylka"


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Render the allauth email as usual, but send it through the queue."""
        # allauth's own send_mail adds `current_site`; its templates greet with
        # its name ("Hello from …!"), which was empty without it.
        context = {"email": email, "current_site": site_identity(), **links_from_site_url(context)}
        message = self.render_mail(template_prefix, email, context)
        queue_email(message)

    def post_login(self, request, user, **kwargs):
        """Signing in keeps a language picked in the footer just before (saving it to
        the profile); otherwise it switches to the profile's language."""
        response = super().post_login(request, user, **kwargs)
        return remember_language(response, language_after_sign_in(request, user))


def links_from_site_url(context):
    """allauth builds its links (password reset, sign-up) from the request; rebuild them from SITE_URL.

    The path and query stay; scheme, host and port come from the one setting,
    as for every other absolute link (the request's port is wrong behind a proxy).
    """
    rebuilt = dict(context)
    for key, value in context.items():
        if key.endswith("_url") and isinstance(value, str):
            parts = urlsplit(value)
            if parts.scheme and parts.netloc:
                rebuilt[key] = absolute_url(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))
    return rebuilt


def site_identity():
    """What allauth's email templates call the site: the product's name and the public domain."""
    return SimpleNamespace(name=SITE_NAME, domain=settings.BASE_DOMAIN)
