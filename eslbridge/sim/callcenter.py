"""mod_callcenter as the simulator plays it: queues, agents, tiers, members, and ``callcenter_config``.

Theory of operation (mod_callcenter.c of FreeSWITCH 1.10.12, checked against the
``cc_*`` captures):

* Time is passed in (``now``, seconds on the model's clock) and never read here.
  mod_callcenter keeps and compares **whole epoch seconds** (``int(now)``):
  join, offer, bridge and bridge-end times, ``ready_time``, wrap-up.
* The dispatcher runs every 0.1 s (its first pass 0.05 s after a member joins
  an idle queue: FreeSWITCH's phase is arbitrary, 20–80 ms in the captures). It walks the members that wait, longest
  waiting first, and offers each the first agent of its queue's tiers, in the
  order ``level, last_bridge_end, position`` (longest-idle-agent), that is
  status Available (or On Demand), state Waiting, tier Ready (or No Answer),
  out of wrap-up (``last_bridge_end < int(now) - wrap_up_time``) and ready
  (``ready_time <= int(now)``). An agent that is Available, On Demand **or On
  Break**, whatever its state, counts as "an agent exists" for the no-agent timer.
* Each member is checked every 0.5 s from joining: max-wait-time, and the
  no-agent timer (no agent seen for ≥ max-wait-time-with-no-agent whole seconds
  **and** ≥ that + …-time-reached since joining: 4.02 s after joining for 2 + 2
  when no agent ever was).
* An offer sets the agent Receiving; the agent answers after its
  ``answer_after_s``, or its originate fails when the contact's ``leg_timeout``
  expires, which FreeSWITCH also counts in whole seconds
  (``floor(start) + leg_timeout + 1``). A failure puts the agent back to Waiting
  with ``ready_time`` = now + the delay for its cause, counts a no-answer, and
  at ``max_no_answer`` sets the queue's agent-no-answer-status (On Break).
* A bridged agent hangs up after ``talk_s``; the member may hang up first.
  Either way the bridge ends (bridge-agent-end, member-queue-end Terminated,
  agent Waiting); wrap-up has no event, it is only ``last_bridge_end``.

Every call returns :class:`Out` records in the order FreeSWITCH fires them:
the ``CC-Action`` of each ``callcenter::info`` event, plus the channel moments
the server plays around them (``agent-legs-up``, ``agent-line-gone``,
``member-bridged``, ``agent-legs-failed``, ``agent-hangup``, ``member-released``).
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Final

LOGGED_OUT: Final = "Logged Out"
AVAILABLE: Final = "Available"
ON_DEMAND: Final = "Available (On Demand)"
ON_BREAK: Final = "On Break"
STATUSES: Final = (LOGGED_OUT, AVAILABLE, ON_DEMAND, ON_BREAK)
WAITING: Final = "Waiting"
RECEIVING: Final = "Receiving"
IN_A_QUEUE_CALL: Final = "In a queue call"
IDLE: Final = "Idle"
STATES: Final = (WAITING, RECEIVING, IN_A_QUEUE_CALL, IDLE, "Reserved")
TIER_STATES: Final = ("No Answer", "Ready", "Offering", "Active Inbound", "Standby")

DISPATCH_S: Final = 0.1  # the agent dispatch thread's period
MEMBER_CHECK_S: Final = 0.5  # each member thread's period
BRIDGE_POLL_S: Final = 0.1  # the agent thread notices a hangup within this
UNBRIDGED_GIVE_UP_S: Final = 5.5  # an answered loopback contact with no bridge behind it
DEFAULT_LEG_TIMEOUT_S: Final = 60  # mod_callcenter's agent originate timeout without [leg_timeout=N]

AGENT_COLUMNS: Final = (
    "name", "instance_id", "uuid", "type", "contact", "status", "state", "max_no_answer", "wrap_up_time",
    "reject_delay_time", "busy_delay_time", "no_answer_delay_time", "last_bridge_start", "last_bridge_end",
    "last_offered_call", "last_status_change", "no_answer_count", "calls_answered", "talk_time", "ready_time",
    "external_calls_count",
)
MEMBER_COLUMNS: Final = (
    "queue", "instance_id", "uuid", "session_uuid", "cid_number", "cid_name", "system_epoch", "joined_epoch",
    "rejoined_epoch", "bridge_epoch", "abandoned_epoch", "base_score", "skill_score", "serving_agent",
    "serving_system", "state", "score",
)
TIER_COLUMNS: Final = ("queue", "agent", "state", "level", "position")
QUEUE_COLUMNS: Final = (
    "name", "strategy", "moh_sound", "time_base_score", "tier_rules_apply", "tier_rule_wait_second",
    "tier_rule_wait_multiply_level", "tier_rule_no_agent_no_wait", "discard_abandoned_after",
    "abandoned_resume_allowed", "max_wait_time", "max_wait_time_with_no_agent",
    "max_wait_time_with_no_agent_time_reached", "record_template", "calls_answered", "calls_abandoned",
    "ring_progressively_delay", "skip_agents_with_external_calls", "agent_no_answer_status",
)
USAGE: Final = (
    "-USAGE: \ncallcenter_config <target> <args>,\n"
    "\tcallcenter_config agent add [name] [type] | \n"
    "\tcallcenter_config agent del [name] | \n"
    "\tcallcenter_config agent reload [name] | \n"
    "\tcallcenter_config agent set status [agent_name] [status] | \n"
    "\tcallcenter_config agent set state [agent_name] [state] | \n"
    "\tcallcenter_config agent set contact [agent_name] [contact] | \n"
    "\tcallcenter_config agent set ready_time [agent_name] [wait till epoch] | \n"
    "\tcallcenter_config agent set reject_delay_time [agent_name] [wait second] | \n"
    "\tcallcenter_config agent set busy_delay_time [agent_name] [wait second] | \n"
    "\tcallcenter_config agent set no_answer_delay_time [agent_name] [wait second] | \n"
    "\tcallcenter_config agent get status [agent_name] | \n"
    "\tcallcenter_config agent get state [agent_name] | \n"
    "\tcallcenter_config agent get uuid [agent_name] | \n"
    "\tcallcenter_config agent list [[agent_name]] | \n"
    "\tcallcenter_config tier add [queue_name] [agent_name] [[level]] [[position]] | \n"
    "\tcallcenter_config tier set state [queue_name] [agent_name] [state] | \n"
    "\tcallcenter_config tier set level [queue_name] [agent_name] [level] | \n"
    "\tcallcenter_config tier set position [queue_name] [agent_name] [position] | \n"
    "\tcallcenter_config tier del [queue_name] [agent_name] | \n"
    "\tcallcenter_config tier reload [queue_name] [agent_name] | \n"
    "\tcallcenter_config tier list | \n"
    "\tcallcenter_config queue load [queue_name] | \n"
    "\tcallcenter_config queue unload [queue_name] | \n"
    "\tcallcenter_config queue reload [queue_name] | \n"
    "\tcallcenter_config queue list | \n"
    "\tcallcenter_config queue list agents [queue_name] [status] [state] | \n"
    "\tcallcenter_config queue list members [queue_name] | \n"
    "\tcallcenter_config queue list tiers [queue_name] | \n"
    "\tcallcenter_config queue count | \n"
    "\tcallcenter_config queue count agents [queue_name] [status] [state] | \n"
    "\tcallcenter_config queue count members [queue_name] | \n"
    "\tcallcenter_config queue count tiers [queue_name]\n"
)
INVALID: Final = "-ERR Invalid!\n"
NOT_FOUND: Final = "-ERR Agent not found!\n"
OK: Final = "+OK\n"
_LEG_TIMEOUT = re.compile(r"leg_timeout=(\d+)")


# -- configuration --------------------------------------------------------------
@dataclass
class QueueConfig:
    """A queue as ``callcenter.conf.xml`` sets it; defaults as in the captures' ``sales@default``."""

    name: str = "sales@default"
    strategy: str = "longest-idle-agent"
    moh_sound: str = "silence_stream://-1"
    time_base_score: str = "system"
    tier_rules_apply: bool = False
    tier_rule_wait_second: int = 300
    tier_rule_wait_multiply_level: bool = True
    tier_rule_no_agent_no_wait: bool = False
    discard_abandoned_after: int = 60  # seconds an abandoned member row stays
    abandoned_resume_allowed: bool = False
    max_wait_time: int = 0  # seconds; 0 = wait forever while an agent exists
    max_wait_time_with_no_agent: int = 2  # seconds
    max_wait_time_with_no_agent_time_reached: int = 2  # seconds
    record_template: str = ""
    ring_progressively_delay: int = 0
    skip_agents_with_external_calls: bool = True
    agent_no_answer_status: str = ON_BREAK


