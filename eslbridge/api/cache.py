"""Reuse of results that are expensive to compute, for a time the result itself sets.

A task's progress is counted from its numbers at query time: ~0.1 ms for a
20-number task, ~225 ms for a million numbers. Dashboards poll it; a few of them
on a big task must not keep a PostgreSQL core busy. The caller says, from a
result, how long it may be reused (0: not at all); the cost of a count
depends on the number of rows, not on how busy the machine is, so it is
judged from the result and never from a measured time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any


class CostlyResults:
    def __init__(self, ttl_of: Callable[[Any], float], max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_of = ttl_of
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``'s result, or a recent one for ``key`` while its time lasts."""
        hit = self._entries.get(key)
        if hit is not None and self.clock() < hit[0]:
            return hit[1]
        value = compute()
        ttl = self.ttl_of(value)
        if ttl > 0:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (self.clock() + ttl, value)
        else:
            self._entries.pop(key, None)
        return value
