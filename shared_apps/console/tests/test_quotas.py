"""Managers set a workspace's quotas and sending weight in the console."""

import pytest

pytestmark = pytest.mark.django_db


def test_manager_changes_a_workspaces_quotas(console_client, workspace):
    response = console_client.post(
        f"/console/workspaces/{workspace.slug}/quotas/",
        {"messages_per_month": "5000", "clients_max": "", "plan_weight": "3"},
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.messages_per_month, workspace.clients_max, workspace.plan_weight) == (5000, None, 3)


def test_bad_values_are_refused_and_change_nothing(console_client, workspace):
    response = console_client.post(
        f"/console/workspaces/{workspace.slug}/quotas/",
        {"messages_per_month": "-1", "clients_max": "x", "plan_weight": "0"},
    )
    assert response.status_code == 400
    workspace.refresh_from_db()
    assert (workspace.messages_per_month, workspace.clients_max, workspace.plan_weight) == (None, None, 1)


def test_scoped_manager_cannot_reach_another_workspaces_quotas(public_client, scoped_manager, other_workspace):
    public_client.force_login(scoped_manager)
    assert public_client.get(f"/console/workspaces/{other_workspace.slug}/quotas/").status_code == 404


def test_workspace_member_cannot_use_the_quota_page(public_client, member_factory, workspace):
    public_client.force_login(member_factory(workspace))
    assert public_client.get(f"/console/workspaces/{workspace.slug}/quotas/").status_code == 404
