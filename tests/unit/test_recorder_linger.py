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
