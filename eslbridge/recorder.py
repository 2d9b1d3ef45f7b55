"""Turns tracker decisions into rows: one transaction per batch of events.

Events are queued by the ESL handlers; this greenlet drains up to ``BATCH``
at a time, locks the attempts they name, merges the facts with the pure
:mod:`eslbridge.tracker`, and writes attempts, numbers and outbox rows
together, so a crash never leaves a status without its notification.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import gevent
import gevent.queue

from .causes import Q850, Status
from .esl.protocol import Event
from .store import queries as q
from .store.db import Database
from .tracker import Attempt, Fact, RetryRule, apply, fact_from_event, lost, settle_job

log = logging.getLogger(__name__)
BATCH = 500


def attempt_of(row: dict[str, Any]) -> Attempt:
    return Attempt(
        id=row["id"],
        call_uuid=row["call_uuid"],
        status=Status(row["status"]),
        answered_at=row["answered_at"],
        hangup_at=row["hangup_at"],
        cause=row["hangup_cause"],
        sip_status=row["sip_status"],
        billsec=row["billsec"],
        duration=row["duration"],
        job_cause=row["job_cause"],
        job_at=row["job_at"],
        saw_channel=row["saw_channel"],
    )


def notification(row: dict[str, Any], a: Attempt, retry_at: datetime | None) -> dict[str, Any]:
    """The hangup notification payload (docs/notifications.md)."""
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "user_id": row["user_id"],
        "task_id": row["task_id"],
        "attempt_id": row["id"],
        "url": row["call_notify_url"],
        "payload": {
            "type": "call.hangup",
            "version": 1,
            "id": event_id,
            "occurred_at": (a.hangup_at or datetime.now(timezone.utc)).isoformat(),
            "data": {
                "task_uuid": str(row["task_id"]),
                "task_name": row["task_name"],
                "number_id": row["number_id"],
                "phone": row["phone"],
                "attempt": row["attempt_no"],
                "call_uuid": row["call_uuid"],
                "node": row["node"],
                "status": int(a.status),
                "status_name": a.status.name.lower(),
                "hangup_cause": a.cause,
                "q850": Q850.get(a.cause or ""),
                "sip_status": a.sip_status,
                "originated_at": row["originated_at"].isoformat() if row["originated_at"] else None,
                "answered_at": a.answered_at.isoformat() if a.answered_at else None,
                "hangup_at": a.hangup_at.isoformat() if a.hangup_at else None,
                "billsec": a.billsec,
                "duration": a.duration,
                "retry": retry_at is not None,
                "retry_at": retry_at.isoformat() if retry_at else None,
                "variables": row["variables"],
            },
        },
    }


class Recorder:
    def __init__(self, db: Database, grace_s: float, on_final: Callable[[], None] | None = None) -> None:
        self.db = db
        self.grace = timedelta(seconds=grace_s)
        self.queue: gevent.queue.Queue[Event] = gevent.queue.Queue()
        self.rules: dict[str, RetryRule] = {}
        self.on_final = on_final
        self.finals = 0
        self.requeued = 0
        self.stopping = False
        self.enqueued = 0  # events handed to the recorder
        self.processed = 0  # events recorded (or found not to be ours)

    def load_rules(self) -> None:
        with self.db.connection() as conn:
            rows = q.recycle_rules(conn)
        self.rules = {
            str(r["id"]): RetryRule({int(s): (float(m), int(t)) for s, m, t in r["entries"]}, int(r["max_attempts"]))
            for r in rows
        }

    def on_event(self, node: str, event: Event) -> None:
        """ESL handler: only enqueue."""
        if event.name != "HEARTBEAT":
            self.enqueued += 1
            self.queue.put(event)

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
        while not self.stopping:
            try:
                first = self.queue.get(timeout=0.2)
            except gevent.queue.Empty:
                continue
            events = [first]
            while len(events) < BATCH and not self.queue.empty():
                events.append(self.queue.get_nowait())
            facts = [f for f in (fact_from_event(e) for e in events) if f is not None]
            if facts:
                self._record(facts)
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
        now = datetime.now(timezone.utc)
        finals = 0
        with self.db.transaction() as conn:
            rows = q.lock_attempts(conn, wanted)
            attempts_out, numbers_out, notes, unsend = [], [], [], []
            for row in rows:
                before = attempt_of(row)
                a = before
                for f in by_call.get(row["call_uuid"], ()):
                    a = apply(a, f)
                if row["call_uuid"] in settle_set:
                    verdict, a = settle_job(a, now, self.grace)
                    if verdict == "requeue":
                        unsend.append(row["call_uuid"])
                        continue
                if row["call_uuid"] in lost_set:
                    a = lost(a, now)
                if a == before:
                    continue
                attempts_out.append(self._attempt_row(a))
                if a.final:
                    finals += 1
                    numbers_out.append(self._number_row(row, a, now, notes))
                elif a.status != before.status:
                    numbers_out.append({"id": row["number_id"], "status": int(a.status), "cause": None,
                                        "next_attempt_at": None, "retries": row["retries"]})
            if attempts_out:
                q.save_attempts(conn, attempts_out)
            if numbers_out:
                q.save_numbers(conn, numbers_out)
            if notes:
                q.add_notifications(conn, notes)
            if unsend:
                q.unsend(conn, unsend)
                self.requeued += len(unsend)
        self.finals += finals
        if (finals or unsend) and self.on_final is not None:
            self.on_final()

    def _rule_for(self, row: dict[str, Any]) -> RetryRule | None:
        """The task's recycle rule, else its number batch's retry switch (seed 001)."""
        if row["auto_recycle_rule_id"]:
            return self.rules.get(str(row["auto_recycle_rule_id"]))
        groups = row.get("phone_groups") or []
        if groups and groups[0].get("autoOutboundSwitch") == 1:
            minutes = float(groups[0].get("autoOutboundInterval") or 5)
            times = int(groups[0].get("autoOutboundTimes") or 1)
            return RetryRule({s: (minutes, times) for s in range(11, 17)}, max_attempts=times + 1)
        return None

    @staticmethod
    def _attempt_row(a: Attempt) -> dict[str, Any]:
        return {
            "id": a.id, "status": int(a.status), "answered_at": a.answered_at, "hangup_at": a.hangup_at,
            "cause": a.cause, "sip_status": a.sip_status, "billsec": a.billsec, "duration": a.duration,
            "job_cause": a.job_cause, "job_at": a.job_at, "saw_channel": a.saw_channel, "final": a.final,
        }

    def _number_row(self, row: dict[str, Any], a: Attempt, now: datetime, notes: list[dict[str, Any]]) -> dict[str, Any]:
        rule = self._rule_for(row)
        retries = dict(row["retries"] or {})
        key = str(int(a.status))
        retry_at = rule.next_attempt(a.status, row["attempts"], int(retries.get(key, 0)), now) if rule else None
        if retry_at is not None:
            retries[key] = int(retries.get(key, 0)) + 1
        notify = row["call_notify_type"]
        if row["call_notify_url"] and (notify == 2 or (notify == 1 and a.status != Status.ANSWERED)):
            notes.append(notification(row, a, retry_at))
        return {"id": row["number_id"], "status": int(a.status), "cause": a.cause, "next_attempt_at": retry_at, "retries": retries}
