"""The subscriber's pages on the workspace host: anyone, no sign-in (OPEN_WORKSPACE_PATHS).

/f/<slug>/          the hosted sign-up form, where it and pasted snippets post, and (?done=…) the thank-you
/f/confirm/<token>/ the double opt-in link (a button, so mail scanners that open links confirm nothing)
/p/<token>/         the preference centre (the token of the message's unsubscribe link)
"""

from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt

from tenant_apps.delivery.unsubscribe import UnsubscribeLinkError, client_for_token
from tenant_apps.engagement.classify import agent_family, network_of
from tenant_apps.engagement.endpoints import client_ip

from . import subscriptions
from .models import SubscriptionForm


def noindex(response):
    response["X-Robots-Tag"] = "noindex"
    return response


def page(request, form, *, signup=None, error="", status=200):
    context = {
        "subscription_form": form,
        "definitions": subscriptions.shown_definitions(form),
        "signup": signup or subscriptions.SignUp(),
        "error": error,
        "honeypot": subscriptions.HONEYPOT,
    }
    return noindex(render(request, "tenant/forms/page.html", context, status=status))


OUTCOMES = ("confirm", "subscribed")


def done(form, outcome):
    """After a post: the owner's thank-you page, or ours (Post/Redirect/Get: a reload posts nothing again)."""
    target = subscriptions.thank_you_redirect(form)
    if target:
        return HttpResponseRedirect(target, status=303)
    return HttpResponseRedirect(f"{reverse('subscribe', args=[form.slug])}?done={outcome}", status=303)


# Posted from other sites (the pasted snippet): no CSRF token can be there. A post only ever
# creates an unconfirmed sign-up; the honeypot and the Redis limits keep floods out.
@csrf_exempt
def subscribe(request, slug):
    """Workspace host, anyone: GET the hosted form of a public list; POST a sign-up (from it or a snippet)."""
    form = get_object_or_404(
        SubscriptionForm.objects.select_related("mailing_list"), slug=slug, mailing_list__is_public=True
    )
    if request.method in ("GET", "HEAD"):
        if request.GET.get("done") in OUTCOMES:
            context = {"subscription_form": form, "outcome": request.GET["done"]}
            return noindex(render(request, "tenant/forms/done.html", context))
        return page(request, form)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.POST.get(subscriptions.HONEYPOT):  # a bot: it is told all went well, and nothing is made
        return done(form, "confirm" if form.mailing_list.double_opt_in else "subscribed")
    _address, network = network_of(client_ip(request))
    if not subscriptions.within_post_limits(form, network):
        return page(request, form, error="limited", status=429)
    signup = subscriptions.clean_post(form, request.POST)
    if signup.errors:
        return page(request, form, signup=signup, status=400)
    visitor = subscriptions.Visitor(
        network=network,
        user_agent_family=agent_family(request.META.get("HTTP_USER_AGENT", "")[:512]),
        language=get_language() or "",
    )
    try:
        outcome = subscriptions.accept(form, signup, visitor)
    except subscriptions.Refused as refusal:
        return page(request, form, signup=signup, error=str(refusal), status=403)
    return done(form, outcome)


def confirm(request, token):
    """Workspace host, anyone holding the link from the confirmation email: GET asks, POST confirms."""
    try:
        client, issued = subscriptions.client_for_confirm_token(token)
    except subscriptions.ConfirmLinkError as error:
        reason = str(error)
        return noindex(render(request, "tenant/forms/confirm.html", {"invalid": reason}, status=400))
    if request.method == "POST":
        confirmed = subscriptions.confirm(client, issued)
        context = {"client": client, "confirmed": confirmed, "used": not confirmed}
        return noindex(render(request, "tenant/forms/confirm.html", context))
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return noindex(render(request, "tenant/forms/confirm.html", {"client": client}))


def preferences(request, token):
    """Workspace host, anyone holding a message's signed link: the public lists, their name, leaving everything."""
    try:
        client = client_for_token(token, request.tenant.schema_name)
    except UnsubscribeLinkError as error:
        reason = str(error)
        status = 400 if reason == "forged" else 404
        return noindex(render(request, "tenant/unsubscribe/invalid.html", {"reason": reason}, status=status))
    saved = error = False
    if request.method == "POST":
        full_name = (request.POST.get("full_name") or "").strip()
        chosen = {int(value) for value in request.POST.getlist("lists") if value.isdigit()}
        if len(full_name) > subscriptions.MAX_NAME or "\x00" in full_name:
            error = True
        else:
            subscriptions.save_preferences(client, chosen, full_name)
            saved = True
    elif request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    context = {
        "client": client,
        "token": token,
        "choices": subscriptions.preference_lists(client),
        "saved": saved,
        "error": error,
    }
    return noindex(render(request, "tenant/forms/preferences.html", context, status=400 if error else 200))
