"""The pure tracker: same result for any order of facts, duplicates harmless."""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.causes import CAUSE_STATUS, Status, status_for
from eslbridge.esl.protocol import FrameReader, parse_event
from eslbridge.tracker import Attempt, Fact, RetryRule, apply, fact_from_event, lost, settle_job
from tests.conftest import CAPTURES

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
U = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"


def merged(facts, call_uuid=U):
    a = Attempt(1, call_uuid)
    for f in facts:
        a = apply(a, f)
    return a


ANSWERED_CALL = [
    Fact("answer", U, T0 + timedelta(seconds=1), answered_at=T0 + timedelta(seconds=1)),
    Fact("job", U, T0 + timedelta(seconds=1), job_ok=True),
    Fact("hangup", U, T0 + timedelta(seconds=4), cause="NORMAL_CLEARING",
         answered_at=T0 + timedelta(seconds=1), billsec=3, duration=4),
]
# A short answered call: FreeSWITCH says -ERR NORMAL_CLEARING although it was answered.
SHORT_ANSWERED = [
    Fact("answer", U, T0, answered_at=T0),
    Fact("hangup", U, T0 + timedelta(seconds=1), cause="NORMAL_CLEARING", answered_at=T0, billsec=1, duration=1),
    Fact("job", U, T0 + timedelta(seconds=1), cause="NORMAL_CLEARING"),
]
BUSY = [
    Fact("hangup", U, T0, cause="USER_BUSY"),
    Fact("job", U, T0, cause="USER_BUSY"),
]


@pytest.mark.parametrize(
    ("facts", "final"),
    [
        (ANSWERED_CALL,
         (Status.ANSWERED, "NORMAL_CLEARING", 3, 4, T0 + timedelta(seconds=1), T0 + timedelta(seconds=4))),
        (SHORT_ANSWERED, (Status.ANSWERED, "NORMAL_CLEARING", 1, 1, T0, T0 + timedelta(seconds=1))),
        (BUSY, (Status.BUSY, "USER_BUSY", 0, 0, None, T0)),
    ],
    ids=["answered", "short-answered-job-err", "busy"],
)
def test_every_order_gives_the_same_final_attempt(facts, final):
    # Orders differ only in the -ERR note a job leaves when it comes before the hangup.
    results = {(a.status, a.cause, a.billsec, a.duration, a.answered_at, a.hangup_at)
               for a in (merged(p) for p in itertools.permutations(facts))}
    assert results == {final}


@given(st.lists(st.sampled_from(ANSWERED_CALL + SHORT_ANSWERED[:2]), min_size=1, max_size=8))
def test_duplicates_never_change_a_final_attempt(facts):
    once = merged(facts)
    twice = merged(facts + facts)
    assert (once.status, once.cause) == (twice.status, twice.cause)


def test_job_failure_is_trusted_only_after_the_grace_period():
    a = apply(Attempt(1, U), Fact("job", U, T0, cause="NO_ROUTE_DESTINATION"))
    assert settle_job(a, T0 + timedelta(seconds=1), timedelta(seconds=2))[0] == "wait"
    verdict, final = settle_job(a, T0 + timedelta(seconds=3), timedelta(seconds=2))
    assert verdict == "final" and final.status == Status.INVALID and final.cause == "NO_ROUTE_DESTINATION"


def test_throttle_refusal_without_channel_is_requeued_not_attempted():
    a = apply(Attempt(1, U), Fact("job", U, T0, cause="DESTINATION_OUT_OF_ORDER"))
    assert settle_job(a, T0 + timedelta(seconds=5), timedelta(seconds=2))[0] == "requeue"


def test_job_failure_with_a_channel_waits_for_the_hangup():
    a = merged([Fact("answer", U, T0, answered_at=T0), Fact("job", U, T0, cause="NORMAL_CLEARING")])
    assert settle_job(a, T0 + timedelta(minutes=5), timedelta(seconds=2))[0] == "wait"
    assert a.status == Status.TALKING


def test_lost_call_is_failed_with_cause_lost_and_final_is_kept():
    assert lost(Attempt(1, U, Status.TALKING), T0).status == Status.FAILED
    done = merged(BUSY)
    assert lost(done, T0) == done


