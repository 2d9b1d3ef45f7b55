"""Dialing policy with a fake clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from eslbridge.backoff import Backoff
from eslbridge.dialer.policy import (
    Limits,
    Schedule,
    TimeRange,
    TokenBucket,
    claim_floor,
    free_slots,
)

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
LUNCH = TimeRange(frozenset({1, 2, 3, 4, 5}), time(12, 0), time(13, 30))


@pytest.mark.parametrize(
    ("schedule", "now", "reason"),
    [
        (Schedule(tz="UTC"), MONDAY_10, None),
        (Schedule(running=False, tz="UTC"), MONDAY_10, "stopped"),
        (Schedule(blocked=(LUNCH,), tz="UTC"), MONDAY_10.replace(hour=12, minute=30), "inside a disabled time range"),
        (Schedule(blocked=(LUNCH,), tz="UTC"), MONDAY_10.replace(hour=13, minute=30), None),
        (Schedule(blocked=(LUNCH,), tz="UTC"), MONDAY_10.replace(day=28, hour=12, minute=30), None),  # Saturday
        (Schedule(windows=((time(9), time(18)),), tz="UTC"), MONDAY_10.replace(hour=8), "outside daily windows"),
        (Schedule(windows=((time(22), time(2)),), tz="UTC"), MONDAY_10.replace(hour=1), None),  # crosses midnight
        (Schedule(windows=((time(9), time(18)),), tz="Asia/Shanghai"), MONDAY_10, "outside daily windows"),  # 18:00 there
        (Schedule(date_start=date(2026, 11, 24), tz="UTC"), MONDAY_10, "before date range"),
        (Schedule(date_end=date(2026, 11, 22), tz="UTC"), MONDAY_10, "after date range"),
        (Schedule(line_deadline=MONDAY_10, tz="UTC"), MONDAY_10, "line expired"),
        (Schedule(line_begin=MONDAY_10 + timedelta(hours=1), tz="UTC"), MONDAY_10, "line not yet usable"),
    ],
)
def test_schedule(schedule, now, reason):
    assert schedule.why_not(now) == reason


def test_free_slots_take_the_tighter_limit():
    assert free_slots(Limits(task_max=10, task_busy=2, line_max=5, line_busy=4)) == 1
    assert free_slots(Limits(task_max=3, task_busy=3, line_max=50, line_busy=0)) == 0
    assert free_slots(Limits(task_max=50, task_busy=0, line_max=5, line_busy=9)) == 0  # never negative


def test_token_bucket_paces_to_the_rate():
    bucket = TokenBucket(rate=30)
    taken = sum(bucket.take(100, t / 100) for t in range(1001))  # 10 s in 10 ms ticks
    assert 295 <= taken <= 305


def test_token_bucket_returns_unused_tokens():
    bucket = TokenBucket(rate=10, burst=5)
    assert bucket.take(5, 0.0) == 5
    bucket.give_back(3)
    assert bucket.take(5, 0.0) == 3


def test_backoff_grows_caps_and_resets():
    b = Backoff(base_s=1, cap_s=8)
    delays = [b.next_delay() for _ in range(8)]
    assert 0.5 <= delays[0] <= 1 and all(4 <= d <= 8 for d in delays[4:])
    b.reset()
    assert b.next_delay() <= 1


@pytest.mark.parametrize("granted, free, batch, rate, floor", [
    (3, 100, 500, 300.0, 15),  # paced at 300/s: claim 50 ms of calls at a time
    (3, 10, 500, 300.0, 7),  # no more than the slots the claim left free
    (3, 100, 8, 300.0, 8),  # nor a batch
    (1, 100, 500, 10.0, 1),  # a slow rate: every call as its token comes
    (100, 100, 500, 300.0, 1),  # the slots bound the claim: whatever comes free next
    (200, 300, 200, 300.0, 1),  # the batch bound it
    (0, 0, 500, 300.0, 1),  # nothing free: no floor
])
def test_the_floor_of_the_next_claim(granted, free, batch, rate, floor):
    assert claim_floor(granted, free, batch, rate, 0.05) == floor


def test_a_floor_is_never_more_than_the_buckets_hold():
    """A claim waits for its floor: the buckets must be able to hold it (a tenth of a second)."""
    for rate in (1.0, 7.0, 30.0, 333.0, 1000.0, 100_000.0):
        bucket = TokenBucket(rate)
        bucket.take(10**9, 0.0)  # emptied
        floor = claim_floor(0, 10**9, 10**9, rate, 0.05)
        assert bucket.take(10**9, 3600.0) >= floor  # full after an hour: holds the floor
