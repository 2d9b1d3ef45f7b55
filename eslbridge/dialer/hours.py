"""Callee-local calling hours: which time zones a task may call now. Pure: the clock is passed in.

A task's date range, daily windows and disable time group are read on one
clock — the task's zone — unless the task says ``timezone: "callee"``: then
each number is judged on its own clock, the zone the importer derived from it
(``task_number.tz``, see :mod:`eslbridge.zones`). A tenant's calling hours
(``tenant_policy``) are always read on the callee's clock, whatever the task
says.

Numbers are grouped by zone key, so the dialer asks this module which keys
are open now and the claim takes numbers of those keys only (an index per
task and zone): the numbers of closed zones are not read at all. A key of
several zones is open only when every one of them is. The unknown key ``""``
is read on the task's zone (``fallback_timezone`` for a callee-local task),
else on the server's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from ..zones import zones_in
from .policy import Schedule, inside


@dataclass(frozen=True, slots=True)
class CalleeHours:
    """Where a task's hours are read."""

    callee: bool = False  # the task's windows are read on each callee's clock
    fallback: str | None = None  # the zone of numbers whose own is unknown (None: the server's)
    tenant: tuple[time, time] | None = None  # the tenant's calling hours, callee-local, [start, end)

    @property
    def by_zone(self) -> bool:
        """Whether claims must be split by zone (else any pending number may be taken)."""
        return self.callee or self.tenant is not None


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(now: datetime, zone: str | None) -> datetime:
    """``now`` (aware) on the clock of ``zone`` (None: the server's)."""
    return now.astimezone(_zone(zone)) if zone else now.astimezone()


def clocks(key: str, fallback: str | None) -> tuple[str | None, ...]:
    """The zones a number of zone key ``key`` is judged on (the fallback for an unknown key)."""
    return zones_in(key) or (fallback,)


def why_not(schedule: Schedule, hours: CalleeHours, now: datetime) -> str | None:
    """What holds the whole task now, before any zone is looked at (None: some zone may be open).

    A callee-local task is held only by what does not depend on the clock on
    the wall (stopped, its line's time); a task on its own clock by its whole
    schedule.
    """
    return schedule.why_not_now(now) if hours.callee else schedule.why_not(now)


def zone_open(schedule: Schedule, hours: CalleeHours, key: str, now: datetime) -> bool:
    """Whether a number of zone key ``key`` may be called now (the task-wide checks aside)."""
    for zone in clocks(key, hours.fallback if hours.callee else schedule.tz):
        local = local_time(now, zone)
        if hours.callee and schedule.why_not_local(local) is not None:
            return False
        if hours.tenant is not None and not inside(local.time(), *hours.tenant):
            return False
    return True


def open_zones(schedule: Schedule, hours: CalleeHours, keys: Iterable[str], now: datetime) -> list[str]:
    """The zone keys among ``keys`` whose numbers may be called now (the task-wide checks aside)."""
    return [key for key in keys if zone_open(schedule, hours, key, now)]


def recorded(key: str, hours: CalleeHours, schedule: Schedule, now: datetime) -> tuple[str, str]:
    """What an attempt's record keeps of the callee's clock: the zone key its hours were read on
    (the number's, else the task's, else ``""``: the server's) and the local time there (on the
    first zone of a key of several), as ISO text without an offset."""
    used = key or (hours.fallback if hours.callee else schedule.tz) or ""
    zones = zones_in(used)
    return used, local_time(now, zones[0] if zones else None).replace(tzinfo=None).isoformat()