@dataclass
class AgentConfig:
    """An agent, and how the simulated person behaves when offered a call.

    ``answer_after_s``: seconds from the offer to the answer (None: never answers,
    the offer fails at the contact's leg_timeout). ``talk_s``: seconds from the
    answer until the agent hangs up (None: stays until the caller hangs up).
    """

    name: str
    contact: str = ""  # "" → [leg_timeout=5]loopback/<user>/agents, as in the captures
    status: str = LOGGED_OUT
    state: str = WAITING
    type: str = "callback"
    max_no_answer: int = 3
    wrap_up_time: int = 5  # seconds
    reject_delay_time: int = 5
    busy_delay_time: int = 5
    no_answer_delay_time: int = 5
    answer_after_s: float | None = 0.0
    talk_s: float | None = 4.0
    unbridged: bool = False  # the contact answers but never bridges a phone (cc_loopback_agent_not_bridged)


@dataclass
class TierConfig:
    queue: str
    agent: str
    level: int = 1
    position: int = 1
    state: str = "Ready"


def _default_agents() -> list[AgentConfig]:
    return [AgentConfig(f"agent{i}@default") for i in (1, 2, 3)]


@dataclass
class CallCenterConfig:
    """The simulated mod_callcenter's queues, agents and tiers (``tiers`` None: every
    agent in every queue, level 1, positions in list order)."""

    queues: list[QueueConfig] = field(default_factory=lambda: [QueueConfig()])
    agents: list[AgentConfig] = field(default_factory=_default_agents)
    tiers: list[TierConfig] | None = None
    playback_s: float = 1.0  # how long a played sound file lasts (silence_stream://N lasts N ms)

    @classmethod
    def staffed(cls, count: int, *, queue: str = "sales@default", status: str = AVAILABLE,
                **agent: object) -> CallCenterConfig:
        """One queue with ``count`` agents agent1..N@<domain of queue>, all ``status``
        and Waiting; ``agent`` sets any :class:`AgentConfig` field for all of them,
        e.g. ``talk_s=30, wrap_up_time=10, answer_after_s=1``."""
        domain = queue.split("@", 1)[1] if "@" in queue else "default"
        names = {f.name for f in fields(AgentConfig)}
        unknown = set(agent) - names
        if unknown:
            raise TypeError(f"unknown agent settings: {sorted(unknown)}")
        base = AgentConfig("", status=status)
        agents = [replace(base, name=f"agent{i}@{domain}", **agent) for i in range(1, count + 1)]  # type: ignore[arg-type]
        return cls(queues=[QueueConfig(name=queue)], agents=agents)


# -- state ------------------------------------------------------------------------
@dataclass(eq=False)
class Queue:
    config: QueueConfig
    last_agent_exist: int = 0
    last_agent_exist_check: int = 0
    calls_answered: int = 0
    calls_abandoned: int = 0


