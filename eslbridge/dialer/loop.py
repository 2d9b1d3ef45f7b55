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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import gevent
import gevent.event
import gevent.pool

from ..callcenter.desk import Allowance, CallDesk
from ..esl.link import NodeLink
from ..esl.originate import DEFAULT_POLICY, PHONE_RE, OriginateError, VariablePolicy
from ..plan import TaskPlan, plan_task
from ..store import claims, nodes, plans
from ..store.db import Database
from .policy import Limits, TokenBucket, free_slots

log = logging.getLogger(__name__)
TASK_REFRESH_S = 1.0


def _ignore(seconds: float) -> None:
    """The claim timer when no metrics are kept."""


class Dialer:
    def __init__(self, db: Database, links: dict[str, NodeLink], engine_id: str, *, tick_s: float = 0.05,
                 batch: int = 200, policy: VariablePolicy = DEFAULT_POLICY, desk: CallDesk | None = None,
                 safe_harbor: str = "silence_stream://1000", abandon_after_s: float = 2.0) -> None:
        self.db = db
        self.links = links
        self.engine_id = engine_id
        self.tick_s = tick_s
        self.batch = batch
        self.policy = policy
        self.buckets = {name: TokenBucket(link.node.calls_per_second) for name, link in links.items()}
        self.line_buckets: dict[Any, TokenBucket] = {}
        self.task_buckets: dict[Any, TokenBucket] = {}
        self.engines = 1  # live engines sharing every node's and line's calls per second
        self.wake = gevent.event.Event()
        self.tasks: list[TaskPlan] = []
        self.tasks_at = 0.0
        self.paused: frozenset[str] = frozenset()  # nodes drained by an operator: no new calls there
        self.stopping = False
        self.originated = 0
        self.sent: dict[str, int] = {}  # node → originates FreeSWITCH accepted (counted per batch)
        self.refused: dict[str, int] = {}  # node → originates not sent or refused by the reply
        self.observe_claim: Callable[[float], None] = _ignore  # seconds of each claim transaction
        self.ticks = 0
        self.desk = desk  # agents and pacing of agent tasks (None: no agent task is dialled)
        self.safe_harbor = safe_harbor  # what an abandoned call hears
        self.abandon_after_s = abandon_after_s
        self.allowances: dict[str, Allowance] = {}  # agent task → what the desk allowed at its last tick
        self.settling = gevent.pool.Group()  # batches sent whose replies are awaited

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
        # Sent batches still settle: a refused originate is undone, not left to reconciliation.
        self.settling.join(timeout=10)

    def tick(self) -> int:
        self.ticks += 1
        now_mono = time.monotonic()
        if now_mono - self.tasks_at > TASK_REFRESH_S:
            with self.db.connection() as conn:
                rows = plans.running_tasks(conn)
                self.share(claims.live_engines(conn))
                self.tasks, changed = self.plan(rows)
                plans.set_plan_errors(conn, changed)
                self.paused = nodes.paused(conn)
            self.tasks_at = now_mono
        now = datetime.now(UTC)
        started = 0
        for plan in self.tasks:
            if self.stopping:
                break
            link = self.links.get(plan.node)
            if link is None or not link.is_up or plan.node in self.paused or plan.schedule.why_not(now) is not None:
                continue
            started += self.dial_task(plan, link)
        return started

    def plan(self, rows: list[dict[str, Any]]) -> tuple[list[TaskPlan], dict[str, str | None]]:
        """Plans of the tasks that can be dialled, and the tasks whose ``plan_error`` changed.

        A task that cannot be dialled claims nothing: the API and ``apply``
        refuse such settings, but rows written by other systems may hold them,
        and one tenant's row must never stop the others' calls.
        """
        ok: list[TaskPlan] = []
        changed: dict[str, str | None] = {}
        for row in rows:
            key = str(row["uuid"])
            error: str | None = None
            try:
                ok.append(plan_task(row, self.policy, self.engine_id, self.safe_harbor, self.abandon_after_s))
            except OriginateError as exc:
                error = str(exc)
            except Exception as exc:
                error = f"task: cannot be read ({exc.__class__.__name__})"
            if error != row.get("plan_error"):
                changed[key] = error
                if error is not None:
                    log.error("task %s cannot be dialled: %s", key, error, extra={"task": key})
        return ok, changed

    def share(self, engines: int) -> None:
        """Split calls per second between the live engines.

        FreeSWITCH's sessions-per-second limit, and a trunk's, hold per node
        and per line whatever the number of dialers: each of n engines paces
        itself at 1/n of them.
        """
        self.engines = max(1, engines)
        for name, link in self.links.items():
            self.buckets[name].rate = link.node.calls_per_second / self.engines

    def _cap(self, buckets: dict[Any, TokenBucket], key: Any, cps: float | None) -> TokenBucket | None:
        """The calls-per-second bucket of a line or a task with a cap (this engine's share of it)."""
        if not cps:
            return None
        rate = cps / self.engines
        bucket = buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = buckets[key] = TokenBucket(rate)
        return bucket

    def dial_task(self, plan: TaskPlan, link: NodeLink) -> int:
        now = time.monotonic()
        # The node's rate, then the line's and the task's own caps, if they have them: what one
        # bucket grants and the next refuses goes back to the ones before it.
        taken = [self.buckets[link.name]]
        tokens = taken[0].take(self.batch, now)
        for cap in (self._cap(self.line_buckets, plan.line_id, plan.line_cps),
                    self._cap(self.task_buckets, plan.task_id, plan.task_cps)):
            if cap is not None and tokens > 0:
                allowed = cap.take(tokens, now)
                for b in taken:
                    b.give_back(tokens - allowed)
                taken.append(cap)
                tokens = allowed
        if tokens == 0:
            return 0
        if plan.agents is not None:
            allowed = self._agents_allow(plan, tokens, now)
            for b in taken:
                b.give_back(tokens - allowed)
            tokens = allowed
            if tokens == 0:
                return 0
        render = plan.originate.render
        batch: list[tuple[str, str]] = []
        blocked: list[str] = []
        # Pipelined: BEGIN, the line lock and the counts share a round trip; the insert goes with COMMIT.
        claim_started = time.perf_counter()
        with self.db.connection() as conn, conn.pipeline(), conn.transaction():
            line_max, line_busy, task_busy = claims.lock_line_and_count(conn, plan.line_id, plan.task_id, plan.call_pause_second)
            n = min(tokens, free_slots(Limits(plan.maximumcall, task_busy, line_max, line_busy)))
            rows = claims.claim_numbers(conn, plan.task_id, n, plan.random_order)
            attempts = []
            for row in rows:
                call_uuid = str(uuid.uuid4())
                attempts.append((row["id"], plan.task_id, plan.line_id, row["attempts"], call_uuid, link.name, self.engine_id))
                if PHONE_RE.fullmatch(row["phone"]):
                    batch.append((render(call_uuid, row["id"], row["phone"]), call_uuid))
                else:  # a row older than the phone column's check (migration 006)
                    blocked.append(call_uuid)
            claims.insert_attempts(conn, attempts)
        self.observe_claim(time.perf_counter() - claim_started)
        for b in taken:
            b.give_back(tokens - len(rows))
        if plan.agents is None:
            # Sent, and its replies awaited, beside the loop, which goes on claiming: waiting
            # here idled the dialer for a round trip per batch. The claimed attempts count
            # against every limit until a refusal undoes them. Greenlets start in spawn
            # order, so batches reach FreeSWITCH in the order they were claimed.
            self.settling.spawn(self._send_beside, plan, link, batch, blocked)
            return len(batch)
        # An agent task's pacing needs to know what went out before its next tick.
        return self._send(plan, link, batch, blocked)

    def _send_beside(self, plan: TaskPlan, link: NodeLink, batch: list[tuple[str, str]], blocked: list[str]) -> None:
        try:
            self._send(plan, link, batch, blocked)
        except Exception as exc:  # the undo failed: reconciliation ends those attempts as LOST
            log.error("originate batch on %s not settled: %s", link.name,
                      exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__)

    def _send(self, plan: TaskPlan, link: NodeLink, batch: list[tuple[str, str]], blocked: list[str]) -> int:
        """Originate ``batch`` and undo what FreeSWITCH did not take; returns how many it took."""
        try:
            errors = link.bgapi_many(batch)
        except Exception as exc:  # not connected
            errors = [exc] * len(batch)  # type: ignore[list-item]
        failed = [call_uuid for (_, call_uuid), err in zip(batch, errors) if err is not None]
        self.originated += len(batch) - len(failed)
        self.sent[link.name] = self.sent.get(link.name, 0) + len(batch) - len(failed)
        if plan.agents is not None and self.desk is not None:
            gone = set(failed)
            self.desk.originated(plan, [u for _, u in batch if u not in gone], time.time())
        if failed:
            self.refused[link.name] = self.refused.get(link.name, 0) + len(failed)
            log.warning("%d originate(s) on %s not sent: %s", len(failed), link.name, next(e for e in errors if e),
                        extra={"node": link.name, "task": plan.task_id})
        if failed or blocked:
            with self.db.transaction() as conn:
                claims.unsend(conn, failed)
                claims.block(conn, blocked, "INVALID_PHONE")
        return len(batch) - len(failed)

    def _agents_allow(self, plan: TaskPlan, tokens: int, mono: float) -> int:
        """How many of ``tokens`` an agent task may use: what its pacing allows for its agents."""
        if self.desk is None:
            self.allowances[plan.task_id] = Allowance(0, "the engine follows no call centre")
            return 0
        allowance = self.desk.allow(plan, time.time(), mono, max_more=tokens)
        self.allowances[plan.task_id] = allowance
        return allowance.calls
