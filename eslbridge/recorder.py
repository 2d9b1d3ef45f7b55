"""Turns tracker decisions into rows: one transaction per batch of events.

Events are queued by the ESL handlers; this greenlet drains up to ``BATCH``
at a time, locks the attempts they name, merges the facts with the pure
:mod:`eslbridge.tracker`, and writes attempts, numbers and outbox rows
together, so a crash never leaves a status without its notification.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import gevent
import gevent.event

from .esl.protocol import Event
from .notify.payload import notification
from .rows import NumberUpdate, OutboxRow
from .store import claims, recording
from .store.db import Database
from .tracker import (
    Attempt,
    Fact,
    RetryRule,
    apply,
    attempt_of,
    fact_from_event,
    lost,
    outcome,
    settle_job,
)
from .uuids import random_uuids

log = logging.getLogger(__name__)
BATCH = 500
# A batch's transaction costs about as much CPU for one call as for fifty (~1.5 ms of round
# trips and statements): at a few hundred calls a second, recording each call's events as they
# trickled in cost a millisecond of CPU per call. A small batch waits until LINGER_S after the
# previous one began, unless LINGER_UNTIL items are waiting; a batch after a quiet spell goes at once.
LINGER_S = 0.02
LINGER_UNTIL = 64


def linger(waiting: int, began: float, now: float) -> float:
    """Seconds to wait before taking a batch of ``waiting`` items, the previous batch having
    been taken at ``began`` (monotonic ``now``): none for a big batch or after a quiet spell."""
    if waiting >= LINGER_UNTIL:
        return 0.0
    return max(0.0, began + LINGER_S - now)


def _ignore(seconds: float) -> None:
    """The batch timer when no metrics are kept."""


class Recorder:
    def __init__(self, db: Database, grace_s: float, on_final: Callable[[], None] | None = None) -> None:
        self.db = db
        self.grace = timedelta(seconds=grace_s)
        # A deque and a flag, not a gevent Queue: its put and get are Python code (~1 us each,
        # three events a call), a deque's are not; greenlets switch only at the wait, so a
        # wake-up cannot be lost between the emptiness check and the wait.
        self._pending: deque[Event | Fact] = deque()
        self._ready = gevent.event.Event()
        self.rules: dict[str, RetryRule] = {}
        self.on_final = on_final
        self.finals = 0
        self.requeued = 0
        self.stopping = False
        self.enqueued = 0  # events handed to the recorder
        self.processed = 0  # events recorded (or found not to be ours)
        self.outcomes: dict[int, int] = {}  # final status → attempts that ended so (counted per batch)
        self.observe_batch: Callable[[float], None] = _ignore  # seconds of each batch's transaction

    def load_rules(self) -> None:
        with self.db.connection() as conn:
            rows = recording.recycle_rules(conn)
        self.rules = {
            str(r["id"]): RetryRule({int(s): (float(m), int(t)) for s, m, t in r["entries"]}, int(r["max_attempts"]))
            for r in rows
        }

    def on_event(self, node: str, event: Event) -> None:
        """ESL handler: only enqueue."""
        if event.name != "HEARTBEAT":
            self._put(event)

    def note(self, fact: Fact) -> None:
        """A fact the engine itself states (an answered call it abandoned), recorded with the events."""
        self._put(fact)

    def _put(self, item: Event | Fact) -> None:
        self.enqueued += 1
        self._pending.append(item)
        if not self._ready.is_set():
            self._ready.set()

    def backlog(self) -> int:
        """Events and facts waiting to be recorded."""
        return len(self._pending)

    def caught_up(self, mark: int, timeout: float) -> bool:
        """Wait until every event enqueued before ``mark`` has been recorded."""
        deadline = gevent.Timeout(timeout, False)
        with deadline:
            while self.processed < mark:
                gevent.sleep(0.01)
            return True
        return False

    def run(self) -> None:
        """Record until :attr:`stopping`; a batch in progress is always finished."""
        pending = self._pending
        began = 0.0  # when the previous batch was taken (monotonic)
        while not self.stopping:
            if not pending:
                self._ready.clear()
                self._ready.wait(0.2)
                continue
            wait = linger(len(pending), began, time.monotonic())
            if wait:
                gevent.sleep(wait)
            began = time.monotonic()
            take = pending.popleft
            events = [take() for _ in range(min(BATCH, len(pending)))]
            # A +OK job result changes no attempt (apply returns it as it was): no row to lock for it.
            facts = [f for f in (e if isinstance(e, Fact) else fact_from_event(e) for e in events)
                     if f is not None and not f.job_ok]
            if facts:
                started = time.perf_counter()
                self._record(facts)
                self.observe_batch(time.perf_counter() - started)
            self.processed += len(events)

    def _record(self, facts: list[Fact]) -> None:
        """Write facts; while PostgreSQL is away keep them and retry (capped backoff), never drop them."""
        failures = 0
        while True:
            try:
                self.apply_facts(facts)
                if failures:
                    log.warning("recording resumed after %d failed tries", failures)
                return
            except Exception as exc:
                delay = min(5.0, 0.1 * 2**failures)
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    log.error("recording %d call facts failed (%s); retrying in %.1fs", len(facts), exc.__class__.__name__, delay)
                gevent.sleep(delay)

    def settle(self, call_uuids: Iterable[str]) -> None:
        """Decide job failures that no channel event confirmed within the grace period."""
        self.apply_facts((), settle_uuids=call_uuids)

    def apply_facts(self, facts: Iterable[Fact], settle_uuids: Iterable[str] = (), lost_uuids: Iterable[str] = ()) -> None:
        by_call: dict[str, list[Fact]] = {}
        for f in facts:
            by_call.setdefault(f.call_uuid, []).append(f)
        lost_set = set(lost_uuids)
        settle_set = set(settle_uuids)
        wanted = set(by_call) | lost_set | settle_set
        if not wanted:
            return
        now = datetime.now(UTC)
        finals = 0
        outcomes: dict[int, int] = {}  # added to self.outcomes once committed (a failed batch is tried again)
        # Pipelined: BEGIN goes out with the lock, the write with COMMIT (two round trips, not four).
        with self.db.connection() as conn, conn.pipeline(), conn.transaction():
            rows = recording.lock_attempts(conn, wanted)
            attempts_out: list[dict[str, Any]] = []
            numbers_out: list[NumberUpdate] = []
            notes: list[OutboxRow] = []
            unsend: list[str] = []
            event_ids = iter(random_uuids(len(rows)))  # a notification's id, for each row that gets one
            for row in rows:
                before = attempt_of(row)
                a = before
                for f in by_call.get(row.call_uuid, ()):
                    a = apply(a, f)
                if row.call_uuid in settle_set:
                    verdict, a = settle_job(a, now, self.grace)
                    if verdict == "requeue":
                        unsend.append(row.call_uuid)
                        continue
                if row.call_uuid in lost_set:
                    a = lost(a, now)
                    log.warning("call %s of task %s (number %d) on %s left FreeSWITCH without a hangup: LOST",
                                row.call_uuid, row.task_id, row.number_id, row.node,
                                extra={"task": str(row.task_id), "number": row.number_id, "call_uuid": row.call_uuid,
                                       "node": row.node})
                if a == before:
                    continue
                attempts_out.append(_attempt_dict(a))
                if a.final:
                    finals += 1
                    outcomes[a.status] = outcomes.get(a.status, 0) + 1
                if a.final or a.status != before.status:
                    o = outcome(row, a, self.rules, now)
                    numbers_out.append(o.number)
                    if o.notify:
                        notes.append(notification(next(event_ids), row, a, o.retry_at, now))
            recording.save_outcomes(conn, attempts_out, numbers_out, notes)
            if unsend:
                claims.unsend(conn, unsend)
                self.requeued += len(unsend)
        self.finals += finals
        for status, n in outcomes.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + n
        if (finals or unsend) and self.on_final is not None:
            self.on_final()


# -- The attempt record of ``recording.save_outcomes`` ------------------------


def _attempt_dict(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id, "status": int(a.status), "answered_at": a.answered_at, "hangup_at": a.hangup_at,
        "cause": a.cause, "sip_status": a.sip_status, "billsec": a.billsec, "duration": a.duration,
        "job_cause": a.job_cause, "job_at": a.job_at, "saw_channel": a.saw_channel,
        "queue": a.queue, "queued_at": a.queued_at, "agent": a.agent, "bridged_at": a.bridged_at,
        "abandoned": a.abandoned, "recovered": a.recovered, "final": a.final,
    }
