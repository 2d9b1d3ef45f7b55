"""Capped exponential backoff with full jitter (pure; the caller sleeps)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of ``base * 2**n`` capped at ``cap`` seconds, each drawn uniformly in [d/2, d].

    Half-jitter keeps a floor so a fleet of engines reconnecting after a
    FreeSWITCH restart spreads out without anyone retrying in a hot loop.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempts, 32)))
        self.attempts += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
