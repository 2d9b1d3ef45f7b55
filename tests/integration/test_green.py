"""Database waits under gevent park the greenlet on the event loop, never the whole process."""

from __future__ import annotations

import socket

import gevent
import psycopg
import pytest
from psycopg.waiting import Wait

from eslbridge.store.green import GreenConnection, wait_green


def test_the_pool_hands_out_green_connections_that_let_other_greenlets_run(db):
    ticks = 0

    def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            gevent.sleep(0.01)

    other = gevent.spawn(ticker)
    try:
        with db.connection() as conn:
            assert isinstance(conn, GreenConnection)
            before = ticks
            conn.execute("SELECT pg_sleep(0.3)")
            assert ticks - before >= 5  # the ticker kept running during the query
            assert conn.execute("SELECT 41 + 1 AS n").fetchone()["n"] == 42
    finally:
        other.kill()


def test_a_wait_with_a_deadline_gives_up():
    a, b = socket.socketpair()
    try:
        def never_readable():
            yield Wait.R  # nothing is ever sent on ``b``'s peer

        with pytest.raises(psycopg.errors._WaitTimeout):
            wait_green(never_readable(), a.fileno(), timeout=0.05)
    finally:
        a.close()
        b.close()


def test_readiness_is_passed_back_to_the_generator():
    a, b = socket.socketpair()
    try:
        seen = []

        def wants_read_then_write():
            seen.append((yield Wait.R))
            seen.append((yield Wait.W))
            return "done"

        b.sendall(b"x")
        assert wait_green(wants_read_then_write(), a.fileno(), timeout=1) == "done"
        assert seen[0] & 1 and seen[1] & 2
    finally:
        a.close()
        b.close()


def read_then_write():
    """A psycopg-style generator: wait to read, then to write."""
    yield Wait.R
    yield Wait.W
    return "done"


def test_watchers_kept_between_waits_are_reused_and_stopped():
    """One watcher per event mask for the socket's life; none is left started after a wait."""
    a, b = socket.socketpair()
    try:
        watchers: dict = {}
        b.sendall(b"x")
        assert wait_green(read_then_write(), a.fileno(), timeout=1, watchers=watchers) == "done"
        first = dict(watchers)
        assert set(first) == {Wait.R, Wait.W} and not any(w.active for w in first.values())
        assert wait_green(read_then_write(), a.fileno(), timeout=1, watchers=watchers) == "done"
        assert all(watchers[k] is first[k] for k in first) and not any(w.active for w in watchers.values())
    finally:
        a.close()
        b.close()


def test_a_connection_keeps_its_watchers(db):
    with db.connection() as conn:
        conn.execute("SELECT 1").fetchone()
        kept = dict(conn._watchers)
        conn.execute("SELECT 2").fetchone()
        assert kept and all(conn._watchers[k] is w for k, w in kept.items())


def test_watchers_made_for_one_wait_alone_are_closed_when_it_ends(monkeypatch):
    """A wait given no ``watchers`` to keep closes the ones it made (an unclosed watcher holds its fd)."""
    from gevent.hub import Waiter, get_hub

    from eslbridge.store import green

    real = get_hub()
    made = []

    class Watcher:  # a real io watcher that notes being closed
        def __init__(self, fd, mask):
            self.io, self.closed = real.loop.io(fd, mask), False

        def start(self, *args, **kw):
            self.io.start(*args, **kw)

        def stop(self):
            self.io.stop()

        def close(self):
            self.io.close()
            self.closed = True

    class Loop:  # the real loop, noting each io watcher it makes
        def io(self, fd, mask):
            made.append(Watcher(fd, mask))
            return made[-1]

        def timer(self, seconds):
            return real.loop.timer(seconds)

    class Hub:
        loop = Loop()

    monkeypatch.setattr(green, "get_hub", lambda: Hub())
    monkeypatch.setattr(green, "Waiter", lambda hub: Waiter(real))
    a, b = socket.socketpair()
    try:
        b.sendall(b"x")
        assert wait_green(read_then_write(), a.fileno(), timeout=1) == "done"
        assert len(made) == 2 and all(w.closed for w in made)
    finally:
        a.close()
        b.close()
