"""Results are reused for the time they set themselves; results that set none never."""

from __future__ import annotations

from eslbridge.api.cache import CostlyResults
from eslbridge.api.tasks import progress_ttl


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counter(total: int, values: list[int]):
    def compute() -> dict[str, int]:
        values.append(len(values))
        return {"total": total, "n": values[-1]}
    return compute


def test_small_task_progress_is_counted_every_time():
    clock, values = Clock(), []
    cache = CostlyResults(progress_ttl, clock=clock)
    assert [cache.get("t", counter(20, values))["n"] for _ in range(3)] == [0, 1, 2]


def test_a_big_tasks_progress_is_reused_for_a_time_in_proportion_to_its_size():
    clock, values = Clock(), []
    cache = CostlyResults(progress_ttl, clock=clock)
    big = counter(1_000_000, values)
    assert cache.get("t", big)["n"] == 0
    clock.now += 4.9  # a million numbers: 5 s
    assert cache.get("t", big)["n"] == 0
    clock.now += 0.2
    assert cache.get("t", big)["n"] == 1


def test_keys_are_apart_and_a_result_that_became_cheap_is_dropped():
    clock, values = Clock(), []
    cache = CostlyResults(progress_ttl, clock=clock)
    assert cache.get(("tenant-a", "t"), counter(100_000, values))["n"] == 0
    assert cache.get(("tenant-b", "t"), counter(100_000, values))["n"] == 1  # another tenant's key: counted
    clock.now += 2  # both expired (at least 1 s)
    assert cache.get(("tenant-a", "t"), counter(10, values))["n"] == 2
    assert cache.get(("tenant-a", "t"), counter(10, values))["n"] == 3  # small now: not reused
    assert progress_ttl(None) == 0  # "no such task" is never remembered
