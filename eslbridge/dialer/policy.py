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
        return inside(local.time(), self.start, self.end)


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
        return self.why_not_now(now) or self.why_not_local(self.local(now))

    def local(self, now: datetime) -> datetime:
        """``now`` on the task's clock (its zone, else the server's)."""
        return now.astimezone(ZoneInfo(self.tz)) if self.tz else now.astimezone()

    def why_not_now(self, now: datetime) -> str | None:
        """What holds the task whatever the clock on the wall says: stopped, its line's time."""
        if not self.running:
            return "stopped"
        if self.line_begin and now < self.line_begin:
            return "line not yet usable"
        if self.line_deadline and now >= self.line_deadline:
            return "line expired"
        return None

    def why_not_local(self, local: datetime) -> str | None:
        """What holds the task at a local time: its dates, daily windows and disabled ranges.
        Callee-local tasks judge each callee's local time by these (eslbridge.dialer.hours)."""
        if self.date_start and local.date() < self.date_start:
            return "before date range"
        if self.date_end and local.date() > self.date_end:
            return "after date range"
        if self.windows and not any(inside(local.time(), s, e) for s, e in self.windows):
            return "outside daily windows"
        for r in self.blocked:
            if r.contains(local):
                return "inside a disabled time range"
        return None


def inside(t: time, start: time, end: time) -> bool:
    """``t`` in [start, end), a range that may cross midnight."""
    return (start <= t < end) if start <= end else (t >= start or t < end)


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


def claim_floor(granted: int, free: int, batch: int, rate: float, quantum_s: float) -> int:
    """The fewest calls worth a claim transaction next time, for a task whose last claim the
    calls-per-second buckets (``rate``: the slowest) granted ``granted`` calls when ``free``
    slots and a ``batch`` allowed more: ``quantum_s`` of calls, no more than the slots left
    free or a batch. 1 when the slots or the batch bound the claim: claim whatever comes free.

    A transaction costs about as much for one call as for fifty, so a paced task claims its
    calls a quantum at a time instead of one token at a time.
    """
    if granted >= min(free, batch):
        return 1
    return max(1, min(int(rate * quantum_s), free - granted, batch))
