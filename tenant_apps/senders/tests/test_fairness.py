"""Smooth weighted round robin between workspaces' runs, shared through Redis."""

from collections import Counter

from tenant_apps.senders import fairness


def picks(n):
    return [fairness.pick() for _ in range(n)]


def test_equal_weights_alternate_between_workspaces():
    fairness.register("big", 1)
    fairness.register("small", 7)
    order = [schema for schema, _run in picks(6)]
    assert sorted(order[:2]) == ["big", "small"]
    assert all(a != b for a, b in zip(order, order[1:], strict=False))


def test_weights_share_batches_in_proportion_and_interleaved():
    fairness.register("gold", 1, weight=3)
    fairness.register("free", 2, weight=1)
    order = [schema for schema, _run in picks(40)]
    assert Counter(order) == {"gold": 30, "free": 10}
    assert "free" in order[:4]  # interleaved: the light workspace is not left waiting for the heavy one


def test_runs_of_one_workspace_take_turns_within_its_share():
    fairness.register("acme", 1)
    fairness.register("acme", 2)
    fairness.register("other", 3)
    acme_runs = [run for schema, run in picks(8) if schema == "acme"]
    assert acme_runs == [1, 2, 1, 2]


def test_unregistered_run_is_no_longer_picked_and_an_empty_workspace_drops_out():
    fairness.register("a", 1)
    fairness.register("b", 2)
    fairness.unregister("b", 2)
    assert {schema for schema, _run in picks(4)} == {"a"}
    fairness.unregister("a", 1)
    assert fairness.pick() is None


def test_registering_twice_keeps_one_entry():
    fairness.register("a", 1)
    fairness.register("a", 1)
    assert fairness.registered_count() == 1
