"""What a manager can change: a mailing's "disabled" flag, and a user's block.

Both are reusable outside the console (the accounts app may block users too).
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery import services as delivery


class ConsoleActionRefused(Exception):
    """A manager asked for something that is not allowed; the message says why."""


def mailing_in(workspace, mailing_id):
    """One mailing of `workspace` (read inside its schema). Raises Mailing.DoesNotExist."""
    with schema_context(workspace.schema_name):
        return Mailing.objects.user_made().get(pk=mailing_id)


def disable_refusal(mailing):
    """Why `mailing` cannot be disabled (a completed one has nothing left to stop), or None."""
    if mailing.status == Mailing.Status.COMPLETED and not mailing.disabled_by_manager:
        return _("This mailing is completed: there is nothing left to stop.")
    return None


def set_mailing_disabled(workspace, mailing_id, disabled):
    """Disable (or re-enable) a mailing inside its workspace's schema.

    The delivery hand-off then takes the mailing out of (or back into) the
    schedule index, stops (or resumes) its run and recounts the home page's
    figures. Raises Mailing.DoesNotExist for an unknown id, and
    ConsoleActionRefused for disabling a completed mailing.
    """
    with schema_context(workspace.schema_name), transaction.atomic():
        mailing = Mailing.objects.user_made().select_for_update(of=("self",)).get(pk=mailing_id)
        refusal = disable_refusal(mailing) if disabled else None
        if refusal:
            raise ConsoleActionRefused(refusal)
        if mailing.disabled_by_manager != disabled:
            mailing.disabled_by_manager = disabled
            mailing.save(update_fields=["disabled_by_manager", "updated"])
            delivery.mailing_changed(mailing)
        return mailing


def block_user(user, *, by=None):
    """Block `user`: no sign-in any more, and every open session ends now.

    `by` is the manager doing it: nobody blocks themselves, and superusers
    cannot be blocked this way (they would lock the service out of itself).
    """
    refusal = block_refusal(user, by=by)
    if refusal:
        raise ConsoleActionRefused(refusal)
    with transaction.atomic():
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        end_sessions_of(user)


def block_refusal(user, *, by=None):
    """Why `by` may not block `user`, or None."""
    if by is not None and by.pk == user.pk:
        return _("You cannot block yourself.")
    if user.is_superuser:
        return _("A superuser cannot be blocked.")
    return None


def unblock_user(user):
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])


def end_sessions_of(user):
    """Delete every stored session of `user` (public and workspace hosts alike).

    Sessions live in the database (django.contrib.sessions' db backend, in
    the public schema); a session row does not record its user, so the live
    ones are decoded in chunks and the matching rows deleted in one query.
    Signed-cookie sessions could not be ended this way; an inactive user is
    refused by the auth backend on the next request in any case.
    """
    user_id = str(user.pk)
    live = Session.objects.filter(expire_date__gt=timezone.now()).only("session_key", "session_data")
    keys = [session.session_key for session in live.iterator(chunk_size=2000) if _session_user_id(session) == user_id]
    if keys:
        Session.objects.filter(session_key__in=keys).delete()
    return len(keys)


def _session_user_id(session):
    return str(session.get_decoded().get(SESSION_KEY, ""))


def set_workspace_quotas(workspace, *, messages_per_month, clients_max, plan_weight):
    """Change a workspace's quotas and weight; runs stopped at the quota resume when there is room again."""
    from tenant_apps.senders.quotas import resume_runs_stopped_by_quota

    workspace.messages_per_month = messages_per_month
    workspace.clients_max = clients_max
    workspace.plan_weight = plan_weight
    workspace.save(update_fields=["messages_per_month", "clients_max", "plan_weight"])
    resume_runs_stopped_by_quota(workspace)
    return workspace
