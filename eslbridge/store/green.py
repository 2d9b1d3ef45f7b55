"""psycopg connections that wait on gevent's event loop directly.

With ``select`` monkey-patched, psycopg waits through gevent's emulated
``poll()``: a poll object, a watcher per fd and a Timeout for every wait,
~40 µs each, several times per query. That was most of the CPU of an API
request. ``GreenConnection`` overrides ``Connection.wait`` (the method every
query, COPY and pipeline goes through) to park the greenlet on one io watcher
instead, the same watcher from one wait to the next (one per event mask, kept by the
connection). Connecting still uses psycopg's own path.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import psycopg
from gevent.hub import Waiter, get_hub
from psycopg import errors as e

# psycopg's Wait (R=1, W=2, RW=3) and Ready flags have the event loop's bit values
# (EV_READ=1, EV_WRITE=2): they pass through unchanged.
_MASK = 3


def wait_green(gen: Any, fileno: int, timeout: float | None = None, watchers: dict[int, Any] | None = None) -> Any:
    """Drive a psycopg generator: park on the socket until it is ready as asked.

    ``watchers``: io watchers kept between calls, one per event mask (a connection's socket
    does not change): making and closing a watcher per wait cost a system call or two each.
    """
    hub = get_hub()
    loop = hub.loop
    deadline = monotonic() + timeout if timeout is not None else None
    own = watchers is None  # watchers made for this wait alone are closed when it ends
    if watchers is None:
        watchers = {}
    try:
        wanted = next(gen)
        while True:
            waiter = Waiter(hub)
            io = watchers.get(wanted)
            if io is None:
                io = watchers[wanted] = loop.io(fileno, int(wanted))
            io.start(waiter.switch, pass_events=True)
            timer = None
            if deadline is not None:
                timer = loop.timer(max(0.0, deadline - monotonic()))
                timer.start(waiter.switch, 0)
            try:
                events = waiter.get()
            finally:
                io.stop()
                if timer is not None:
                    timer.stop()
                    timer.close()
            if deadline is not None and events == 0 and monotonic() >= deadline:
                raise e._WaitTimeout("wait timeout expired")
            # An error event without read/write readiness: let libpq find out what happened.
            wanted = gen.send((events & _MASK) or _MASK)
    except StopIteration as done:
        return done.value
    finally:
        if own:
            for io in watchers.values():
                io.close()


class GreenConnection(psycopg.Connection[Any]):
    """A psycopg connection whose queries wait on gevent's loop (see the module doc)."""

    _watchers: dict[int, Any] | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if self._watchers is None:
            self._watchers = {}
        return wait_green(gen, self.pgconn.socket, timeout, self._watchers)
