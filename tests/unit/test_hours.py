"""Callee-local calling hours with a fake clock: which zones a task may call now."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from eslbridge.dialer.hours import CalleeHours, open_zones, recorded, why_not, zone_open
from eslbridge.dialer.policy import Schedule, TimeRange

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday; winter: Shanghai +8, London +0, New York -5
ZONES = ["Asia/Shanghai", "Europe/London", "America/New_York"]
OFFICE = Schedule(windows=((time(9), time(17)),))
CALLEE = CalleeHours(callee=True, fallback="Asia/Shanghai")


@pytest.mark.parametrize(
    ("utc_hour", "open_"),
    [
        (2, ["Asia/Shanghai"]),  # 10:00 there, 02:00 in London, 21:00 in New York
        (10, ["Europe/London"]),  # 18:00, 10:00, 05:00
        (15, ["Europe/London", "America/New_York"]),  # 23:00, 15:00, 10:00
        (22, []),  # 06:00, 22:00, 17:00 (the window's end is not in it)
    ],
)
def test_each_number_is_judged_on_its_own_clock(utc_hour, open_):
    assert open_zones(OFFICE, CALLEE, ZONES, MONDAY.replace(hour=utc_hour)) == open_


def test_a_key_of_several_zones_is_open_only_when_every_one_is():
    key = "America/Chicago America/New_York"
    assert not zone_open(OFFICE, CALLEE, key, MONDAY.replace(hour=14, minute=30))  # 08:30 in Chicago
    assert zone_open(OFFICE, CALLEE, key, MONDAY.replace(hour=15, minute=30))


def test_an_unknown_zone_is_read_on_the_tasks_zone():
    now = MONDAY.replace(hour=2)  # 10:00 in Shanghai
    assert zone_open(OFFICE, CALLEE, "", now)
    assert not zone_open(OFFICE, CalleeHours(callee=True, fallback="Europe/London"), "", now)
    tenant = CalleeHours(tenant=(time(8), time(21)))
    assert zone_open(Schedule(tz="Asia/Shanghai"), tenant, "", now)
    assert not zone_open(Schedule(tz="Europe/London"), tenant, "", now)


def test_the_tenants_hours_hold_whatever_the_task_says():
    all_day = Schedule(tz="UTC")  # no windows: a task that would call around the clock
    tenant = CalleeHours(tenant=(time(8), time(21)))
    now = MONDAY.replace(hour=13)  # 21:00 in Shanghai, 13:00 in London, 08:00 in New York
    assert why_not(all_day, tenant, now) is None
    assert open_zones(all_day, tenant, ZONES, now) == ["Europe/London", "America/New_York"]
    # A minute earlier: 20:59 in Shanghai (inside), 07:59 in New York (not yet).
    assert open_zones(all_day, tenant, ZONES, now - timedelta(minutes=1)) == ["Asia/Shanghai", "Europe/London"]


def test_a_disabled_range_and_dates_are_read_on_the_callees_clock():
    lunch = Schedule(blocked=(TimeRange(frozenset(range(1, 8)), time(12), time(13)),))
    now = MONDAY.replace(hour=4, minute=30)  # 12:30 in Shanghai, 04:30 in London
    assert open_zones(lunch, CALLEE, ZONES, now) == ["Europe/London", "America/New_York"]
    dated = Schedule(date_start=MONDAY.date())
    late_sunday = MONDAY - timedelta(hours=2)  # Monday 06:00 in Shanghai, Sunday in London and New York
    assert open_zones(dated, CALLEE, ZONES, late_sunday) == ["Asia/Shanghai"]


def test_a_callee_task_is_held_only_by_what_no_clock_changes():
    now = MONDAY.replace(hour=22)
    assert why_not(OFFICE, CALLEE, now) is None  # outside its windows everywhere, but no zone is asked yet
    assert why_not(Schedule(running=False), CALLEE, now) == "stopped"
    assert why_not(Schedule(line_deadline=now), CALLEE, now) == "line expired"
    assert why_not(Schedule(windows=OFFICE.windows, tz="UTC"), CalleeHours(), now) == "outside daily windows"


def test_what_the_record_keeps_of_the_callees_clock():
    now = MONDAY.replace(hour=2, minute=5)
    assert recorded("Europe/London", CALLEE, OFFICE, now) == ("Europe/London", "2026-11-23T02:05:00")
    assert recorded("", CALLEE, OFFICE, now) == ("Asia/Shanghai", "2026-11-23T10:05:00")
    assert recorded("America/Chicago America/New_York", CALLEE, OFFICE, now) == (
        "America/Chicago America/New_York", "2026-11-22T20:05:00")
