"""The managers' console on the public site: read-only lists and two toggles.

Every view is for managers (see access.console_view): anonymous visitors are
sent to sign in, other signed-in users get 404. Scoped managers see only the
workspaces they oversee; the users page is for full managers only.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tenant_apps.campaigns.models import Mailing
from tenants.access import MANAGERS_GROUP

from . import lists, services
from .access import console_view, visible_workspace_or_404, visible_workspaces
from .forms import ClientSearchForm, MailingFilterForm, UserSearchForm, WorkspaceQuotaForm

PER_PAGE = 50
# The index lists count at most this many matches (a COUNT over a LIMIT, so a page
# never counts a million rows); past it the page says "more than" and the filters narrow.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self):
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self):
        return self.count > self.cap


def paginate(request, rows, paginator=Paginator):
    return paginator(rows, PER_PAGE).get_page(request.GET.get("page"))


def safe_next(request, default):
    """The list a toggle was pressed on (same host only), else `default`'s URL."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)


def back_to(request, default):
    """Where a toggle returns: the list it was pressed on."""
    return redirect(safe_next(request, default))


@console_view()
@require_GET
def workspaces(request):
    """Managers and scoped managers: the workspaces they oversee."""
    page = paginate(request, visible_workspaces(request.user).order_by("name", "slug"))
    return render(request, "public/console/workspaces.html", {"page": page})


@console_view()
def workspace_quotas(request, slug):
    """Managers and scoped managers (their workspaces only): a workspace's quotas, weight and usage."""
    from tenant_apps.senders.quotas import message_usage

    workspace = visible_workspace_or_404(request.user, slug)
    initial = {
        "messages_per_month": workspace.messages_per_month,
        "clients_max": workspace.clients_max,
        "plan_weight": workspace.plan_weight,
    }
    form = WorkspaceQuotaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_workspace_quotas(workspace, **form.cleaned_data)
        messages.success(request, _("Quotas of %(workspace)s saved.") % {"workspace": workspace.name})
        return redirect("console:workspaces")
    context = {"form": form, "workspace": workspace, "usage": message_usage(workspace)}
    return render(request, "public/console/quotas.html", context, status=400 if form.errors else 200)


@console_view()
@require_GET
def mailings(request):
    """Managers and scoped managers: every mailing of the workspaces they oversee."""
    form = MailingFilterForm(request.GET, workspaces=visible_workspaces(request.user))
    page = None
    if form.is_valid():
        rows = lists.mailings(
            request.user,
            workspace=form.selected_workspace(),
            status=form.cleaned_data["status"],
            name=form.cleaned_data["name"],
        )
        page = paginate(request, rows, CappedPaginator)
    return render(request, "public/console/mailings.html", {"form": form, "page": page})


@console_view()
@require_GET
def confirm_disable_mailing(request, slug, mailing_id):
    """Managers and scoped managers (their workspaces only): "disable this mailing?" (changes nothing)."""
    workspace = visible_workspace_or_404(request.user, slug)
    try:
        mailing = services.mailing_in(workspace, mailing_id)
    except Mailing.DoesNotExist:
        raise Http404 from None
    context = {
        "workspace": workspace,
        "mailing": mailing,
        "refusal": services.disable_refusal(mailing),
        "next": safe_next(request, "console:mailings"),
    }
    return render(request, "public/console/confirm_disable_mailing.html", context)


@console_view()
@require_POST
def disable_mailing(request, slug, mailing_id):
    """Managers and scoped managers (their workspaces only): stop a mailing from sending."""
    return _set_mailing_disabled(request, slug, mailing_id, disabled=True)


@console_view()
@require_POST
def enable_mailing(request, slug, mailing_id):
    """Managers and scoped managers (their workspaces only): let a mailing send again."""
    return _set_mailing_disabled(request, slug, mailing_id, disabled=False)


def _set_mailing_disabled(request, slug, mailing_id, *, disabled):
    workspace = visible_workspace_or_404(request.user, slug)
    try:
        mailing = services.set_mailing_disabled(workspace, mailing_id, disabled)
    except Mailing.DoesNotExist:
        raise Http404 from None
    except services.ConsoleActionRefused as refusal:
        messages.error(request, str(refusal))
        return back_to(request, "console:mailings")
    if disabled:
        text = _("Mailing “%(name)s” in %(workspace)s is disabled.")
    else:
        text = _("Mailing “%(name)s” in %(workspace)s is enabled again.")
    messages.success(request, text % {"name": mailing.name, "workspace": workspace.name})
    return back_to(request, "console:mailings")


@console_view()
@require_GET
def clients(request):
    """Managers and scoped managers: the clients of the workspaces they oversee (read only)."""
    form = ClientSearchForm(request.GET, workspaces=visible_workspaces(request.user))
    page = None
    if form.is_valid():
        rows = lists.clients(request.user, workspace=form.selected_workspace(), email=form.cleaned_data["email"])
        page = paginate(request, rows, CappedPaginator)
    return render(request, "public/console/clients.html", {"form": form, "page": page})


@console_view(managers_only=True)
@require_GET
def users(request):
    """Managers only (not scoped ones): every user, with block/unblock."""
    form = UserSearchForm(request.GET)
    in_managers = Group.objects.filter(name=MANAGERS_GROUP, user=OuterRef("pk"))
    people = get_user_model().objects.annotate(is_in_managers=Exists(in_managers)).order_by("email")
    if form.is_valid() and form.cleaned_data["q"]:
        query = form.cleaned_data["q"]
        people = people.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    return render(request, "public/console/users.html", {"form": form, "page": paginate(request, people)})


@console_view(managers_only=True)
@require_GET
def confirm_block_user(request, user_id):
    """Managers only: "block this user?" (changes nothing)."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    context = {
        "person": person,
        "refusal": services.block_refusal(person, by=request.user),
        "next": safe_next(request, "console:users"),
    }
    return render(request, "public/console/confirm_block_user.html", context)


@console_view(managers_only=True)
@require_POST
def block_user(request, user_id):
    """Managers only: block a user (not themselves, not a superuser) and end their sessions."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    try:
        services.block_user(person, by=request.user)
    except services.ConsoleActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("%(email)s is blocked and signed out everywhere.") % {"email": person.email})
    return back_to(request, "console:users")


@console_view(managers_only=True)
@require_POST
def unblock_user(request, user_id):
    """Managers only: let a blocked user sign in again."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    services.unblock_user(person)
    messages.success(request, _("%(email)s may sign in again.") % {"email": person.email})
    return back_to(request, "console:users")
