"""`python manage.py start_sched [--tenant <slug> [--mailing ID]]`: send due mailings now.

With no arguments it sends every active workspace's due mailings; `--tenant`
narrows it to one workspace and `--mailing` to one of its mailings. `--all`
(the default) is still accepted, for scripts written before it was.

Runs in the foreground, in this process, through the same engine as the
huey workers (several of these and the consumers can share one run). Waits
for retries that fall due within --max-wait seconds, and stops sending at
that limit even mid-batch or mid-message (a slow server cannot hold it);
what is left stays pending for the consumer. Exits non-zero for an unknown workspace or
mailing (failed deliveries are reported in the summary, not as an error).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from tqdm import tqdm

from tenant_apps.campaigns.models import Mailing
from tenant_apps.delivery import engine, services
from tenant_apps.delivery.models import Delivery
from tenants.models import Workspace


class Command(BaseCommand):
    help = "Send the due mailings of every workspace (or of one, or one mailing) now, with a progress bar."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--tenant", metavar="SLUG", help="only this workspace (its address, the slug)")
        target.add_argument("--all", action="store_true", help="every active workspace (the default)")
        parser.add_argument("--mailing", type=int, metavar="ID", help="only this mailing (with --tenant)")
        parser.add_argument(
            "--max-wait",
            type=float,
            default=300.0,
            metavar="SECONDS",
            help="stop after this long (waiting for retries included), leaving the rest to the consumer",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["mailing"] and not options["tenant"]:
            raise CommandError("--mailing needs --tenant.")
        workspaces = self.workspaces(options)
        total = engine.Summary()
        deadline = time.monotonic() + options["max_wait"]
        for workspace in workspaces:
            with schema_context(workspace.schema_name):
                mailings = self.mailings(workspace, options["mailing"])
                for mailing in mailings:
                    total.add(self.send_mailing(workspace, mailing, deadline, options))
        self.stdout.write(
            f"sent: {total.sent}, failed: {total.failed}, retried: {total.retried}, skipped: {total.skipped}"
        )

    def workspaces(self, options):
        public = Workspace.objects.exclude(schema_name="public")
        if not options["tenant"]:
            return list(public.filter(is_active=True).order_by("slug"))
        workspace = public.filter(slug=options["tenant"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the address {options['tenant']!r}.")
        return [workspace]

    def mailings(self, workspace, mailing_id):
        queryset = Mailing.objects.user_made().select_related("message").order_by("pk")
        if mailing_id is None:
            return list(queryset)
        mailing = queryset.filter(pk=mailing_id).first()
        if mailing is None:
            raise CommandError(f"No mailing {mailing_id} in the workspace {workspace.slug!r}.")
        return [mailing]

    def send_mailing(self, workspace, mailing, deadline, options):
        summary = engine.Summary()
        if mailing.is_halted:
            services.prepare_due_runs(mailing, workspace=workspace)  # keeps the schedule index in step
            self.stdout.write(f"{workspace.slug} / mailing {mailing.pk} «{mailing.name}»: {inactive_note(mailing)}.")
            return summary
        runs = services.prepare_due_runs(mailing, workspace=workspace)
        if not runs:
            when = services.sync_schedule(mailing, workspace=workspace)
            note = f"next run at {timezone.localtime(when):%Y-%m-%d %H:%M}" if when else "nothing left to send"
            self.stdout.write(f"{workspace.slug} / mailing {mailing.pk} «{mailing.name}»: not due ({note}).")
            return summary
        for run in runs:
            run.mailing = mailing
            summary.add(self.send_run(workspace, run, deadline, options))
        services.sync_schedule(mailing, workspace=workspace)
        return summary

    def send_run(self, workspace, run, deadline, options):
        summary = engine.Summary()
        total = Delivery.objects.filter(run=run).count()
        done = Delivery.objects.filter(run=run).exclude(status__in=["pending", "sending"]).count()
        bar = tqdm(
            total=total,
            initial=done,
            desc=f"{workspace.slug} / {run.mailing.name}",
            unit="msg",
            disable=options["no_progress"],
            file=self.stderr._out,
        )
        with bar:
            while True:
                progress = engine.process_run(
                    run, workspace, stop_at=deadline, on_progress=lambda n: bar.update(n) if n else None
                )
                summary.add(progress.summary)
                bar.set_postfix(sent=summary.sent, failed=summary.failed, retried=summary.retried)
                if progress.state in ("done", "paused", "quota") or time.monotonic() >= deadline:
                    break
                wake = progress.wake_at or timezone.now()
                pause = max(0.0, min((wake - timezone.now()).total_seconds(), 2.0, deadline - time.monotonic()))
                time.sleep(pause)
                connection.close_if_unusable_or_obsolete()
        if progress.state != "done":
            left = Delivery.objects.filter(run=run, status__in=["pending", "sending"]).count()
            if progress.state == "paused":
                mailing = Mailing.objects.get(pk=run.mailing_id)
                self.stdout.write(f"run {run.pk}: {inactive_note(mailing)}; {left} deliveries wait.")
            else:
                self.stdout.write(f"run {run.pk}: {left} deliveries left for the consumer ({progress.state}).")
        return summary


def inactive_note(mailing):
    """Why a mailing is not sent, for the command's output."""
    if mailing.disabled_by_manager:
        return "disabled by a manager, nothing is sent (it cannot be resumed from the workspace)"
    if mailing.pause_reason == Mailing.PauseReason.SENDER_REFUSED:
        reply = mailing.pause_detail
        return f"paused: the mail provider refused the sender or the account ({reply}); resume it to send"
    if mailing.is_paused:
        return "paused, nothing is sent; resume it to send"
    return "active"
