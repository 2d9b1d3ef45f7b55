"""Costly results are reused for a time in proportion to their cost; quick ones never."""

from __future__ import annotations

from eslbridge.api.cache import CostlyResults


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def computing(clock: Clock, took: float, values: list[int]):
    def compute() -> int:
        clock.now += took
        values.append(len(values))
        return values[-1]
    return compute


def test_quick_results_are_computed_every_time():
    clock, values = Clock(), []
    cache = CostlyResults(clock=clock)
    assert [cache.get("t", computing(clock, 0.001, values)) for _ in range(3)] == [0, 1, 2]


def test_a_slow_result_is_reused_for_twenty_times_its_cost_then_recomputed():
    clock, values = Clock(), []
    cache = CostlyResults(clock=clock)
    slow = computing(clock, 0.25, values)
    assert cache.get("t", slow) == 0
    clock.now += 4.9  # 20 x 0.25 s = 5 s from the end of the computation
    assert cache.get("t", slow) == 0
    clock.now += 0.2
    assert cache.get("t", slow) == 1


def test_keys_are_apart_and_a_result_that_turned_quick_is_dropped():
    clock, values = Clock(), []
    cache = CostlyResults(clock=clock, min_ttl_s=1.0)
    assert cache.get(("tenant-a", "t"), computing(clock, 0.05, values)) == 0
    assert cache.get(("tenant-b", "t"), computing(clock, 0.05, values)) == 1  # another tenant's key: computed
    clock.now += 2  # both expired (1 s minimum, 20 x 0.05 = 1 s)
    assert cache.get(("tenant-a", "t"), computing(clock, 0.001, values)) == 2
    assert cache.get(("tenant-a", "t"), computing(clock, 0.001, values)) == 3  # quick now: not reused
