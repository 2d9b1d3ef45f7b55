"""When the recorder takes a batch: small batches in a steady stream wait a little, others go at once."""

from __future__ import annotations

import pytest

from eslbridge.recorder import LINGER_S, LINGER_UNTIL, linger


@pytest.mark.parametrize("waiting, since, wait", [
    (1, 0.0, LINGER_S),  # right after the previous batch: wait the whole linger
    (1, LINGER_S / 4, LINGER_S * 3 / 4),  # part of it
    (1, LINGER_S, 0.0),  # the previous batch was long enough ago
    (1, 60.0, 0.0),  # a quiet spell: at once
    (LINGER_UNTIL - 1, 0.0, LINGER_S),
    (LINGER_UNTIL, 0.0, 0.0),  # enough waiting: at once
    (10_000, 0.0, 0.0),
])
def test_the_wait_before_a_batch(waiting, since, wait):
    assert linger(waiting, 100.0, 100.0 + since) == pytest.approx(wait)


def test_the_first_batch_goes_at_once():
    assert linger(1, 0.0, 5.0) == 0.0  # ``began`` starts at 0; monotonic time is far past it


def test_a_fact_that_comes_right_after_a_batch_waits_for_the_ones_behind_it():
    """The recorder takes the first fact at once; one that arrives while the next linger runs is
    recorded together with those that follow it within the linger, in one batch."""
    from datetime import UTC, datetime

    import gevent

    from eslbridge.recorder import Recorder
    from eslbridge.tracker import Fact
    from tests.helpers import wait_for

    recorder = Recorder(None, 1.0)  # type: ignore[arg-type]  # no database: _record is replaced
    batches: list[list[str]] = []
    recorder._record = lambda facts: batches.append([f.call_uuid for f in facts])  # type: ignore[method-assign]
    at = datetime.now(UTC)
    loop = gevent.spawn(recorder.run)
    try:
        recorder.note(Fact("blocked", "a", at))
        wait_for(lambda: batches == [["a"]])
        recorder.note(Fact("blocked", "b", at))
        gevent.sleep(0)  # the recorder wakes, finds one fact and lingers
        for name in "cde":
            recorder.note(Fact("blocked", name, at))
        wait_for(lambda: len(batches) == 2)
        assert batches == [["a"], ["b", "c", "d", "e"]]
    finally:
        recorder.stopping = True
        loop.join(1)