@dataclass(eq=False)
class Agent:
    name: str
    contact: str
    status: str
    state: str
    type: str
    max_no_answer: int
    wrap_up_time: int
    reject_delay_time: int
    busy_delay_time: int
    no_answer_delay_time: int
    answer_after_s: float | None
    talk_s: float | None
    last_status_change: int
    unbridged: bool = False
    uuid: str | None = None  # NULL in the table until a bridge
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    no_answer_count: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    ready_time: int = 0
    external_calls_count: int = 0

    def row(self, epoch: Callable[[float], int]) -> list[str]:
        def t(v: int) -> str:
            return str(epoch(v)) if v else "0"

        return [
            self.name, "single_box", self.uuid or "", self.type, self.contact, self.status, self.state,
            str(self.max_no_answer), str(self.wrap_up_time), str(self.reject_delay_time), str(self.busy_delay_time),
            str(self.no_answer_delay_time), t(self.last_bridge_start), t(self.last_bridge_end),
            t(self.last_offered_call), t(self.last_status_change), str(self.no_answer_count),
            str(self.calls_answered), str(self.talk_time), t(self.ready_time), str(self.external_calls_count),
        ]


@dataclass(eq=False)
class Tier:
    queue: str
    agent: str
    state: str = "Ready"
    level: int = 1
    position: int = 1


@dataclass(eq=False)
class Member:
    """A queue member row, and the caller's session while it is in the queue."""

    queue: str
    uuid: str  # CC-Member-UUID
    session_uuid: str  # the member channel (our origination uuid)
    cid_number: str
    cid_name: str
    dnis: str
    system_epoch: int  # the channel's answer
    joined_epoch: int
    joined_at: float
    next_check: float
    base_score: int = 0
    bridge_epoch: int = 0
    abandoned_epoch: int = 0
    serving_agent: str = ""
    serving_system: str = ""
    state: str = WAITING  # Waiting | Trying | Answered | Abandoned
    offer: Offer | None = None
    data: dict[str, object] = field(default_factory=dict)  # the server's own (channel legs, …)


@dataclass(eq=False)
class Offer:
    """One agent originate for one member, from agent-offering to the end of its bridge."""

    member: Member
    agent: Agent
    queue: str
    started_at: float
    called_epoch: int
    due_at: float  # when the agent answers, or the originate gives up
    answers: bool
    no_answer_count: int  # the agent's count when offered (mod_callcenter decides on it)
    legs: dict[str, str]  # LA LB PA PB: the agent-side channel uuids
    phase: str = "ringing"  # ringing | unbridged | bridged | done
    answered_epoch: int = 0
    bridged_at: float = 0.0
    agent_hangup_at: float | None = None
    ended_by: str | None = None  # agent | member | transfer
    end_due: float = 0.0
    member_gone: bool = False
    bridge_end_epoch: int = 0
    aborted_epoch: int = 0
    data: dict[str, object] = field(default_factory=dict)  # the server's own (the legs' instants)


@dataclass(frozen=True, slots=True)
class Out:
    """One thing mod_callcenter does, in order: a ``CC-Action`` or a channel moment."""

    kind: str
    agent: Agent | None = None
    member: Member | None = None
    offer: Offer | None = None
    queue: str = ""
    value: str = ""
    variant: str = ""  # member-queue-end: terminated-gone | terminated-up | cancel-gone | cancel-up


def _grid_after(now: float) -> float:
    """The dispatcher's next pass strictly after ``now`` (it runs on a 0.1 s grid)."""
    return (int(now / DISPATCH_S + 1e-9) + 1) * DISPATCH_S


def default_contact(name: str) -> str:
    return f"[leg_timeout=5]loopback/{name.split('@', 1)[0]}/agents"


def leg_timeout(contact: str) -> int:
    m = _LEG_TIMEOUT.search(contact)
    return int(m.group(1)) if m else DEFAULT_LEG_TIMEOUT_S


def _status_of(value: str) -> str | None:
    return next((s for s in STATUSES if s.lower() == value.lower()), None)


def _state_of(value: str) -> str | None:
    return next((s for s in STATES if s.lower() == value.lower()), None)


