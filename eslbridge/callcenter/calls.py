"""The engine's own calls of agent tasks, by stage, and their abandonment deadlines.

Theory of operation. The pacing of an agent task needs, at every tick, how
many of its calls are still ringing (originated, not answered) and how many
were answered and wait for an agent (answered, not bridged). mod_callcenter
knows the second number per queue, not per task, and neither knows the first,
so the engine keeps its own ledger, fed by the same events the tracker reads:

    originated ──answer──▶ waiting ──bridge-agent-start──▶ bridged
         │                   │
         └──hangup──▶ gone   └──deadline──▶ abandoned (the engine moves the call to the
                                            safe-harbor message; its hangup ends it)

An answered call not bridged ``limit`` seconds after the answer is due for
abandonment: :meth:`AgentCalls.due` returns it once. mod_callcenter's own
timers count whole seconds and run up to 2.5 s late (ESL.md), so the engine
keeps this deadline itself, on its monotonic clock, from the moment it read
the answer.

Events can come in any order (a bridge before the answer was read, a hangup
before anything): every transition is idempotent and a call that is gone
stays gone. Pure: no clock, no I/O; ``now`` is passed in.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal["ringing", "waiting", "bridged", "abandoned"]


@dataclass(slots=True)
class _Call:
    task_id: str
    stage: Stage = "ringing"
    answered_at: float | None = None
    limit_s: float = 2.0


@dataclass(frozen=True, slots=True)
class StageCounts:
    ringing: int = 0
    waiting: int = 0
    bridged: int = 0


@dataclass
class AgentCalls:
    """Agent-task calls of this engine; counts per task in O(1)."""

    _calls: dict[str, _Call] = field(default_factory=dict)
    _counts: dict[str, dict[Stage, int]] = field(default_factory=dict)
    _deadlines: list[tuple[float, str]] = field(default_factory=list)  # heap of (due, call uuid)

    def __len__(self) -> int:
        return len(self._calls)

    def _move(self, call: _Call, stage: Stage) -> None:
        counts = self._counts.setdefault(call.task_id, {})
        counts[call.stage] = counts.get(call.stage, 0) - 1
        counts[stage] = counts.get(stage, 0) + 1
        call.stage = stage

    def originated(self, call_uuid: str, task_id: str, limit_s: float) -> None:
        """An originate of an agent task was sent (before any of its events can be read)."""
        if call_uuid in self._calls:
            return
        self._calls[call_uuid] = _Call(task_id, limit_s=limit_s)
        counts = self._counts.setdefault(task_id, {})
        counts["ringing"] = counts.get("ringing", 0) + 1

    def answered(self, call_uuid: str, now: float) -> None:
        call = self._calls.get(call_uuid)
        if call is None or call.stage != "ringing":
            return
        call.answered_at = now
        self._move(call, "waiting")
        heapq.heappush(self._deadlines, (now + call.limit_s, call_uuid))

    def bridged(self, call_uuid: str) -> None:
        call = self._calls.get(call_uuid)
        if call is not None and call.stage in ("ringing", "waiting"):
            self._move(call, "bridged")

    def gone(self, call_uuid: str) -> None:
        """The call hung up (or its originate failed): it no longer counts anywhere."""
        call = self._calls.pop(call_uuid, None)
        if call is not None:
            counts = self._counts[call.task_id]
            counts[call.stage] -= 1

    def due(self, now: float) -> list[str]:
        """Answered calls whose agent did not come in time; each is returned once (now abandoned)."""
        out: list[str] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, call_uuid = heapq.heappop(self._deadlines)
            call = self._calls.get(call_uuid)
            if call is not None and call.stage == "waiting":
                self._move(call, "abandoned")
                out.append(call_uuid)
        return out

    def counts(self, task_id: str) -> StageCounts:
        c = self._counts.get(task_id)
        if not c:
            return StageCounts()
        return StageCounts(c.get("ringing", 0), c.get("waiting", 0), c.get("bridged", 0))

    def stage(self, call_uuid: str) -> Stage | None:
        call = self._calls.get(call_uuid)
        return call.stage if call is not None else None

    def task_of(self, call_uuid: str) -> str | None:
        call = self._calls.get(call_uuid)
        return call.task_id if call is not None else None