@pytest.mark.parametrize(
    ("cause", "answered", "status"),
    [
        ("NORMAL_CLEARING", True, Status.ANSWERED),
        ("USER_BUSY", True, Status.ANSWERED),
        ("NORMAL_CLEARING", False, Status.NO_ANSWER),
        ("NO_ANSWER", False, Status.NO_ANSWER),
        ("NO_USER_RESPONSE", False, Status.NO_ANSWER),
        ("ALLOTTED_TIMEOUT", False, Status.NO_ANSWER),
        ("USER_BUSY", False, Status.BUSY),
        ("CALL_REJECTED", False, Status.REJECTED),
        ("UNALLOCATED_NUMBER", False, Status.INVALID),
        ("INVALID_NUMBER_FORMAT", False, Status.INVALID),
        ("NO_ROUTE_DESTINATION", False, Status.INVALID),
        ("NUMBER_CHANGED", False, Status.INVALID),
        ("SUBSCRIBER_ABSENT", False, Status.UNREACHABLE),
        ("DESTINATION_OUT_OF_ORDER", False, Status.UNREACHABLE),
        ("NETWORK_OUT_OF_ORDER", False, Status.UNREACHABLE),
        ("NORMAL_TEMPORARY_FAILURE", False, Status.FAILED),
        ("RECOVERY_ON_TIMER_EXPIRE", False, Status.FAILED),
        ("SOMETHING_NEW", False, Status.FAILED),
        (None, False, Status.FAILED),
    ],
)
def test_cause_table(cause, answered, status):
    assert status_for(cause, answered) == status


def test_every_mapped_cause_is_final():
    assert all(s.is_final for s in CAUSE_STATUS.values())


def test_retry_rule_counts_per_status_and_caps_overall():
    rule = RetryRule({int(Status.BUSY): (5, 2)}, max_attempts=3)
    assert rule.next_attempt(Status.BUSY, 1, 0, T0) == T0 + timedelta(minutes=5)
    assert rule.next_attempt(Status.BUSY, 2, 1, T0) is not None
    assert rule.next_attempt(Status.BUSY, 3, 1, T0) is None  # overall cap
    assert rule.next_attempt(Status.BUSY, 2, 2, T0) is None  # per-status times
    assert rule.next_attempt(Status.NO_ANSWER, 1, 0, T0) is None  # no entry
    assert rule.next_attempt(Status.ANSWERED, 1, 0, T0) is None


def events_of(name):
    reader = FrameReader()
    reader.receive_data((CAPTURES / f"{name}.recv.raw").read_bytes())
    return [parse_event(f) for f in reader if f.is_event]


@pytest.mark.parametrize(
    ("capture", "status"),
    [
        ("callee0_answer3s_park", Status.ANSWERED),
        ("callee1_busy", Status.BUSY),
        ("callee2_noanswer_timeout10", Status.NO_ANSWER),
        ("callee3_unallocated", Status.INVALID),
        ("callee5_rejected", Status.REJECTED),
        ("callee6_earlymedia_then_answer", Status.ANSWERED),
        ("callee9_answer1s_park", Status.ANSWERED),
        ("sofia_sipp_486_busy", Status.BUSY),
        ("sofia_sipp_404_not_found", Status.INVALID),
        ("sofia_sipp_603_decline", Status.REJECTED),
        ("sofia_sipp_480_temp_unavailable", Status.NO_ANSWER),
        ("sofia_sipp_503_service_unavailable", Status.FAILED),
        ("sofia_sipp_ring_forever_timeout10", Status.NO_ANSWER),
        ("sofia_sipp_answer_then_remote_bye2s", Status.ANSWERED),
    ],
)
@given(data=st.data())
def test_captured_calls_end_in_the_right_status_in_any_order(capture, status, data):
    facts = captured_facts(capture)
    # B-leg events are not facts about our call.
    (call,) = {f.call_uuid for f in facts}
    as_captured = merged(facts, call)
    a = merged(data.draw(st.permutations(facts)), call)
    assert a.status == status
    # The same attempt, but for the -ERR note a job leaves when it comes before the hangup.
    assert replace(a, job_cause=None, job_at=None) == replace(as_captured, job_cause=None, job_at=None)


@functools.cache
def captured_facts(capture: str) -> tuple[Fact, ...]:
    """A capture's facts, the job's keyed by the call (our Job-UUID is the origination uuid)."""
    facts = [f for f in (fact_from_event(e) for e in events_of(capture)) if f is not None]
    a_uuid = next(f.call_uuid for f in facts if f.kind != "job")
    return tuple(replace(f, call_uuid=a_uuid) if f.kind == "job" else f for f in facts)


def test_a_claim_refused_by_a_do_not_call_list_ends_blocked_whatever_comes():
    at = datetime(2026, 11, 22, tzinfo=UTC)
    refused = Attempt(1, "u", dnc_list=4)
    blocked = apply(refused, Fact("blocked", "u", at))
    assert (blocked.status, blocked.cause, blocked.hangup_at) == (Status.BLOCKED, "DNC", at)
    # Reconciliation finds it on no switch (it never was there): blocked, not lost.
    assert lost(refused, at).status == Status.BLOCKED
    assert apply(refused, Fact("hangup", "u", at, cause="NORMAL_CLEARING")).status == Status.BLOCKED
    assert lost(Attempt(1, "u"), at).cause == "LOST"
