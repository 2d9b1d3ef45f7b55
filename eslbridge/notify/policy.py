"""Pure delivery policy: what a response means and when to try again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

# Waits after the 1st, 2nd, … failed try: 27 h 35 min in all, then dead-lettered.
SCHEDULE_S: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_RETRY_AFTER_S = 86400

Verdict = Literal["delivered", "retry", "gone"]


def classify(status: int | None) -> Verdict:
    """2xx delivered; 410 gone (stop for that endpoint); anything else (3xx included) retried."""
    if status is not None and 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    return "retry"


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


@dataclass(frozen=True)
class Next:
    dead: bool
    at: datetime | None


def next_try(attempts_done: int, now: datetime, asked_s: float | None = None, rng: random.Random | None = None) -> Next:
    """After ``attempts_done`` failed tries: when to try again, or dead."""
    if attempts_done > len(SCHEDULE_S):
        return Next(True, None)
    base = SCHEDULE_S[attempts_done - 1]
    jitter = (rng or random).uniform(0.8, 1.2)
    wait = max(base * jitter, asked_s or 0.0)
    return Next(False, now + timedelta(seconds=wait))
