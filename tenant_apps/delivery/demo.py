"""Demo delivery history for `make run` (seed_demo): a completed mailing with a real report.

The rows are those the engine writes (one run, a delivery per client, an
attempt per try), dated yesterday, so the report, its chart and the attempt
log are filled on a fresh machine without sending anything.
"""

from datetime import datetime, timedelta

from tenant_apps.audience.models import Client
from tenant_apps.campaigns.models import Mailing

from . import counters, services
from .models import Attempt, Delivery, Run

# Two recipients the demo provider refuses: one for good, one after a temporary failure.
REFUSED = {
    2: [(451, False, "4.7.1 Try again later: greylisted"), (550, True, "5.1.1 <{email}>: Recipient address rejected")],
    11: [(550, True, "5.7.1 <{email}>: Message rejected as spam")],
}


def add_demo_report(mailing: Mailing, started: datetime) -> Run:
    """Record a finished run of `mailing` at `started`: sent, refused and skipped deliveries with their attempts.

    Then hands the mailing to the delivery service as every service saving a
    mailing does: its status settles (completed), its schedule entry goes, the
    home page's figures count it.
    """
    run = Run.objects.create(
        mailing=mailing,
        scheduled_for=started,
        status=Run.Status.DONE,
        started_at=started,
        finished_at=started + timedelta(minutes=20),
        deadline=mailing.end_at,
    )
    attempts = []
    for number, client in enumerate(Client.objects.order_by("email"), start=1):
        at = started + timedelta(seconds=20 * number)
        if not client.is_subscribed:
            Delivery.objects.create(run=run, client=client, email=client.email, status=Delivery.Status.SKIPPED)
            continue
        tries = REFUSED.get(number, [(250, False, "2.0.0 Ok: queued as {queue_id}")])
        delivery = Delivery.objects.create(
            run=run,
            client=client,
            email=client.email,
            status=Delivery.Status.SENT if tries[-1][0] == 250 else Delivery.Status.FAILED,
            attempt_count=len(tries),
            finished_at=at + timedelta(minutes=10 * (len(tries) - 1)),
        )
        for n, (code, permanent, text) in enumerate(tries):
            attempts.append(
                Attempt(
                    delivery=delivery,
                    at=at + timedelta(minutes=10 * n),
                    status=Attempt.Status.SUCCESS if code == 250 else Attempt.Status.FAILURE,
                    smtp_code=code,
                    response=text.format(email=client.email, queue_id=f"4F{number:04d}DEMO"),
                    permanent=permanent,
                )
            )
        delivery.last_response = attempts[-1].response
        delivery.save(update_fields=["last_response"])
    Attempt.objects.bulk_create(attempts)
    counters.recount_mailing(mailing.pk)  # rows written here, not by the engine: counted by the repair
    services.mailing_changed(mailing)
    return run
