"""Provider webhooks on the public host: /hooks/<provider>/<workspace token>/.

Open to the providers (no session, no CSRF token): each request proves itself
with its signature or credentials. The view only checks and enqueues; the
consumer records the events in the workspace's schema. Answers: 200 with how
many events were queued; 401 bad signature; 400 malformed body; 404 unknown
provider, workspace token or a provider the workspace has not set up; 405
not a POST; 413 body over FEEDBACK_WEBHOOK_MAX_BYTES. Nothing is recorded
unless it is 200.
"""

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenant_apps.feedback.tasks import confirm_sns_subscription, receive_webhook_events

from . import providers
from .services import workspace_for_hook_token

PROVIDERS = ("ses", "sendgrid", "mailgun", "postmark")


def check_payload(provider, body, request, feedback):
    workspace_id = feedback.workspace_id
    if provider == "sendgrid":
        return providers.sendgrid(body, request.headers, feedback.sendgrid_public_key, workspace_id)
    if provider == "mailgun":
        return providers.mailgun(body, feedback.mailgun_signing_key, workspace_id)
    if provider == "postmark":
        return providers.postmark(
            body,
            request.headers.get("Authorization", ""),
            feedback.postmark_username,
            feedback.postmark_password,
            workspace_id,
        )
    return providers.ses(body, feedback.ses_topic_arn, workspace_id)


@csrf_exempt
@require_POST
def provider_hook(request, provider, token):
    """Providers only (signed): bounces and complaints for the workspace the token names."""
    if provider not in PROVIDERS:
        raise Http404
    feedback = workspace_for_hook_token(token)
    if feedback is None:
        raise Http404
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.FEEDBACK_WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.body
    if len(body) > settings.FEEDBACK_WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": "payload too large"}, status=413)
    try:
        result = check_payload(provider, body, request, feedback)
    except providers.WebhookError as error:
        return JsonResponse({"error": str(error)}, status=error.status)
    except (AttributeError, TypeError, KeyError, ValueError):  # signed, but not shaped as the provider's events
        return JsonResponse({"error": "unexpected payload"}, status=400)
    if result.subscribe_url:
        confirm_sns_subscription(result.subscribe_url)
    if result.events:
        receive_webhook_events(feedback.workspace_id, [event.as_dict() for event in result.events])
    return JsonResponse({"queued": len(result.events)})
