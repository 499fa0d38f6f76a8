"""One definition of "active mailing": the model property, the queryset and the home page's SQL agree."""

import datetime
import itertools

import pytest
from django.utils import timezone

from shared_apps.landing.models import WorkspaceStats
from shared_apps.landing.stats import recount_workspace
from tenant_apps.campaigns.models import Mailing, Message

pytestmark = pytest.mark.django_db

COMBINATIONS = list(itertools.product(Mailing.Status.values, (False, True), (False, True)))


@pytest.fixture
def every_kind(in_workspace):
    """One mailing per (status, paused, disabled)."""
    message = Message.objects.create(subject="s", body_text="b")
    start = timezone.now() + datetime.timedelta(days=1)
    return Mailing.objects.bulk_create(
        Mailing(
            name=f"{status} paused={paused} disabled={disabled}",
            message=message,
            start_at=start,
            end_at=start + datetime.timedelta(days=1),
            status=status,
            is_paused=paused,
            disabled_by_manager=disabled,
        )
        for status, paused, disabled in COMBINATIONS
    )


def test_only_a_running_mailing_neither_paused_nor_disabled_is_active(every_kind):
    active = [m.name for m in every_kind if m.is_active]

    assert active == ["running paused=False disabled=False"]
    assert [m.name for m in Mailing.objects.active()] == active


def test_a_paused_or_disabled_mailing_is_halted_whatever_its_status(every_kind):
    assert {m.name for m in every_kind if m.is_halted} == {
        m.name for m in every_kind if m.is_paused or m.disabled_by_manager
    }


def test_the_home_pages_count_uses_the_same_definition(every_kind, in_workspace):
    recount_workspace(in_workspace.pk, in_workspace.schema_name)

    stats = WorkspaceStats.objects.get(workspace=in_workspace)
    assert (stats.mailings_total, stats.mailings_active) == (len(COMBINATIONS), Mailing.objects.active().count())
    assert stats.mailings_active == 1
