"""Callee-local calling hours against the simulator, with the dialer on a fake wall clock.

Numbers are grouped by the zone their number gives; each is dialled only
while its own clock is inside the hours. Between phases the test waits for
the dialer to tick on (a count it keeps), never for time to pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import dnc
from tests import factories as f
from tests.helpers import wait_for

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # winter: Shanghai +8, London +0, New York -5
SHANGHAI = ["13800000019", "13800000029", "13800000039"]  # last digit 9: answered, 1 s of talk
LONDON = ["+447700900119", "+447700900129", "+447700900139"]
NEW_YORK = ["+12125550119", "+12125550129", "+12125550139"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def engine_on(db, switch, clock):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=200,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    settings = Settings(engine_id="e1", job_grace_s=0.3, reconcile_after_s=0.5, tick_s=0.02, notify=False)
    engine = Engine(db, settings, [node])
    engine.dialer.clock = clock
    return engine.start()


def statuses(db, task, phones):
    nums = f.numbers(db, task)
    return [nums[p]["status"] for p in phones]


def ticks_on(engine, n=30):
    """Wait until the dialer has ticked ``n`` more times (and refreshed its tasks at least once)."""
    start = engine.dialer.ticks
    wait_for(lambda: engine.dialer.ticks >= start + n, timeout=30)
    wait_for(lambda: engine.dialer.ticks >= start + n and engine.dialer.zones, timeout=30)


def test_numbers_in_three_time_zones_dial_only_inside_their_own_windows(db, sim):
    task = f.task(db, f.line(db), SHANGHAI + LONDON + NEW_YORK, timezone="callee", fallback_timezone="Asia/Shanghai",
                  daily_windows='[["09:00", "17:00"]]')
    zones = {r["phone"]: r["tz"] for r in f.numbers(db, task).values()}
    assert {zones[p] for p in SHANGHAI} == {"Asia/Shanghai"} and {zones[p] for p in LONDON} == {"Europe/London"}
    assert {zones[p] for p in NEW_YORK} == {"America/New_York"}
    clock = Clock(MONDAY.replace(hour=2))  # 10:00 in Shanghai, 02:00 in London, 21:00 (Sunday) in New York
    engine = engine_on(db, sim, clock)
    try:
        wait_for(lambda: statuses(db, task, SHANGHAI) == [Status.ANSWERED] * 3, timeout=30)
        ticks_on(engine)
        assert statuses(db, task, LONDON + NEW_YORK) == [Status.PENDING] * 6
        clock.now = MONDAY.replace(hour=10)  # 18:00 in Shanghai, 10:00 in London, 05:00 in New York
        wait_for(lambda: statuses(db, task, LONDON) == [Status.ANSWERED] * 3, timeout=30)
        ticks_on(engine)
        assert statuses(db, task, NEW_YORK) == [Status.PENDING] * 3
        clock.now = MONDAY.replace(hour=15)  # 10:00 in New York
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
    attempts = f.attempts(db, task)
    assert len(attempts) == 9
    # Each record keeps the callee's zone and local time: inside the window, every one.
    assert {a["phone"]: a["callee_tz"] for a in attempts} == zones
    assert all(time(9) <= a["callee_local_at"].time() < time(17) for a in attempts)


def test_the_tenants_calling_hours_hold_whatever_the_task_says(db, sim):
    f.tenant(db, "t1")
    with db.transaction() as conn:
        dnc.set_policy(conn, "t1", {"calling_hours_start": time(8), "calling_hours_end": time(21)})
    task = f.task(db, f.line(db), SHANGHAI + LONDON, timezone="UTC")  # no windows: around the clock
    clock = Clock(MONDAY.replace(hour=13, minute=30))  # 21:30 in Shanghai: after hours there
    engine = engine_on(db, sim, clock)
    try:
        wait_for(lambda: statuses(db, task, LONDON) == [Status.ANSWERED] * 3, timeout=30)
        ticks_on(engine)
        assert statuses(db, task, SHANGHAI) == [Status.PENDING] * 3
        clock.now = MONDAY.replace(hour=1)  # 09:00 in Shanghai, 01:00 in London
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
    assert all(time(8) <= a["callee_local_at"].time() < time(21) for a in f.attempts(db, task))


def test_a_number_of_unknown_zone_is_read_on_the_tasks_zone(db, sim):
    task = f.task(db, f.line(db), ["13800000019"], timezone="callee", fallback_timezone="Europe/London",
                  daily_windows='[["09:00", "17:00"]]')
    with db.transaction() as conn:  # as another system would write it: no zone known
        conn.execute("UPDATE task_number SET tz = '' WHERE task_id = %s", (task,))
    clock = Clock(MONDAY.replace(hour=2))  # 10:00 in Shanghai, where the number is; 02:00 in London
    engine = engine_on(db, sim, clock)
    try:
        ticks_on(engine)
        assert statuses(db, task, ["13800000019"]) == [Status.PENDING]
        clock.now = MONDAY.replace(hour=9)
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
    [attempt] = f.attempts(db, task)
    assert (attempt["callee_tz"], attempt["callee_local_at"].hour) == ("Europe/London", 9)
