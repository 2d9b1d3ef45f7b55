"""The dialer loop: for every running task, claim what may start now and originate it.

Claims are committed before any originate is sent: a crash after the commit
leaves attempts that reconciliation finds missing on FreeSWITCH and ends as
LOST; a crash before it leaves nothing. An originate that cannot be sent
(link down, refused) is undone: not an attempt.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, time as dtime, timezone
from typing import Any

import gevent
import gevent.event

from ..esl.link import ENGINE_VAR, NodeLink
from ..esl.originate import OriginateError, OriginateRequest, VariablePolicy, build_originate, check_variables
from ..store import queries as q
from ..store.db import Database
from .policy import Limits, Schedule, TimeRange, TokenBucket, free_slots

log = logging.getLogger(__name__)
TASK_REFRESH_S = 1.0


def schedule_of(row: dict[str, Any]) -> Schedule:
    def t(text: str) -> dtime:
        return dtime.fromisoformat(text)

    return Schedule(
        running=row["start"] == 1,
        date_start=row["date_start"],
        date_end=row["date_end"],
        windows=tuple((t(s), t(e)) for s, e in (row["daily_windows"] or [])),
        blocked=tuple(TimeRange(frozenset(w), t(s), t(e)) for w, s, e in (row["blocked"] or [])),
        tz=row["timezone"],
        line_begin=row["begin_at"],
        line_deadline=row["deadline_at"],
    )


@dataclass(frozen=True)
class Prepared:
    """A running task as read at the last refresh, with what every tick would otherwise re-derive."""

    row: dict[str, Any]
    schedule: Schedule
    variables: dict[str, str] | OriginateError  # checked originate_variables, or why they are refused


def prepare(row: dict[str, Any], policy: VariablePolicy) -> Prepared:
    """Parse and check once per refresh: a task with forbidden variables claims no numbers at all."""
    try:
        variables: dict[str, str] | OriginateError = check_variables(row["originate_variables"], policy)
    except OriginateError as exc:
        variables = exc
    return Prepared(row, schedule_of(row), variables)


class Dialer:
    def __init__(self, db: Database, links: dict[str, NodeLink], engine_id: str, *, tick_s: float = 0.05,
                 batch: int = 200, policy: VariablePolicy = VariablePolicy()) -> None:
        self.db = db
        self.links = links
        self.engine_id = engine_id
        self.tick_s = tick_s
        self.batch = batch
        self.policy = policy
        self.buckets = {name: TokenBucket(link.node.calls_per_second) for name, link in links.items()}
        self.line_buckets: dict[Any, TokenBucket] = {}
        self.engines = 1  # live engines sharing every node's and line's calls per second
        self.wake = gevent.event.Event()
        self.tasks: list[Prepared] = []
        self.tasks_at = 0.0
        self.stopping = False
        self.originated = 0
        self.ticks = 0
        self.refused: dict[str, str] = {}  # task → why its settings cannot be dialled

    def run(self) -> None:
        while not self.stopping:
            try:
                started = self.tick()
            except Exception as exc:
                log.error("dialer tick failed: %s", exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200])
                gevent.sleep(0.5)
                continue
            if not started:
                self.wake.wait(self.tick_s)
                self.wake.clear()

    def tick(self) -> int:
        self.ticks += 1
        now_mono = time.monotonic()
        if now_mono - self.tasks_at > TASK_REFRESH_S:
            with self.db.connection() as conn:
                self.tasks = [prepare(row, self.policy) for row in q.running_tasks(conn)]
                self.share(q.live_engines(conn))
            self.tasks_at = now_mono
        now = datetime.now(timezone.utc)
        started = 0
        for prepared in self.tasks:
            if self.stopping:
                break
            link = self.links.get(prepared.row["node"])
            if link is None or not link.is_up or prepared.schedule.why_not(now) is not None:
                continue
            if isinstance(prepared.variables, OriginateError):
                self._refuse(prepared.row, prepared.variables)
                continue
            started += self.dial_task(prepared.row, prepared.variables, link)
        return started

    def share(self, engines: int) -> None:
        """Split calls per second between the live engines.

        FreeSWITCH's sessions-per-second limit, and a trunk's, hold per node
        and per line whatever the number of dialers: each of n engines paces
        itself at 1/n of them.
        """
        self.engines = max(1, engines)
        for name, link in self.links.items():
            self.buckets[name].rate = link.node.calls_per_second / self.engines

    def dial_task(self, task: dict[str, Any], tenant_vars: dict[str, str], link: NodeLink) -> int:
        bucket = self.buckets[link.name]
        now = time.monotonic()
        tokens = bucket.take(self.batch, now)
        if task["cps"]:  # the line's own calls-per-second cap, if it has one
            line_rate = float(task["cps"]) / self.engines
            line_bucket = self.line_buckets.get(task["caller_line_id"])
            if line_bucket is None or line_bucket.rate != line_rate:
                line_bucket = self.line_buckets[task["caller_line_id"]] = TokenBucket(line_rate)
            allowed = line_bucket.take(tokens, now)
            bucket.give_back(tokens - allowed)
            tokens = allowed
        if tokens == 0:
            return 0
        claimed: list[tuple[dict[str, Any], str]] = []
        with self.db.transaction() as conn:
            line_max, line_busy, task_busy = q.lock_line_and_count(conn, task["caller_line_id"], task["uuid"], task["call_pause_second"])
            n = min(tokens, free_slots(Limits(task["maximumcall"], task_busy, line_max, line_busy)))
            rows = q.claim_numbers(conn, task["uuid"], n, task["random_assignment_number"] == 1)
            attempts = []
            for row in rows:
                call_uuid = str(uuid.uuid4())
                claimed.append((row, call_uuid))
                attempts.append((row["id"], task["uuid"], task["caller_line_id"], row["attempts"], call_uuid, link.name, self.engine_id))
            q.insert_attempts(conn, attempts)
        bucket.give_back(tokens - len(claimed))
        if task["cps"] and task["caller_line_id"] in self.line_buckets:
            self.line_buckets[task["caller_line_id"]].give_back(tokens - len(claimed))
        failed: list[str] = []
        blocked: list[str] = []
        batch: list[tuple[str, str]] = []
        for row, call_uuid in claimed:
            try:
                cmd = build_originate(
                    OriginateRequest(
                        call_uuid=call_uuid,
                        dial_format=task["dial_format"] or task["dial_string"],
                        phone=row["phone"],
                        destination_extension=task["destination_extension"],
                        destination_dialplan=task["destination_dialplan"],
                        destination_context=task["destination_context"],
                        caller_id_number=task["_origination_caller_id_number"] or task["call_number"] or None,
                        timeout_s=task["_originate_timeout"],
                        tenant_variables=tenant_vars,
                        engine_variables={ENGINE_VAR: self.engine_id, "eslbridge_task": str(task["uuid"]), "eslbridge_number": str(row["id"])},
                    ),
                    self.policy,
                )
            except OriginateError as exc:
                if exc.field == "phone":
                    blocked.append(call_uuid)
                else:
                    self._refuse(task, exc)
                    failed.append(call_uuid)
                continue
            batch.append((cmd, call_uuid))
        try:
            errors = link.bgapi_many(batch)
        except Exception as exc:  # not connected
            errors = [exc] * len(batch)  # type: ignore[list-item]
        for (_, call_uuid), err in zip(batch, errors):
            if err is None:
                self.originated += 1
            else:
                failed.append(call_uuid)
        if len(failed) > len(claimed) - len(batch) - len(blocked):
            log.warning("%d originate(s) on %s not sent: %s", len(failed), link.name, next(e for e in errors if e))
        if failed or blocked:
            with self.db.transaction() as conn:
                q.unsend(conn, failed)
                q.block(conn, blocked, "INVALID_PHONE")
        return len(claimed) - len(failed) - len(blocked)

    def _refuse(self, task: dict[str, Any], exc: OriginateError) -> None:
        key = str(task["uuid"])
        if self.refused.get(key) != str(exc):
            log.error("task %s cannot be dialled: %s", key, exc)
        self.refused[key] = str(exc)


