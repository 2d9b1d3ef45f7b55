"""CDR facts: a call that ended unheard gets its CDR's outcome, marked recovered; settled calls keep theirs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eslbridge.causes import Status
from eslbridge.cdr.format import parse
from eslbridge.rows import CdrRow
from eslbridge.tracker import Attempt, Fact, apply, fact_from_cdr, settle_gone

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
U = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"
REAL = (Path(__file__).parents[2] / "tests" / "data" / "cdr" / "fs_1.10.12_Master.csv").read_bytes().splitlines()


def cdr(**kw: object) -> CdrRow:
    base = CdrRow(U, "fs1", "e1", "t", "1", T0, T0 + timedelta(seconds=2), None, T0 + timedelta(seconds=32), 30, 32,
                  "NORMAL_CLEARING", None, None, None, None, None, None, None, None)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_an_answered_call_that_ended_unheard_is_answered_and_marked_recovered():
    talking = apply(Attempt(1, U), Fact("answer", U, T0 + timedelta(seconds=2), answered_at=T0 + timedelta(seconds=2)))
    a = apply(talking, fact_from_cdr(cdr()))
    assert (a.status, a.cause, a.billsec, a.duration, a.recovered) == (Status.ANSWERED, "NORMAL_CLEARING", 30, 32, True)
    assert (a.answered_at, a.hangup_at) == (T0 + timedelta(seconds=2), T0 + timedelta(seconds=32))


@pytest.mark.parametrize(("cause", "status"), [("USER_BUSY", Status.BUSY), ("NO_ANSWER", Status.NO_ANSWER),
                                               ("UNALLOCATED_NUMBER", Status.INVALID)])
def test_an_unanswered_call_gets_the_status_of_its_cause(cause, status):
    a = apply(Attempt(1, U), fact_from_cdr(cdr(answered_at=None, billsec=0, hangup_cause=cause)))
    assert (a.status, a.cause, a.answered_at, a.recovered) == (status, cause, None, True)


def test_a_cdr_after_the_events_settled_the_call_changes_nothing():
    heard = apply(Attempt(1, U), Fact("hangup", U, T0 + timedelta(seconds=32), cause="NORMAL_CLEARING",
                                      answered_at=T0 + timedelta(seconds=2), billsec=30, duration=32))
    assert heard.final and not heard.recovered
    assert apply(heard, fact_from_cdr(cdr(hangup_cause="SYSTEM_SHUTDOWN", billsec=1))) == heard


def test_a_cdr_twice_is_the_cdr_once():
    once = apply(Attempt(1, U), fact_from_cdr(cdr()))
    assert apply(once, fact_from_cdr(cdr())) == once


def test_a_real_queue_call_bridged_to_an_agent_is_answered_with_its_agent():
    row = parse(REAL[9], "fs1")
    assert row is not None
    a = apply(Attempt(1, row.call_uuid), fact_from_cdr(row))
    assert (a.status, a.queue, a.agent, a.bridged_at, a.abandoned) == (
        Status.ANSWERED, "sales@default", "agent1@default", row.cc_answered_at, False)


def test_a_real_queue_call_no_agent_took_is_abandoned():
    row = parse(REAL[10], "fs1")
    assert row is not None and row.cc_cancel_reason == "NO_AGENT_TIMEOUT"
    a = apply(Attempt(1, row.call_uuid), fact_from_cdr(row))
    assert (a.status, a.queue, a.agent, a.abandoned, a.recovered) == (Status.ABANDONED, "sales@default", None, True, True)


def test_a_caller_who_hung_up_waiting_past_the_limit_is_abandoned():
    waited = cdr(cc_queue="sales@default", cc_cause="cancel", cc_cancel_reason="BREAK_OUT", cc_joined_at=T0)
    assert apply(Attempt(1, U), fact_from_cdr(waited)).status == Status.ABANDONED  # 30 s after the answer
    quick = replace(waited, ended_at=T0 + timedelta(seconds=3), billsec=1)  # gave up 1 s after the answer
    assert apply(Attempt(1, U), fact_from_cdr(quick)).status == Status.ANSWERED


def test_gone_calls_take_their_cdrs_and_end_lost_only_when_sure_there_is_none():
    gone = [U, "other", "third"]
    missing: dict[str, float] = {}
    facts, lost = settle_gone(gone, {U: cdr()}, True, missing, now=100.0, grace_s=10)
    assert [f.call_uuid for f in facts] == [U] and lost == ["other", "third"] and missing == {}
    # The files could not be read: a call without a CDR waits for the grace period.
    facts, lost = settle_gone(gone[1:], {}, False, missing, now=100.0, grace_s=10)
    assert (facts, lost, missing) == ([], [], {"other": 100.0, "third": 100.0})
    facts, lost = settle_gone(["other"], {}, False, missing, now=109.0, grace_s=10)
    assert lost == []
    facts, lost = settle_gone(["other", "third"], {"third": cdr(call_uuid="third")}, False, missing, now=110.0, grace_s=10)
    assert lost == ["other"] and [f.call_uuid for f in facts] == ["third"] and missing == {}
