from allauth.account.adapter import DefaultAccountAdapter

from saas.mail import queue_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Render the allauth email as usual, but send it through the queue."""
        message = self.render_mail(template_prefix, email, context)
        queue_email(message)
