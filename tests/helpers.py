"""Helpers shared by tests: waiting on a condition with a deadline instead of sleeping.

gevent's monkey-patching happens once, in the ``eslbridge.testing`` plugin that
pytest loads first (pyproject's ``-p eslbridge.testing``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> object:
    """Poll ``predicate`` until truthy or fail after ``timeout`` seconds (no bare sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        gevent.sleep(interval)
