from allauth.account.adapter import DefaultAccountAdapter

from saas.mail import queue_email

from .services import remember_language


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Render the allauth email as usual, but send it through the queue."""
        message = self.render_mail(template_prefix, email, context)
        queue_email(message)

    def post_login(self, request, user, **kwargs):
        """Signing in switches the interface to the language chosen in the profile."""
        response = super().post_login(request, user, **kwargs)
        return remember_language(response, user.language)
