"""The engine's call-centre greenlet: abandons calls no agent took, keeps agents in step, reports pacing.

Every ``TICK_S`` it asks the desk which answered calls waited past their
limit and moves each to the safe-harbor message (``uuid_transfer … abandoned
XML eslbridge_queue``), telling the recorder the call was abandoned. Every
``SYNC_S`` it reads each node's queues and agents (``callcenter_config``),
gives the agents their task's after-call work as wrap-up time, and writes
what the pacing saw (``task_pacing``) and why tasks are held.

What can go wrong: a node that is down or answers nothing in time skips
that round (its tasks stay held by the desk until a sync succeeds); a
PostgreSQL outage skips the write, never the abandonment of a call.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping

import gevent

from ..esl.link import NodeLink
from ..plan import QUEUE_CONTEXT, TaskPlan
from ..store import plans as plan_store
from ..store.db import Database
from .desk import Allowance, CallDesk

log = logging.getLogger(__name__)
TICK_S = 0.05  # abandonment deadlines are kept to about this (the limit is 2 s ± 0.2)
SYNC_S = 1.0  # agents re-read, wrap-up times checked, pacing written
ABANDONED_EXTENSION = "abandoned"  # dialplan/eslbridge.xml: the safe-harbor message, then hangup


class Attendant:
    def __init__(self, db: Database, desk: CallDesk, plans: Callable[[], list[TaskPlan]],
                 allowances: Mapping[str, Allowance], links: dict[str, NodeLink],
                 note_abandoned: Callable[[str], None], engine_id: str) -> None:
        """``plans``: the dialer's current task plans; ``allowances``: what the desk last allowed
        each agent task (the dialer's); ``note_abandoned``: tell the recorder a call was abandoned."""
        self.db = db
        self.desk = desk
        self.plans = plans
        self.allowances = allowances
        self.links = links
        self.note_abandoned = note_abandoned
        self.engine_id = engine_id
        self.stopping = False
        self.abandoned = 0
        self.synced = 0
        self._holds: dict[str, str | None] = {}

    def run(self) -> None:
        next_sync = 0.0
        while not self.stopping:
            gevent.sleep(TICK_S)
            try:
                self.abandon_due(time.monotonic())
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + SYNC_S
                    self.sync()
                    self.write()
            except Exception as exc:
                log.error("call centre round failed: %s", f"{exc.__class__.__name__}: {str(exc)[:200]}")

    def _agent_plans(self) -> list[TaskPlan]:
        return [p for p in self.plans() if p.agents is not None]

    def abandon_due(self, mono: float) -> None:
        due = self.desk.due(mono)
        if not due:
            return
        nodes = {p.task_id: p.node for p in self.plans()}
        for call_uuid in due:
            task = self.desk.calls.task_of(call_uuid)
            link = self.links.get(nodes.get(task or "", ""))
            self.abandoned += 1
            # Recorded whatever the switch says: the call waited past the limit with no agent.
            self.note_abandoned(call_uuid)
            self.desk.abandoned(call_uuid, time.time())
            if link is None or not link.is_up:
                continue
            try:
                link.bgapi(f"uuid_transfer {call_uuid} {ABANDONED_EXTENSION} XML {QUEUE_CONTEXT}", str(uuid.uuid4()))
            except Exception as exc:
                log.warning("call %s: could not move it to the safe-harbor message: %s", call_uuid, exc,
                            extra={"call_uuid": call_uuid, "task": task, "node": link.name})

    def sync(self) -> None:
        by_node: dict[str, tuple[set[str], dict[str, int]]] = {}
        for plan in self._agent_plans():
            assert plan.agents is not None
            queues, acw = by_node.setdefault(plan.node, (set(), {}))
            queues.add(plan.agents.queue)
            # Two tasks on one queue: its agents get the longer after-call work.
            acw[plan.agents.queue] = max(acw.get(plan.agents.queue, 0), plan.agents.acw_s)
        for node, (queues, acw) in by_node.items():
            link = self.links.get(node)
            if link is None or not link.is_up:
                self.desk.forget_node(node)
                continue
            link.follow_callcenter()
            api = link.api
            self.desk.sync(node, lambda cmd, api=api: api(cmd, 5.0), queues, acw, time.time())  # type: ignore[misc]
            self.synced += 1

    def write(self) -> None:
        holds: dict[str, str | None] = {}
        rows = []
        for plan in self._agent_plans():
            allowance = self.allowances.get(plan.task_id)
            if allowance is None:
                continue
            holds[plan.task_id] = allowance.hold
            s = allowance.state
            if s is not None:
                rows.append({"task_id": plan.task_id, "agents_ready": s.agents_ready, "agents_busy": s.agents_busy,
                             "agents_wrap_up": s.agents_wrap_up, "agents_logged_in": s.agents_logged_in,
                             "calls_ringing": s.calls_ringing, "calls_waiting": s.calls_waiting,
                             "dial_level": allowance.dial_level})
        changed = {k: v for k, v in holds.items() if self._holds.get(k, "unset") != v}
        if not (changed or rows):
            return
        with self.db.transaction() as conn:
            plan_store.set_hold_reasons(conn, changed)
            plan_store.save_pacing(conn, self.engine_id, rows)
        for task, reason in changed.items():
            if reason:
                log.warning("task %s held: %s", task, reason, extra={"task": task})
        self._holds.update(changed)
