"""Replay guard: a signature is accepted once, checked for concurrent requests in one statement.

Every signed request must record its signature before it is served. Under
load, a worker has dozens of requests between two round trips to PostgreSQL,
so the requests that arrive while one batch is being recorded are recorded
together in the next (group commit): one INSERT for many requests, and a
request never waits for more than the batch in flight plus its own.
"""

from __future__ import annotations

import hashlib
import time

import gevent
from gevent.event import AsyncResult

from ..store import apps
from ..store.db import Database

FORGET_EVERY_S = 60.0


class ReplayGuard:
    def __init__(self, db: Database, window_s: int) -> None:
        self.db = db
        self.window_s = window_s
        self._pending: dict[bytes, list[AsyncResult]] = {}
        self._flusher: gevent.Greenlet | None = None
        self._forgot_at = 0.0

    def first_use(self, sign: str) -> bool:
        """True the first time ``sign`` is seen within the window (across all workers)."""
        digest = hashlib.sha256(sign.encode()).digest()
        result: AsyncResult = AsyncResult()
        self._pending.setdefault(digest, []).append(result)
        if self._flusher is None:
            self._flusher = gevent.spawn(self._flush)
        return bool(result.get())

    def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    fresh = self._record(list(batch))
                except Exception as exc:
                    for waiters in batch.values():
                        for waiter in waiters:
                            waiter.set_exception(exc)
                    continue
                for digest, waiters in batch.items():
                    waiters[0].set(digest in fresh)
                    for waiter in waiters[1:]:  # the same signature twice in one batch: one wins
                        waiter.set(False)
        finally:
            self._flusher = None

    def _record(self, digests: list[bytes]) -> set[bytes]:
        with self.db.connection() as conn:
            fresh = apps.record_signatures(conn, digests)
            now = time.monotonic()
            if now - self._forgot_at > FORGET_EVERY_S:
                self._forgot_at = now
                apps.forget_signatures(conn, 2 * self.window_s)
        return fresh
