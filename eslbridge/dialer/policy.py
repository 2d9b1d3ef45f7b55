"""Pure dialing policy: may a task dial now, and how many calls may start.

No I/O: the loop passes in rows and the clock, which keeps every rule testable
tick by tick with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TimeRange:
    """A weekly range: ISO weekdays (1 = Monday … 7) and a start/end time of day."""

    weekdays: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        if local.isoweekday() not in self.weekdays:
            return False
        t = local.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # crosses midnight


@dataclass(frozen=True)
class Schedule:
    running: bool = True
    date_start: date | None = None
    date_end: date | None = None
    windows: tuple[tuple[time, time], ...] = ()  # daily windows; empty = all day
    blocked: tuple[TimeRange, ...] = ()  # the disable time group's ranges
    tz: str | None = None
    line_begin: datetime | None = None
    line_deadline: datetime | None = None

    def why_not(self, now: datetime) -> str | None:
        """None if the task may start calls at ``now`` (aware), else the reason."""
        if not self.running:
            return "stopped"
        if self.line_begin and now < self.line_begin:
            return "line not yet usable"
        if self.line_deadline and now >= self.line_deadline:
            return "line expired"
        local = now.astimezone(ZoneInfo(self.tz)) if self.tz else now.astimezone()
        if self.date_start and local.date() < self.date_start:
            return "before date range"
        if self.date_end and local.date() > self.date_end:
            return "after date range"
        if self.windows and not any(
            (s <= local.time() < e) if s <= e else (local.time() >= s or local.time() < e)
            for s, e in self.windows
        ):
            return "outside daily windows"
        for r in self.blocked:
            if r.contains(local):
                return "inside a disabled time range"
        return None


@dataclass
class Limits:
    """Counts at one instant; ``busy`` includes slots still in their pause."""

    task_max: int
    task_busy: int
    line_max: int
    line_busy: int


def free_slots(lim: Limits) -> int:
    return max(0, min(lim.task_max - lim.task_busy, lim.line_max - lim.line_busy))


@dataclass
class TokenBucket:
    """Calls-per-second pacing for one node; ``now`` is monotonic seconds."""

    rate: float
    burst: float = 0.0
    tokens: float = field(default=0.0)
    stamp: float | None = None

    def take(self, want: int, now: float) -> int:
        cap = self.burst or max(1.0, self.rate / 10)  # spread starts over the second
        if self.stamp is None:
            self.tokens, self.stamp = cap, now
        self.tokens = min(cap, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        got = min(want, int(self.tokens))
        self.tokens -= got
        return got

    def give_back(self, n: int) -> None:
        self.tokens += n
