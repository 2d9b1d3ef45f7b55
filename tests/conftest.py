from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import pytest  # noqa: E402

CAPTURES = Path(__file__).parent / "data" / "captures"


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


@pytest.fixture
def switch() -> Iterator[object]:
    from eslbridge.sim.server import SimConfig, Switch

    sw = Switch(SimConfig(time_scale=0.001, heartbeat_s=0)).start("127.0.0.1", 0)
    yield sw
    sw.stop()


@pytest.fixture
def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
