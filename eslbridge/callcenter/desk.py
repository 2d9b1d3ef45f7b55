"""The engine's call desk: agents as mod_callcenter reports them, its own agent-task calls, pacing.

One desk per engine. It keeps, per FreeSWITCH node, an :class:`AgentBoard`
fed by ``CUSTOM callcenter::info`` events and loaded with ``callcenter_config``
at every (re)connect; the engine's own calls of agent tasks by stage
(:class:`AgentCalls`); and one pacer per task (ratio or predictive), fed with
each call's outcome. The dialer asks :meth:`CallDesk.allow` how many calls an
agent task may start; the engine's timer asks :meth:`CallDesk.due` which
answered calls no agent took in time.

No sockets and no greenlets here: commands go through the ``api`` callable the
engine passes to :meth:`sync`, and clocks are arguments, so every rule is
tested with a fake clock and recorded replies. What can go wrong: a node whose
mod_callcenter is not loaded answers ``-ERR`` to ``callcenter_config``; the
desk then holds that node's agent tasks with a reason instead of dialling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..dialer.pacing import CallOutcome, Pacer, PacingState, Predictive, Ratio
from ..esl.protocol import Event
from ..plan import AgentPlan, TaskPlan
from . import commands
from .agents import AgentBoard
from .calls import AgentCalls
from .members import member_fact
from .replies import CallcenterError, parse_ok, parse_table

log = logging.getLogger(__name__)
CC_SUBCLASS = "callcenter::info"


@dataclass(slots=True)
class _Times:
    """When one call was originated, answered and bridged (epoch seconds)."""

    task_id: str
    originated: float
    acw_s: float
    answered: float | None = None
    bridged: float | None = None
    queued: float | None = None
    reported: bool = False  # the dial result went to the pacer


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the desk allows an agent task now: how many calls, and if none, why."""

    calls: int
    hold: str | None = None
    dial_level: float = 0.0
    state: PacingState | None = None


