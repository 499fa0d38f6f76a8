"""Every email leaves through the queue, so no page ever waits on the provider.

`queue_email` stores the message in the task; the huey consumer sends it
with retries. Campaign mail has its own engine (tenant_apps.delivery); this is
for single transactional messages: verification codes, invitations, tests.
"""

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from huey.contrib.djhuey import task


@task(retries=5, retry_delay=30)
def send_email_task(subject, body, from_email, to, alternatives=(), headers=None):
    message = EmailMultiAlternatives(subject, body, from_email, list(to), headers=headers or {})
    for content, mimetype in alternatives:
        message.attach_alternative(content, mimetype)
    message.send()


def queue_email(message):
    """Enqueue a built EmailMessage once the current transaction commits."""
    payload = {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "alternatives": [(str(c), m) for c, m in getattr(message, "alternatives", [])],
        "headers": dict(message.extra_headers),
    }
    transaction.on_commit(lambda: send_email_task(**payload))
