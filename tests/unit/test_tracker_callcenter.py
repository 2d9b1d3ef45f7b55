"""The tracker on recorded mod_callcenter calls: queued, bridged to an agent, or abandoned (status 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.causes import Status
from eslbridge.esl.protocol import FrameReader, parse_event
from eslbridge.tracker import Attempt, Fact, apply, fact_from_event
from tests.conftest import CAPTURES


def facts_of(name: str, kind: str = "queued") -> tuple[str, list[Fact]]:
    """The facts of the recording's (first) call that has a fact of ``kind``."""
    reader = FrameReader()
    reader.receive_data((CAPTURES / f"{name}.recv.raw").read_bytes())
    facts = [f for f in (fact_from_event(parse_event(fr)) for fr in reader if fr.is_event) if f is not None]
    call = next(f.call_uuid for f in facts if f.kind == kind)
    return call, [f for f in facts if f.call_uuid == call]


def merged(call: str, facts: list[Fact]) -> Attempt:
    a = Attempt(1, call)
    for f in facts:
        a = apply(a, f)
    return a


def test_a_call_bridged_to_an_agent_is_answered_with_its_queue_agent_and_times() -> None:
    call, facts = facts_of("cc_answered_to_agent")
    a = merged(call, facts)
    assert a.status == Status.ANSWERED and not a.abandoned
    assert (a.queue, a.agent) == ("sales@default", "agent1@default")
    assert a.answered_at is not None and a.queued_at is not None and a.bridged_at is not None
    assert a.answered_at <= a.bridged_at <= (a.hangup_at or a.bridged_at)


@pytest.mark.parametrize("name", ["cc_abandoned_no_agent", "cc_max_wait_time_2_timeout"])
def test_a_call_mod_callcenter_leaves_unserved_is_abandoned(name: str) -> None:
    call, facts = facts_of(name, "unserved")
    a = merged(call, facts)
    assert a.status == Status.ABANDONED and a.abandoned and a.agent is None and a.queue == "sales@default"


def test_the_callee_hanging_up_while_waiting_past_the_limit_is_abandoned() -> None:
    """cc_abandoned_no_agent_callee_hangs_up_3s: BREAK_OUT at 3 s, more than the 2 s limit."""
    call, facts = facts_of("cc_abandoned_no_agent_callee_hangs_up_3s")
    assert merged(call, facts).status == Status.ABANDONED


def test_the_engines_abandon_fact_makes_an_answered_call_abandoned_unless_an_agent_came_first() -> None:
    t0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    answer = Fact("answer", "c", t0, answered_at=t0)
    queued = Fact("queued", "c", t0, queue="sales@default")
    abandon = Fact("abandon", "c", t0 + timedelta(seconds=2))
    hangup = Fact("hangup", "c", t0 + timedelta(seconds=3), cause="NORMAL_CLEARING", answered_at=t0)
    bridged = Fact("bridged", "c", t0 + timedelta(seconds=1), agent="agent1@default")
    assert merged("c", [answer, queued, abandon, hangup]).status == Status.ABANDONED
    assert merged("c", [answer, queued, bridged, abandon, hangup]).status == Status.ANSWERED
    short = Fact("hangup", "c", t0 + timedelta(seconds=1), cause="NORMAL_CLEARING", answered_at=t0)
    assert merged("c", [answer, queued, short]).status == Status.ANSWERED  # hung up within the limit
    robot = Fact("hangup", "c", t0 + timedelta(seconds=60), cause="NORMAL_CLEARING", answered_at=t0)
    assert merged("c", [answer, robot]).status == Status.ANSWERED  # never queued: a robot call
