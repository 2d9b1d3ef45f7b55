"""The engine's ledger of agent-task calls: stages per task and abandonment deadlines, tick by tick."""

from __future__ import annotations

import itertools

import pytest

from eslbridge.callcenter.calls import AgentCalls, StageCounts


def test_a_call_moves_from_ringing_to_waiting_to_bridged_and_is_counted_per_task() -> None:
    calls = AgentCalls()
    calls.originated("a", "t1", 2.0)
    calls.originated("b", "t1", 2.0)
    calls.originated("c", "t2", 2.0)
    assert calls.counts("t1") == StageCounts(ringing=2) and calls.counts("t2") == StageCounts(ringing=1)
    calls.answered("a", 100.0)
    assert calls.counts("t1") == StageCounts(ringing=1, waiting=1)
    calls.bridged("a")
    assert calls.counts("t1") == StageCounts(ringing=1, bridged=1)
    calls.gone("a")
    calls.gone("b")
    assert calls.counts("t1") == StageCounts() and len(calls) == 1


def test_an_answered_call_without_an_agent_is_due_exactly_once_at_its_limit() -> None:
    calls = AgentCalls()
    calls.originated("a", "t1", 2.0)
    calls.answered("a", 100.0)
    assert calls.due(101.99) == []
    assert calls.due(102.0) == ["a"]
    assert calls.due(105.0) == []
    assert calls.stage("a") == "abandoned" and calls.counts("t1") == StageCounts()


def test_a_call_bridged_before_its_limit_is_never_due() -> None:
    calls = AgentCalls()
    calls.originated("a", "t1", 2.0)
    calls.answered("a", 100.0)
    calls.bridged("a")
    assert calls.due(200.0) == []


@pytest.mark.parametrize("order", list(itertools.permutations(["answer", "bridge", "gone"])))
def test_events_in_any_order_never_leave_a_call_counted(order: tuple[str, ...]) -> None:
    calls = AgentCalls()
    calls.originated("a", "t1", 2.0)
    for step in order:
        {"answer": lambda: calls.answered("a", 1.0), "bridge": lambda: calls.bridged("a"),
         "gone": lambda: calls.gone("a")}[step]()
    assert calls.counts("t1") == StageCounts() and calls.due(10.0) == [] and len(calls) == 0


def test_unknown_calls_are_ignored() -> None:
    calls = AgentCalls()
    calls.answered("x", 1.0)
    calls.bridged("x")
    calls.gone("x")
    assert calls.due(10.0) == [] and calls.task_of("x") is None