def _split(args: str) -> list[str]:
    """switch_separate_string on spaces: single quotes group words, and go."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    started = False
    for ch in args:
        if ch == "'":
            quoted = not quoted
            started = True
        elif ch == " " and not quoted:
            if started:
                out.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        out.append("".join(cur))
    if len(out) > 8:  # argv[8]: the rest stays in the last word
        out = out[:7] + [" ".join(out[7:])]
    return out


def _table(columns: Iterable[str], rows: list[list[str]]) -> str:
    if not rows:
        return OK
    return "|".join(columns) + "\n" + "".join("|".join(r) + "\n" for r in rows) + OK


class CallCenter:
    """The model. Pure: the clock comes in as ``now``; ``epoch`` turns the model's
    whole seconds into the epoch seconds it reports (identity at time scale 1)."""

    def __init__(self, config: CallCenterConfig, now: float, *,
                 epoch: Callable[[float], int] = int,
                 new_uuid: Callable[[], str] = lambda: str(uuidlib.uuid4())) -> None:
        self.epoch = epoch
        self.new_uuid = new_uuid
        self.queues: dict[str, Queue] = {q.name: Queue(q) for q in config.queues}
        self.agents: dict[str, Agent] = {}
        for a in config.agents:
            self.agents[a.name] = Agent(
                a.name, a.contact or default_contact(a.name), a.status, a.state, a.type, a.max_no_answer,
                a.wrap_up_time, a.reject_delay_time, a.busy_delay_time, a.no_answer_delay_time,
                a.answer_after_s, a.talk_s, int(now), a.unbridged,
            )
        if config.tiers is None:
            self.tiers = [Tier(q, a, "Ready", 1, i + 1) for q in self.queues for i, a in enumerate(self.agents)]
        else:
            self.tiers = [Tier(t.queue, t.agent, t.state, t.level, t.position) for t in config.tiers]
        self.members: list[Member] = []
        self.offers: list[Offer] = []
        self.next_dispatch = _grid_after(now)

    # -- the caller's side ---------------------------------------------------------
    def join(self, queue: str, session_uuid: str, cid_name: str, cid_number: str, dnis: str,
             answered_at: float, now: float) -> tuple[Member | None, list[Out]]:
        """The ``callcenter <queue>`` application starts on an answered channel.
        None: no such queue (FreeSWITCH logs it and the dialplan goes on)."""
        q = self.queues.get(queue)
        if q is None:
            return None, []
        base = int(now) - int(answered_at) if q.config.time_base_score == "system" else 0
        m = Member(queue, self.new_uuid(), session_uuid, cid_number, cid_name, dnis, int(answered_at),
                   int(now), now, now, base_score=base)
        if not any(x.state in (WAITING, "Trying") for x in self.members):
            # The dispatcher runs whatever happens, at a phase of its own: seen from an idle
            # queue its next pass comes half a period after the first member joins.
            self.next_dispatch = now + DISPATCH_S / 2
        self.members.append(m)
        return m, [Out("member-queue-start", member=m, queue=queue), self._count(queue)]

    def member_by_session(self, session_uuid: str) -> Member | None:
        return next((m for m in self.members if m.session_uuid == session_uuid), None)

    def member_hangup(self, session_uuid: str, now: float) -> list[Out]:
        """The member channel hung up (the callee left, ``uuid_kill``, the agent's
        hangup with hangup_after_bridge)."""
        return self._member_ends(session_uuid, now, gone=True)

    def member_transfer(self, session_uuid: str, now: float) -> list[Out]:
        """``uuid_transfer`` of the member: it leaves the queue (BREAK_OUT, or its bridge
        ends) and its channel goes on elsewhere."""
        return self._member_ends(session_uuid, now, gone=False)

    def _member_ends(self, session_uuid: str, now: float, gone: bool) -> list[Out]:
        outs: list[Out] = []
        for offer in self.offers:
            if offer.phase == "bridged" and offer.member.session_uuid == session_uuid:
                offer.member_gone = offer.member_gone or gone
                if offer.ended_by is None:
                    offer.ended_by = "member" if gone else "transfer"
                    offer.end_due = now + BRIDGE_POLL_S
                return outs
        m = self.member_by_session(session_uuid)
        if m is not None and m.state in (WAITING, "Trying"):
            self._leave(m, "BREAK_OUT", now, gone, outs, release=False)
        return outs

    # -- the clock ---------------------------------------------------------------------
    def next_wakeup(self, now: float) -> float | None:
        """When :meth:`tick` has something to do next (None: nothing until an input)."""
        times: list[float] = []
        if any(m.state == WAITING for m in self.members):
            times.append(self.next_dispatch)
        times += [m.next_check for m in self.members if m.state in (WAITING, "Trying")]
        for o in self.offers:
            if o.phase in ("ringing", "unbridged"):
                times.append(o.due_at)
            elif o.ended_by is not None:
                times.append(o.end_due)
            elif o.agent_hangup_at is not None:
                times.append(o.agent_hangup_at)
        abandoned = [m for m in self.members if m.state == "Abandoned"]
        if abandoned:
            times.append(max(self.next_dispatch, min(
                float((m.abandoned_epoch or m.joined_epoch) + self.queues[m.queue].config.discard_abandoned_after + 1)
                if m.queue in self.queues else now for m in abandoned)))
        return min(times) if times else None

    def tick(self, now: float) -> list[Out]:
        """Everything due by ``now``: offers answered or failed, bridges ended, the
        dispatcher's pass, the members' checks."""
        outs: list[Out] = []
        for offer in list(self.offers):
            self._advance(offer, now, outs)
        if now >= self.next_dispatch - 1e-9:
            self._dispatch(now, outs)
            self.next_dispatch += DISPATCH_S * (int((now - self.next_dispatch) / DISPATCH_S + 1e-9) + 1)
        for m in list(self.members):
            if m.state in (WAITING, "Trying") and now >= m.next_check - 1e-9:
                m.next_check += MEMBER_CHECK_S * (int((now - m.next_check) / MEMBER_CHECK_S) + 1)
                self._check_member(m, now, outs)
        return outs

    def _advance(self, offer: Offer, now: float, outs: list[Out]) -> None:
        if offer.phase == "unbridged" and now >= offer.due_at - 1e-9:
            self._fail(offer, "SUCCESS", now, outs)  # no real phone behind the loopback contact
        if offer.phase == "ringing" and now >= offer.due_at - 1e-9:
            if offer.answers and offer.agent.unbridged:
                # mod_callcenter waits 5 s for the loopback's b-leg to be bridged (5.5 s captured).
                offer.phase, offer.due_at = "unbridged", now + UNBRIDGED_GIVE_UP_S
                outs.append(Out("agent-legs-answered", agent=offer.agent, member=offer.member, offer=offer,
                                queue=offer.queue))
            elif offer.answers:
                self._bridge(offer, now, outs)
            else:
                self._fail(offer, "ALLOTTED_TIMEOUT", now, outs)
        if offer.phase != "bridged":
            return
        if offer.ended_by is None and offer.agent_hangup_at is not None and now >= offer.agent_hangup_at - 1e-9:
            offer.ended_by = "agent"
            offer.end_due = now + 0.02  # the agent thread sees its channel gone (20 ms in the capture)
            outs.append(Out("agent-hangup", agent=offer.agent, member=offer.member, offer=offer, queue=offer.queue))
        if offer.ended_by is not None and now >= offer.end_due - 1e-9:
            self._end_bridge(offer, now, outs)

    def _count(self, queue: str) -> Out:
        n = sum(1 for m in self.members if m.queue == queue and m.state in (WAITING, "Trying"))
        return Out("members-count", queue=queue, value=str(n))

    def _score(self, m: Member, now: float) -> int:
        return int(now) - m.joined_epoch + m.base_score

    def _candidates(self, queue: Queue) -> list[tuple[Agent, Tier]]:
        strategy = queue.config.strategy
        rows = [(self.agents[t.agent], t) for t in self.tiers
                if t.queue == queue.config.name and t.agent in self.agents
                and self.agents[t.agent].status in (AVAILABLE, ON_BREAK, ON_DEMAND)]
        if strategy == "longest-idle-agent":
            rows.sort(key=lambda r: (r[1].level, r[0].last_bridge_end, r[1].position))
        elif strategy == "agent-with-least-talk-time":
            rows.sort(key=lambda r: (r[1].level, r[0].talk_time, r[1].position))
        elif strategy == "agent-with-fewest-calls":
            rows.sort(key=lambda r: (r[1].level, r[0].calls_answered, r[1].position))
        else:  # sequentially-by-agent-order and, approximately, the rest
            rows.sort(key=lambda r: (r[1].level, r[1].position, r[0].last_offered_call))
        return rows

    def _dispatch(self, now: float, outs: list[Out]) -> None:
        sec = int(now)
        waiting = [m for m in self.members if m.state in (WAITING, "Abandoned")]
        waiting.sort(key=lambda m: -self._score(m, now))
        for m in waiting:
            q = self.queues.get(m.queue)
            if q is None:
                self.members.remove(m)
                continue
            if m.state == "Abandoned":
                if (m.abandoned_epoch or m.joined_epoch) + q.config.discard_abandoned_after < sec:
                    self.members.remove(m)
                continue
            found = False
            for agent, tier in self._candidates(q):
                found = True
                if (tier.state in ("No Answer", "Ready") and agent.state == WAITING
                        and agent.last_bridge_end < sec - agent.wrap_up_time and agent.ready_time <= sec
                        and agent.status != ON_BREAK
                        and not (q.config.skip_agents_with_external_calls and agent.external_calls_count > 0)):
                    self._offer(m, agent, tier, now, outs)
                    break
            q.last_agent_exist_check = sec
            if found:
                q.last_agent_exist = sec

    def _offer(self, m: Member, agent: Agent, tier: Tier, now: float, outs: list[Out]) -> None:
        m.serving_agent, m.serving_system, m.state = agent.name, "single_box", "Trying"
        outs.append(self._set_state(agent, RECEIVING, now))
        for t in self.tiers:
            if t.agent == agent.name:
                if t.queue == m.queue:
                    t.state = "Offering"
                elif t.state == "Ready":
                    t.state = "Standby"
        give_up = float(int(now) + leg_timeout(agent.contact) + 1)
        answers = agent.answer_after_s is not None and now + agent.answer_after_s < give_up
        due = now + agent.answer_after_s if answers and agent.answer_after_s is not None else give_up
        legs = {k: self.new_uuid() for k in ("LA", "LB", "PA", "PB")}
        offer = Offer(m, agent, m.queue, now, int(now), due, answers, agent.no_answer_count, legs)
        m.offer = offer
        self.offers.append(offer)
        outs.append(Out("agent-offering", agent=agent, member=m, offer=offer, queue=m.queue))
        self._advance(offer, now, outs)  # an agent answering at once is bridged in the same pass

    def _bridge(self, offer: Offer, now: float, outs: list[Out]) -> None:
        m, agent = offer.member, offer.agent
        offer.phase, offer.answered_epoch, offer.bridged_at = "bridged", int(now), now
        outs.append(Out("agent-legs-up", agent=agent, member=m, offer=offer, queue=offer.queue))
        outs.append(Out("bridge-agent-start", agent=agent, member=m, offer=offer, queue=offer.queue))
        m.state, m.bridge_epoch = "Answered", int(now)
        agent.uuid = offer.legs["PA"]
        agent.last_bridge_start = int(now)
        agent.calls_answered += 1
        agent.no_answer_count = 0
        for t in self.tiers:
            if t.agent == agent.name and t.queue == offer.queue:
                t.state = "Active Inbound"
        outs.append(self._set_state(agent, IN_A_QUEUE_CALL, now))
        outs.append(Out("agent-line-gone", agent=agent, member=m, offer=offer, queue=offer.queue))
        q = self.queues.get(offer.queue)
        if q is not None:
            q.calls_answered += 1
        outs.append(self._count(offer.queue))
        outs.append(Out("member-bridged", agent=agent, member=m, offer=offer, queue=offer.queue))
        if agent.talk_s is not None:
            offer.agent_hangup_at = now + agent.talk_s

    def _end_bridge(self, offer: Offer, now: float, outs: list[Out]) -> None:
        m, agent = offer.member, offer.agent
        offer.phase, offer.bridge_end_epoch = "done", int(now)
        self.offers.remove(offer)
        outs.append(Out("bridge-agent-end", agent=agent, member=m, offer=offer, queue=offer.queue))
        agent.last_bridge_end = int(now)
        agent.talk_time += int(now) - agent.last_bridge_start
        agent.uuid = ""
        if m in self.members:
            self.members.remove(m)
        outs.append(Out("member-queue-end", agent=agent, member=m, offer=offer, queue=offer.queue,
                        value="Terminated", variant="terminated-gone" if offer.member_gone else "terminated-up"))
        self._free_agent(agent, offer.queue, "Ready")
        outs.append(self._set_state(agent, IDLE if agent.status == ON_DEMAND else WAITING, now))
        if not offer.member_gone and offer.ended_by == "agent":
            outs.append(Out("member-released", member=m, offer=offer, queue=offer.queue, value="after-bridge"))

    def _fail(self, offer: Offer, cause: str, now: float, outs: list[Out]) -> None:
        m, agent = offer.member, offer.agent
        offer.phase, offer.aborted_epoch = "done", int(now)
        self.offers.remove(offer)
        m.offer = None
        if m.state == "Trying":
            m.state = WAITING
        m.serving_agent = m.serving_system = ""
        outs.append(Out("agent-legs-failed", agent=agent, member=m, offer=offer, queue=offer.queue, value=cause))
        tier_state, delay = "Ready", 0
        if cause in ("ORIGINATOR_CANCEL", "LOSE_RACE"):
            pass
        elif cause in ("USER_BUSY", "NORMAL_CIRCUIT_CONGESTION"):
            delay = agent.busy_delay_time
        elif cause == "CALL_REJECTED":
            delay = agent.reject_delay_time
        elif cause == "USER_NOT_REGISTERED":
            delay = 5
        else:
            delay, tier_state = agent.no_answer_delay_time, "No Answer"
            agent.no_answer_count += 1
            if agent.max_no_answer > 0 and offer.no_answer_count + 1 >= agent.max_no_answer:
                q = self.queues.get(offer.queue)
                status = q.config.agent_no_answer_status if q else ON_BREAK
                outs.append(Out("agent-max-no-answer", agent=agent, member=m, offer=offer, queue=offer.queue,
                                value=status))
                outs.extend(self._set_status(agent, status, now))
        if delay > 0:
            agent.ready_time = int(now) + delay
        outs.append(Out("bridge-agent-fail", agent=agent, member=m, offer=offer, queue=offer.queue, value=cause))
        self._free_agent(agent, offer.queue, tier_state)
        outs.append(self._set_state(agent, WAITING, now))

    def _free_agent(self, agent: Agent, queue: str, tier_state: str) -> None:
        for t in self.tiers:
            if t.agent != agent.name:
                continue
            if t.queue == queue and t.state in ("Active Inbound", "Standby", "Offering"):
                t.state = tier_state
            elif t.queue != queue and t.state == "Standby":
                t.state = "Ready"

    def _check_member(self, m: Member, now: float, outs: list[Out]) -> None:
        q = self.queues.get(m.queue)
        if q is None:
            return
        c = q.config
        reason = None
        if c.max_wait_time > 0 and c.max_wait_time <= int(now) - m.joined_epoch:
            if m.offer is not None and m.offer.phase in ("ringing", "unbridged"):
                return  # FreeSWITCH waits for the agent being connected
            reason = "TIMEOUT"
        nwa = c.max_wait_time_with_no_agent
        check, exist = q.last_agent_exist_check, q.last_agent_exist
        if nwa > 0 and check > exist and m.joined_epoch <= check and check - exist >= nwa:
            reached = c.max_wait_time_with_no_agent_time_reached
            if reached <= 0 or check - m.joined_epoch >= reached + nwa:
                reason = "NO_AGENT_TIMEOUT"
        if reason is not None:
            self._leave(m, reason, now, False, outs, release=True)

    def _leave(self, m: Member, reason: str, now: float, gone: bool, outs: list[Out], release: bool) -> None:
        """The member leaves the queue without an agent (callcenter_function's cancel)."""
        m.state, m.abandoned_epoch, m.session_uuid = "Abandoned", int(now), ""
        offer = m.offer
        outs.append(Out("member-queue-end", member=m, queue=m.queue, value=reason,
                        variant="cancel-gone" if gone else "cancel-up"))
        q = self.queues.get(m.queue)
        if q is not None:
            q.calls_abandoned += 1
        outs.append(self._count(m.queue))
        if release and not gone:
            outs.append(Out("member-released", member=m, queue=m.queue, value=reason))
        if offer is not None and offer.phase in ("ringing", "unbridged"):
            self._fail(offer, "ORIGINATOR_CANCEL", now, outs)

    # -- agents ---------------------------------------------------------------------
    def _set_state(self, agent: Agent, state: str, now: float) -> Out:
        agent.state = state
        if state == RECEIVING:
            agent.last_offered_call = int(now)
        return Out("agent-state-change", agent=agent, value=state)

    def _set_status(self, agent: Agent, status: str, now: float) -> list[Out]:
        """``status`` is stored as given (mod_callcenter validates it case-insensitively)."""
        available = _status_of(status) == AVAILABLE
        if available:
            if agent.status != status:  # counters reset only when the status changes
                agent.status, agent.last_status_change = status, int(now)
                agent.talk_time = agent.calls_answered = agent.no_answer_count = 0
        else:
            agent.status, agent.last_status_change = status, int(now)
        outs = [Out("agent-status-change", agent=agent, value=status)]
        if not available:
            # "Used to stop any active callback": a ringing offer is cancelled.
            for offer in [o for o in self.offers if o.agent is agent and o.phase in ("ringing", "unbridged")]:
                self._fail(offer, "ORIGINATOR_CANCEL", now, outs)
        return outs

    # -- callcenter_config -----------------------------------------------------------
    def api(self, args: str, now: float) -> tuple[str, list[Out]]:
        """``callcenter_config <args>``: the reply text and the events it fires.
        An empty reply is FreeSWITCH's ``-ERR no reply``."""
        if not args.strip():
            return USAGE, []
        argv = _split(args)
        if len(argv) < 2:
            return INVALID, []
        section, action, rest = argv[0].lower(), argv[1].lower(), argv[2:]
        if section == "agent":
            return self._agent_api(action, rest, now)
        if section == "tier":
            return self._tier_api(action, rest), []
        if section == "queue":
            return self._queue_api(action, rest, now), []
        return "", []

    def _agent_api(self, action: str, rest: list[str], now: float) -> tuple[str, list[Out]]:
        if action == "set":
            if len(rest) < 3:
                return INVALID, []
            return self._agent_set(rest[0].lower(), rest[1], rest[2], now)
        if action == "get":
            if len(rest) < 2:
                return INVALID, []
            agent = self.agents.get(rest[1])
            if agent is None:
                return NOT_FOUND, []
            key = rest[0].lower()
            if key not in ("status", "state", "uuid"):
                return "-ERR Invalid Agent Update KEY!\n", []
            value = {"status": agent.status, "state": agent.state, "uuid": agent.uuid or ""}[key]
            return value, [Out(f"agent-{key}-get", agent=agent, value=value)]
        if action == "list":
            if len(rest) > 1:
                return INVALID, []
            chosen = [a for a in self.agents.values() if not rest or a.name == rest[0]]
            return _table(AGENT_COLUMNS, [a.row(self.epoch) for a in chosen]), []
        if action in ("add", "del", "reload"):
            return self._agent_admin(action, rest, now)
        return "", []

    def _agent_admin(self, action: str, rest: list[str], now: float) -> tuple[str, list[Out]]:
        if action == "add":
            if len(rest) < 2:
                return INVALID, []
            if rest[1].lower() not in ("callback", "uuid-standby"):
                return "-ERR Agent type invalid!\n", []
            if rest[0] in self.agents:
                return "-ERR Agent already exist!\n", []
            self.agents[rest[0]] = Agent(rest[0], "", LOGGED_OUT, WAITING, rest[1], 0, 0, 0, 0, 0, 0.0, None, 0)
            return OK, [Out("agent-add", agent=self.agents[rest[0]], value=rest[1])]
        if not rest:
            return INVALID, []
        if action == "del":
            self.agents.pop(rest[0], None)
            self.tiers = [t for t in self.tiers if t.agent != rest[0]]
        return OK, []

    def _agent_set(self, key: str, name: str, value: str, now: float) -> tuple[str, list[Out]]:
        agent = self.agents.get(name)
        if agent is None:
            return NOT_FOUND, []
        if key == "status":
            if _status_of(value) is None:
                return "-ERR Invalid Agent Status!\n", []
            return OK, self._set_status(agent, value, now)
        if key == "state":
            if _state_of(value) is None:
                return "-ERR Invalid Agent State!\n", []
            return OK, [self._set_state(agent, value, now)]
        if key == "contact":
            agent.contact = value
            return OK, [Out("agent-contact-change", agent=agent, value=value)]
        ints = {"ready_time", "busy_delay_time", "reject_delay_time", "no_answer_delay_time",
                "max_no_answer", "wrap_up_time"}
        if key in ints:
            setattr(agent, key, _atoi(value))
            return OK, []
        if key == "uuid":
            agent.uuid = value
            return OK, []
        if key == "type":
            if value.lower() not in ("callback", "uuid-standby"):
                return "-ERR Invalid Agent Type!\n", []
            agent.type = value
            return OK, []
        return "-ERR Invalid Agent Update KEY!\n", []

    def _tier_api(self, action: str, rest: list[str]) -> str:
        if action == "list":
            tiers = sorted(self.tiers, key=lambda t: (t.level, t.position))
            return _table(TIER_COLUMNS, [[t.queue, t.agent, t.state, str(t.level), str(t.position)] for t in tiers])
        if action == "add":
            if len(rest) < 2:
                return INVALID
            if rest[0] not in self.queues:
                return "-ERR Queue not found!\n"
            if rest[1] not in self.agents:
                return NOT_FOUND
            if any(t.queue == rest[0] and t.agent == rest[1] for t in self.tiers):
                return "-ERR Tier already exist!\n"
            level = _atoi(rest[2]) if len(rest) > 2 and rest[2] else 1
            position = _atoi(rest[3]) if len(rest) > 3 and rest[3] else 1
            self.tiers.append(Tier(rest[0], rest[1], "Ready", level, position))
            return OK
        if action == "del":
            if len(rest) < 2:
                return INVALID
            self.tiers = [t for t in self.tiers if not (t.queue == rest[0] and t.agent == rest[1])]
            return OK
        if action == "set":
            if len(rest) < 4:
                return INVALID
            tier = next((t for t in self.tiers if t.queue == rest[1] and t.agent == rest[2]), None)
            key, value = rest[0].lower(), rest[3]
            if key == "state":
                state = next((s for s in TIER_STATES if s.lower() == value.lower()), None)
                if state is None:
                    return "-ERR Invalid Tier State!\n"
                if tier is not None:
                    tier.state = value
            elif key in ("level", "position"):
                if tier is not None:
                    setattr(tier, key, _atoi(value))
            else:
                return "-ERR Invalid Tier Update KEY!\n"
            return OK
        if action == "reload":
            return INVALID if not rest else OK
        return ""

    def _queue_api(self, action: str, rest: list[str], now: float) -> str:
        if action in ("load", "unload", "reload"):
            if not rest:
                return INVALID
            if action != "unload" and rest[0] not in self.queues:
                return "-ERR Invalid Queue not found!\n"
            return OK
        if action == "list":
            if not rest:
                return self._queue_list()
            sub, name = rest[0].lower(), rest[1] if len(rest) > 1 else ""
            if sub == "agents":
                return _table(AGENT_COLUMNS, [a.row(self.epoch) for a in self._queue_agents(name, rest[2:4])])
            if sub == "members":
                members = [m for m in self.members if m.queue == name or len(rest) < 2]
                members.sort(key=lambda m: -self._score(m, now))
                return _table(MEMBER_COLUMNS, [self._member_row(m, now) for m in members])
            if sub == "tiers":
                return _table(TIER_COLUMNS, [[t.queue, t.agent, t.state, str(t.level), str(t.position)]
                                             for t in self.tiers if t.queue == name])
            return INVALID
        if action == "count":
            if not rest:
                return f"{len(self.queues)}\n"
            sub, name = rest[0].lower(), rest[1] if len(rest) > 1 else ""
            if sub == "agents":
                return f"{len(self._queue_agents(name, rest[2:4]))}\n"
            if sub == "members":
                return f"{sum(1 for m in self.members if m.queue == name)}\n"
            if sub == "tiers":
                return f"{sum(1 for t in self.tiers if t.queue == name)}\n"
            return INVALID
        return ""

    def _queue_agents(self, queue: str, status_state: list[str]) -> list[Agent]:
        out = [self.agents[t.agent] for t in self.tiers if t.queue == queue and t.agent in self.agents]
        if status_state:
            out = [a for a in out if a.status == status_state[0]]  # SQL '=': exact words
        if len(status_state) > 1:
            out = [a for a in out if a.state == status_state[1]]
        return out

    def _queue_list(self) -> str:
        lines = []
        for q in self.queues.values():
            c = q.config
            lines.append("|".join([
                c.name, c.strategy, c.moh_sound, c.time_base_score, _b(c.tier_rules_apply),
                str(c.tier_rule_wait_second), _b(c.tier_rule_wait_multiply_level),
                _b(c.tier_rule_no_agent_no_wait), str(c.discard_abandoned_after), _b(c.abandoned_resume_allowed),
                str(c.max_wait_time), str(c.max_wait_time_with_no_agent),
                str(c.max_wait_time_with_no_agent_time_reached), c.record_template, str(q.calls_answered),
                str(q.calls_abandoned), str(c.ring_progressively_delay), _b(c.skip_agents_with_external_calls),
                c.agent_no_answer_status,
            ]) + "\n")
        return "|".join(QUEUE_COLUMNS) + "\n" + "".join(lines) + OK

    def _member_row(self, m: Member, now: float) -> list[str]:
        def t(v: int) -> str:
            return str(self.epoch(v)) if v else "0"

        return [m.queue, "single_box", m.uuid, m.session_uuid, m.cid_number, m.cid_name, t(m.system_epoch),
                t(m.joined_epoch), "0", t(m.bridge_epoch), t(m.abandoned_epoch), str(m.base_score), "0",
                m.serving_agent, m.serving_system, m.state, str(self._score(m, now))]

    def json_api(self, arguments: str) -> list[dict[str, object]] | None:
        """``api json {"command":"callcenter_config","data":{"arguments":…}}``: the
        response array (agent fields are strings, empty ones left out; queue
        numbers are numbers), or None for what mod_callcenter refuses."""
        if arguments.lower() == "agent list":
            rows: list[dict[str, object]] = []
            for a in self.agents.values():
                row: dict[str, object] = dict(zip(AGENT_COLUMNS, a.row(self.epoch), strict=True))
                if a.uuid is None:  # NULL: cJSON leaves it out
                    del row["uuid"]
                rows.append(row)
            return rows
        if arguments.lower() == "queue list":
            out: list[dict[str, object]] = []
            for q in self.queues.values():
                c = q.config
                obj: dict[str, object] = {
                    "name": c.name, "strategy": c.strategy, "moh_sound": c.moh_sound,
                    "time_base_score": c.time_base_score, "tier_rules_apply": _b(c.tier_rules_apply),
                    "tier_rule_wait_second": c.tier_rule_wait_second,
                    "tier_rule_wait_multiply_level": _b(c.tier_rule_wait_multiply_level),
                    "tier_rule_no_agent_no_wait": _b(c.tier_rule_no_agent_no_wait),
                    "discard_abandoned_after": c.discard_abandoned_after,
                    "abandoned_resume_allowed": _b(c.abandoned_resume_allowed),
                    "max_wait_time": c.max_wait_time, "max_wait_time_with_no_agent": c.max_wait_time_with_no_agent,
                    "max_wait_time_with_no_agent_time_reached": c.max_wait_time_with_no_agent_time_reached,
                }
                if c.record_template:
                    obj["record_template"] = c.record_template
                obj["skip_agents_with_external_calls"] = _b(c.skip_agents_with_external_calls)
                obj["agent_no_answer_status"] = c.agent_no_answer_status
                out.append(obj)
            return out
        return None


def _b(value: bool) -> str:
    return "true" if value else "false"


def _atoi(text: str) -> int:
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


# -- the dialplan around the queue -------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Where an answered call goes: ``queue`` (None: no queue on this extension), the
    extension, and what the dialplan does once ``callcenter`` returns: play for
    ``after_s`` seconds, then hang up (None: the channel stays until the callee leaves)."""

    queue: str | None
    dest: str
    context: str
    dialplan: str
    dp_exports: str | None  # cc_export_vars as the extension sets it
    after_s: float | None


_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9_.+-]+")
_ROBOT_QUEUE = re.compile(r"queue_\w+")


def playback_s(sound: str | None, default_s: float) -> float | None:
    """How long ``playback <sound>`` lasts: N ms for silence_stream://N (None: forever, N<0)."""
    if not sound:
        return 0.0
    if sound.startswith("silence_stream://"):
        try:
            ms = int(sound[len("silence_stream://"):].split(",", 1)[0])
        except ValueError:
            return default_s
        return None if ms < 0 else ms / 1000
    return default_s


def route_of(dest: str, dialplan: str, context: str, variables: dict[str, str], default_s: float) -> Route | None:
    """The extensions of ``dialplan/eslbridge.xml`` and of the captures' lab that run
    ``callcenter``; None for any other destination.

    * ``eslbridge_queue``: ``<name@domain>`` → answer, callcenter, playback
      ``${eslbridge_safe_harbor}``, hangup; ``abandoned`` → the same playback, hangup.
    * ``queue`` (the captures' lab): ``<q>`` → set cc_export_vars=eslbridge_engine,
      callcenter ``<q>@default``, playback silence_stream://500, hangup.
    * ``robot``: ``queue_<x>`` → callcenter ``queue_<x>@default``; the dialplan then ends.
    """
    harbor = variables.get("eslbridge_safe_harbor")
    if context == "eslbridge_queue":
        if dest == "abandoned":
            return Route(None, dest, context, dialplan, None, playback_s(harbor, default_s))
        if _QUEUE_NAME.fullmatch(dest):
            return Route(dest, dest, context, dialplan, None, playback_s(harbor, default_s))
        return None
    if context == "queue" and dest:
        return Route(f"{dest}@default", dest, context, dialplan, "eslbridge_engine", 0.5)
    if context == "robot" and _ROBOT_QUEUE.fullmatch(dest):
        return Route(f"{dest}@default", dest, context, dialplan, None, 0.0)
    return None


def exported(variables: dict[str, str], dp_exports: str | None) -> list[tuple[str, str]]:
    """What ``cc_export_vars`` copies onto the agent legs: itself, then each named
    variable the member has."""
    names = variables.get("cc_export_vars") or dp_exports
    if not names:
        return []
    out = [("cc_export_vars", names)]
    out += [(n, variables[n]) for n in names.split(",") if n in variables]
    return out
