"""Reuse of results that are expensive to compute, for a time in proportion to their cost.

A task's progress is counted from its numbers at query time: ~0.2 ms for a
small task, ~225 ms for a million numbers. Dashboards poll it; a few of them
on a big task must not keep a PostgreSQL core busy. A result that took at
least ``slow_s`` is reused for ``cost_factor`` times as long as it took (at
least ``min_ttl_s``), so PostgreSQL spends at most ~1/cost_factor of a core on
it per API worker; quick results are never reused, so small tasks stay exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any


class CostlyResults:
    def __init__(self, slow_s: float = 0.02, cost_factor: float = 20.0, min_ttl_s: float = 1.0,
                 max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.slow_s = slow_s
        self.cost_factor = cost_factor
        self.min_ttl_s = min_ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``'s result, or a recent one for ``key`` if computing it was slow."""
        start = self.clock()
        hit = self._entries.get(key)
        if hit is not None and start < hit[0]:
            return hit[1]
        value = compute()
        took = self.clock() - start
        if took >= self.slow_s:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (start + took + max(self.min_ttl_s, self.cost_factor * took), value)
        else:
            self._entries.pop(key, None)
        return value