@dataclass
class CallDesk:
    engine_id: str
    boards: dict[str, AgentBoard] = field(default_factory=dict)  # node → its mod_callcenter's agents
    queues: dict[str, set[str]] = field(default_factory=dict)  # node → queues it has
    errors: dict[str, str] = field(default_factory=dict)  # node → why its call centre cannot be read
    calls: AgentCalls = field(default_factory=AgentCalls)
    pacers: dict[str, Pacer] = field(default_factory=dict)  # task → its pacer
    pacer_keys: dict[str, tuple[object, ...]] = field(default_factory=dict)
    times: dict[str, _Times] = field(default_factory=dict)  # call uuid → its times
    wrap_ups: dict[tuple[str, str], int] = field(default_factory=dict)  # (node, agent) → wrap-up we set

    def board(self, node: str) -> AgentBoard:
        board = self.boards.get(node)
        if board is None:
            board = self.boards[node] = AgentBoard()
        return board

    # -- events (the ESL dispatcher greenlet) -----------------------------
    def on_event(self, node: str, event: Event, now: float, mono: float) -> None:
        """Follow one event: agents from CUSTOM callcenter::info, our calls from channel events."""
        name = event.name
        if name == "CUSTOM":
            headers = event.headers
            if headers.get("Event-Subclass") != CC_SUBCLASS:
                return
            self.board(node).on_event(headers, now)
            fact = member_fact(headers, now)
            if fact is None:
                return
            times = self.times.get(fact.call_uuid)
            if times is None:
                return
            if fact.kind == "queued":
                times.queued = fact.at
            elif fact.kind == "bridged":
                times.bridged = fact.at
                self.calls.bridged(fact.call_uuid)
                self._report(times, answered=True, abandoned=False, now=now)
            return
        uid = event.unique_id
        if uid is None or uid not in self.times or uid != event.headers.get("variable_origination_uuid"):
            return
        if name == "CHANNEL_ANSWER":
            self.times[uid].answered = now
            self.calls.answered(uid, mono)
        elif name == "CHANNEL_HANGUP_COMPLETE":
            self.ended(uid, now)

    def _report(self, times: _Times, answered: bool, abandoned: bool, now: float) -> None:
        """The call's dial result, once, as soon as it is known (bridged, abandoned, or not answered)."""
        if times.reported:
            return
        times.reported = True
        pacer = self.pacers.get(times.task_id)
        if pacer is not None:
            ring_end = times.answered if times.answered is not None else now
            pacer.observe(CallOutcome(at=now, answered=answered, ring_s=max(0.0, ring_end - times.originated),
                                      abandoned=abandoned))

    def abandoned(self, call_uuid: str, now: float) -> None:
        """The engine abandoned the call (no agent within the limit)."""
        times = self.times.get(call_uuid)
        if times is not None:
            self._report(times, answered=True, abandoned=True, now=now)

    def ended(self, call_uuid: str, now: float) -> None:
        """The call is over (hangup, failed originate, or lost): its result and talk to the pacer."""
        times = self.times.pop(call_uuid, None)
        self.calls.gone(call_uuid)
        if times is None:
            return
        self._report(times, answered=times.answered is not None, abandoned=False, now=now)
        pacer = self.pacers.get(times.task_id)
        if times.bridged is not None and pacer is not None:
            pacer.observe_talk(max(0.0, now - times.bridged), times.acw_s)

    # -- the dialer -------------------------------------------------------
    def _pacer(self, task_id: str, agents: AgentPlan) -> Pacer:
        key: tuple[object, ...] = (agents.predictive, agents.multiply_power, agents.abandon_pct, agents.acw_s)
        pacer = self.pacers.get(task_id)
        if pacer is None or self.pacer_keys.get(task_id) != key:
            pacer = (Predictive(agents.abandon_pct / 100.0, acw_s=float(agents.acw_s), grace_s=agents.abandon_after_s)
                     if agents.predictive else Ratio(agents.multiply_power))
            self.pacers[task_id], self.pacer_keys[task_id] = pacer, key
        return pacer

    def allow(self, plan: TaskPlan, now: float, mono: float, max_more: int) -> Allowance:
        """How many calls the agent task ``plan`` may start now (≤ ``max_more``), or why none."""
        agents = plan.agents
        assert agents is not None
        node = plan.node
        if node in self.errors:
            return Allowance(0, f"call centre of {node} unreadable: {self.errors[node]}")
        if node not in self.queues:
            return Allowance(0, f"waiting for {node}'s call centre")
        if agents.queue not in self.queues[node]:
            return Allowance(0, f"queue {agents.queue} does not exist on {node}")
        board = self.board(node)
        counts = board.counts(agents.queue, now)
        if counts.logged_in == 0:
            return Allowance(0, f"no agent logged in to {agents.queue}")
        mine = self.calls.counts(plan.task_id)
        ringing = [t.originated for u, t in self.times.items()
                   if t.task_id == plan.task_id and t.answered is None] if mine.ringing else []
        state = PacingState(
            now=now, agents_ready=counts.ready, agents_busy=counts.busy, agents_wrap_up=counts.wrap_up,
            # On Break agents are logged in but take no calls: not capacity.
            agents_logged_in=counts.logged_in - counts.on_break, busy_ends=board.wrap_up_ends(agents.queue, now),
            busy_since=board.busy_since(agents.queue, now), calls_ringing=mine.ringing, ring_started=ringing,
            calls_waiting=mine.waiting, max_more=max_more,
        )
        pacer = self._pacer(plan.task_id, agents)
        n = max(0, min(max_more, pacer.launch(state)))
        return Allowance(n, None, float(pacer.dial_level), state)

    def originated(self, plan: TaskPlan, call_uuids: Iterable[str], now: float) -> None:
        agents = plan.agents
        assert agents is not None
        for u in call_uuids:
            self.calls.originated(u, plan.task_id, agents.abandon_after_s)
            self.times[u] = _Times(plan.task_id, now, float(agents.acw_s))

    def due(self, mono: float) -> list[str]:
        """Answered calls that waited for an agent past their limit (each once)."""
        return self.calls.due(mono)

    # -- the node (the engine's sync greenlet) ---------------------------------
    def sync(self, node: str, api: Callable[[str], str], queues: Iterable[str], acw: dict[str, int],
             now: float) -> None:
        """Read the node's queues and the agents of ``queues`` (at connect, after a reconnect, and
        now and then), and give every agent of a queue its task's after-call work as wrap-up time.

        ``api`` runs ``api <command>`` and returns the body; a ``-ERR`` marks the node unreadable.
        """
        try:
            known = {row["name"] for row in parse_table(api(commands.queue_list()))}
            board = self.board(node)
            for queue in sorted(set(queues) & known):
                board.load(queue, parse_table(api(commands.queue_list_agents(queue))), now)
                seconds = acw.get(queue)
                if seconds is None:
                    continue
                for agent in board.names(queue):
                    if self.wrap_ups.get((node, agent)) != seconds:
                        parse_ok(api(commands.set_wrap_up(agent, seconds)))
                        board.set_wrap_up(agent, seconds)
                        self.wrap_ups[(node, agent)] = seconds
        except (CallcenterError, ValueError) as exc:
            if self.errors.get(node) != str(exc):
                log.error("call centre of %s cannot be read: %s", node, exc)
            self.errors[node] = str(exc)[:200]
            return
        self.errors.pop(node, None)
        self.queues[node] = known

    def forget_node(self, node: str) -> None:
        """The connection to ``node`` ended: what we knew of its agents is stale until the next sync."""
        self.queues.pop(node, None)
        self.wrap_ups = {k: v for k, v in self.wrap_ups.items() if k[0] != node}
