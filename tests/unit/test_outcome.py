"""What a final attempt means for its number: retry rule, retries, next attempt, notification."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.causes import Status
from eslbridge.rows import AttemptRow, NumberUpdate
from eslbridge.tracker import Attempt, Outcome, RetryRule, notifies, outcome, rule_for

NOW = datetime(2026, 11, 22, 9, 0, 4, tzinfo=UTC)
U = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"
RULE = RetryRule({int(Status.BUSY): (30, 2), int(Status.NO_ANSWER): (10, 1)}, max_attempts=3)
RULES = {"7": RULE}

ROW = AttemptRow(
    id=1, call_uuid=U, status=int(Status.DIALING), answered_at=None, hangup_at=None, hangup_cause=None,
    sip_status=None, billsec=0, duration=0, job_cause=None, job_at=None, saw_channel=False, queue=None, queued_at=None, agent=None,
    bridged_at=None, abandoned=False, recovered=False, dnc_list_id=None, attempt_no=1,
    node="fs1", originated_at=NOW - timedelta(seconds=1), caller_id_shown=None, number_id=42,
    task_id=uuid.UUID("0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01"), phone="13800000001", attempts=1, retries={},
    variables={}, task_name="spring campaign", user_id="t1", auto_recycle_rule_id=7, call_notify_type=2,
    call_notify_url="https://hooks.example/call", phone_groups=[],
)


def ended(status: Status, cause: str) -> Attempt:
    return Attempt(1, U, status, hangup_at=NOW, cause=cause)


def batch(switch: int = 1, **kw: object) -> list[dict[str, object]]:
    return [{"name": "b1", "identify": "b1", "autoOutboundSwitch": switch, **kw}]


# -- Which retry rule applies ---------------------------------------------------


def test_seed_001_number_batches_are_the_retry_rule_even_beside_a_recycle_rule():
    # The seed's own example batch: autoOutboundSwitch 1, every 5 minutes, once.
    row = replace(ROW, phone_groups=batch(autoOutboundInterval=5, autoOutboundTimes=1))
    rule = rule_for(row, RULES)
    assert rule == RetryRule({s: (5.0, 1) for s in range(11, 17)}, max_attempts=2)
    o = outcome(row, ended(Status.BUSY, "USER_BUSY"), RULES, NOW)
    assert o.retry_at == NOW + timedelta(minutes=5)


def test_a_number_batch_switched_off_retries_nothing_even_beside_a_recycle_rule():
    row = replace(ROW, phone_groups=batch(switch=0, autoOutboundInterval=60, autoOutboundTimes=3))
    assert rule_for(row, RULES) is None
    assert outcome(row, ended(Status.BUSY, "USER_BUSY"), RULES, NOW).retry_at is None


def test_without_number_batches_the_recycle_rule_applies():
    assert rule_for(ROW, RULES) is RULE


def test_a_recycle_rule_that_is_not_loaded_means_no_retry():
    assert rule_for(replace(ROW, auto_recycle_rule_id=8), RULES) is None


def test_the_first_batchs_switch_retries_every_unanswered_outcome():
    row = replace(ROW, auto_recycle_rule_id=None, phone_groups=batch(autoOutboundInterval=60, autoOutboundTimes=3))
    assert rule_for(row, RULES) == RetryRule(
        {11: (60.0, 3), 12: (60.0, 3), 13: (60.0, 3), 14: (60.0, 3), 15: (60.0, 3), 16: (60.0, 3)}, max_attempts=4
    )


def test_a_batch_switch_without_interval_or_times_retries_once_after_5_minutes():
    rule = rule_for(replace(ROW, auto_recycle_rule_id=None, phone_groups=batch()), RULES)
    assert rule is not None
    assert rule.entries[int(Status.BUSY)] == (5.0, 1) and rule.max_attempts == 2


@pytest.mark.parametrize(
    "groups",
    [[], batch(switch=0, autoOutboundInterval=60, autoOutboundTimes=3),
     [{"name": "b0", "autoOutboundSwitch": 0}, *batch(autoOutboundTimes=3)]],
    ids=["no-batches", "switch-off", "only-a-later-batch-switched-on"],
)
def test_no_recycle_rule_and_no_switched_on_first_batch_means_no_retry(groups):
    assert rule_for(replace(ROW, auto_recycle_rule_id=None, phone_groups=groups), RULES) is None


# -- Whether the webhook hears of it ----------------------------------------------


@pytest.mark.parametrize(
    ("notify_type", "status", "sent"),
    [
        (0, Status.ANSWERED, False),
        (0, Status.FAILED, False),
        (1, Status.ANSWERED, False),
        (1, Status.FAILED, True),
        (1, Status.BUSY, True),
        (2, Status.ANSWERED, True),
        (2, Status.FAILED, True),
    ],
    ids=["none-answered", "none-failed", "failed-only-answered", "failed-only-failed", "failed-only-busy",
         "every-answered", "every-failed"],
)
def test_call_notify_type_filters_notifications(notify_type, status, sent):
    assert notifies(notify_type, "https://hooks.example/call", status) is sent


@pytest.mark.parametrize("notify_type", [1, 2])
def test_a_task_without_a_notify_url_is_never_notified(notify_type):
    assert notifies(notify_type, "", Status.FAILED) is False


def test_outcome_carries_the_notify_filter():
    row = replace(ROW, call_notify_type=1)
    assert outcome(row, ended(Status.ANSWERED, "NORMAL_CLEARING"), RULES, NOW).notify is False
    assert outcome(row, ended(Status.BUSY, "USER_BUSY"), RULES, NOW).notify is True


# -- The number's update ------------------------------------------------------------


def test_a_busy_number_is_retried_after_its_interval_and_the_retry_is_counted():
    got = outcome(ROW, ended(Status.BUSY, "USER_BUSY"), RULES, NOW)
    retry_at = datetime(2026, 11, 22, 9, 30, 4, tzinfo=UTC)
    assert got == Outcome(NumberUpdate(42, Status.BUSY, "USER_BUSY", retry_at, {"12": 1}), True, retry_at)


def test_retries_are_counted_per_status():
    row = replace(ROW, attempts=2, retries={"11": 1})
    got = outcome(row, ended(Status.BUSY, "USER_BUSY"), RULES, NOW)
    assert got.number.retries == {"11": 1, "12": 1}
    assert got.number.next_attempt_at == datetime(2026, 11, 22, 9, 30, 4, tzinfo=UTC)


def test_a_status_retried_its_times_is_not_retried_again():
    row = replace(ROW, attempts=2, retries={"11": 1})
    got = outcome(row, ended(Status.NO_ANSWER, "NO_ANSWER"), RULES, NOW)
    assert got.retry_at is None and got.number.next_attempt_at is None
    assert got.number.retries == {"11": 1}


def test_max_attempts_caps_retries_of_every_status():
    row = replace(ROW, attempts=3, retries={"12": 1})
    got = outcome(row, ended(Status.BUSY, "USER_BUSY"), RULES, NOW)
    assert got.retry_at is None and got.number.retries == {"12": 1}


@pytest.mark.parametrize(
    ("status", "cause"), [(Status.ANSWERED, "NORMAL_CLEARING"), (Status.INVALID, "UNALLOCATED_NUMBER")],
    ids=["answered", "no-entry-for-status"],
)
def test_statuses_without_a_rule_entry_are_final(status, cause):
    got = outcome(ROW, ended(status, cause), RULES, NOW)
    assert got.number == NumberUpdate(42, status, cause, None, {})


def test_the_stored_retries_are_not_changed_in_place():
    retries = {"12": 1}
    outcome(replace(ROW, retries=retries), ended(Status.BUSY, "USER_BUSY"), RULES, NOW)
    assert retries == {"12": 1}


def test_a_call_in_progress_only_moves_the_numbers_status():
    row = replace(ROW, retries={"12": 1})
    got = outcome(row, Attempt(1, U, Status.TALKING, answered_at=NOW), RULES, NOW)
    assert got == Outcome(NumberUpdate(42, Status.TALKING, None, None, {"12": 1}), notify=False, retry_at=None)


def test_a_number_a_do_not_call_list_refused_is_never_retried_and_is_notified():
    rule = RetryRule({int(Status.BLOCKED): (1, 3)}, max_attempts=5)  # even a rule that retries status 18
    a = replace(ended(Status.BLOCKED, "DNC"), dnc_list=4)
    got = outcome(ROW, a, {"7": rule}, NOW)
    assert (got.number.status, got.number.cause, got.retry_at, got.notify) == (Status.BLOCKED, "DNC", None, True)
