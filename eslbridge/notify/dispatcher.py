"""Outbox dispatcher: claim due notifications, sign, POST concurrently, record every try.

A row is claimed with a lease (``SKIP LOCKED``), so several dispatchers share
the outbox and a crashed one's rows come back when the lease ends; a row is
only marked delivered after a 2xx, so a crash mid-delivery means a duplicate
with the same ``webhook-id``, never a loss. The clock is injectable so tests
can move an hour ahead.
"""

from __future__ import annotations

import logging
import random
import socket
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.lock
import gevent.pool

from ..store import outbox
from ..store.db import Database
from . import policy, signing
from .http import Client
from .target import IPNet, Resolver, TargetRefused, TargetUnresolved, check, system_resolver

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        owner: str = f"notify@{socket.gethostname()}",
        *,
        allow_nets: Sequence[IPNet] = (),
        resolve: Resolver = system_resolver,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = 64,
        per_endpoint: int = 8,
        batch: int = 200,
        lease_s: float = 60.0,
        idle_s: float = 0.05,
        client: Client | None = None,
    ) -> None:
        self.db = db
        self.owner = owner
        self.allow = tuple(allow_nets)
        self.resolve = resolve
        self.clock = clock
        self.pool = gevent.pool.Pool(concurrency)
        self.per_endpoint = per_endpoint
        self.client = client or Client(per_endpoint)
        self.batch = batch
        self.lease_s = lease_s
        self.idle_s = idle_s
        self.rng = random.Random()
        self._endpoint_locks: dict[str, gevent.lock.BoundedSemaphore] = {}
        self._done: list[dict[str, Any]] = []
        self.wake = gevent.event.Event()
        self.stopping = False
        self.delivered = 0
        self.failed = 0
        self.dead = 0
        self.on_flush: Callable[[list[dict[str, Any]]], None] | None = None  # metrics: each recorded batch

    # -- loop --------------------------------------------------------------
    def run(self) -> None:
        flusher = gevent.spawn(self._flush_loop)
        try:
            while not self.stopping:
                self.pool.wait_available()
                try:
                    n = self.run_once()
                except Exception as exc:
                    log.error("notification dispatch failed: %s", exc.__class__.__name__)
                    n = 0
                    gevent.sleep(0.5)
                if n == 0:  # nothing due: sleep until woken by a new hangup, or poll again soon
                    self.wake.wait(self.idle_s * 10)
                    self.wake.clear()
        finally:
            self.pool.join(timeout=20)
            flusher.kill()
            self.flush()

    def run_once(self) -> int:
        """Claim one batch and start its deliveries; returns how many were claimed."""
        free = self.pool.free_count()
        if free == 0:
            return 0
        with self.db.transaction() as conn:
            rows = outbox.claim_notifications(conn, self.owner, self.clock(), self.lease_s, min(self.batch, free))
            if not rows:
                return 0
            tenants = {r["user_id"] for r in rows}
            secrets = outbox.signing_secrets(conn, list(tenants), self.clock())
            for tenant in tenants - set(secrets):
                secret = signing.new_secret()
                outbox.add_secret(conn, tenant, secret, None)
                secrets[tenant] = [secret]
        for row in rows:
            self.pool.spawn(self._deliver, row, signing.Keys(secrets[row["user_id"]]))
        return len(rows)

    def _flush_loop(self) -> None:
        while True:
            gevent.sleep(0.02)
            try:
                self.flush()
            except Exception as exc:
                log.error("recording deliveries failed (%s); will retry", exc.__class__.__name__)
                gevent.sleep(0.5)

    def flush(self) -> None:
        """Write finished deliveries in one transaction."""
        if not self._done:
            return
        done, self._done = self._done, []
        try:
            with self.db.transaction() as conn:
                outbox.finish_deliveries(conn, done)
        except Exception:
            self._done = done + self._done  # keep them; the lease protects against double claims meanwhile
            raise
        if self.on_flush is not None:
            self.on_flush(done)

    # -- one delivery ------------------------------------------------------
    def _deliver(self, row: dict[str, Any], keys: signing.Keys) -> None:
        """Try one notification; whatever happens, a result is recorded (never a lapsed claim)."""
        now = self.clock()
        result: dict[str, Any] = {"id": row["id"], "at": now, "http_status": None, "latency_ms": None,
                                  "error": None, "delivered": False, "next_at": None, "dead_reason": None}
        stage = "checking the target"
        try:
            try:
                target = check(row["url"], self.allow, self.resolve)
            except TargetRefused as exc:
                result.update(error=str(exc), dead_reason=f"target refused: {exc}")
                self.dead += 1
                return
            except TargetUnresolved as exc:
                self._failed(result, row, now, str(exc))
                return
            stage = "signing"
            body = row["body"]
            headers = signing.headers(row["event_id"], now, body, keys)
            stage = "sending"
            lock = self._endpoint_locks.setdefault(f"{target.ip}:{target.port}", gevent.lock.BoundedSemaphore(self.per_endpoint))
            with lock:
                resp = self.client.post(target, body.encode(), headers)
            stage = "recording"
            result.update(http_status=resp.status, latency_ms=resp.latency_ms, error=resp.error)
            verdict = policy.classify(resp.status)
            if verdict == "delivered":
                result["delivered"] = True
                self.delivered += 1
            elif verdict == "gone":
                result["dead_reason"] = "endpoint answered 410 Gone"
                self.dead += 1
            else:
                self._failed(result, row, now, resp.error or f"HTTP {resp.status}", resp.retry_after)
        except Exception as exc:
            # A bug or an input nobody foresaw. Its text is not kept: an exception
            # raised while signing or sending may quote a secret or a header.
            reason = f"internal error while {stage}: {exc.__class__.__name__}"
            where = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__, limit=-4))).rstrip()
            log.error("notification %s: %s\n%s", row.get("event_id"), reason, where)
            result.update(http_status=None, latency_ms=None, delivered=False, dead_reason=None)
            self._failed(result, row, now, reason)
        finally:
            self._done.append(result)

    def _failed(self, result: dict[str, Any], row: dict[str, Any], now: datetime, error: str,
                retry_after: str | None = None) -> None:
        """A failed try: the next one on the schedule, or the dead letter once it is spent."""
        attempt_no = row["attempts"] + 1
        result["error"] = error
        self.failed += 1
        nxt = policy.next_try(attempt_no, now, policy.retry_after(retry_after, now), self.rng)
        if nxt.dead:
            result["dead_reason"] = f"gave up after {attempt_no} tries: {error}"
            self.dead += 1
        else:
            result["next_at"] = nxt.at
