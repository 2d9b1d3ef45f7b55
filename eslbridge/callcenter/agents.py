"""Which agents of each mod_callcenter queue can take a call now, as FreeSWITCH tells it.

Theory of operation
-------------------
mod_callcenter keeps the agents (SPEC.md §7); the engine follows it through:

* a *load*: the rows of ``queue list agents Q`` (or ``agent list``), the truth
  at that moment, taken at connect and after every reconnect. A load replaces
  all the board believes about the agents it lists and makes them exactly the
  agents of Q, so events missed while the link was down cost nothing.
* *events*: ``CUSTOM callcenter::info`` between loads. Each states a fact
  ("agent1's status is On Break", "its bridge ended in second T"), never a
  delta, so replaying events, or replaying them after a load, gives the same board.

An agent's *status* is what the agent chose; its *state* is what mod_callcenter
does with it. At an instant each agent is of one kind::

    status Logged Out, or not known yet                -> logged_out
    status On Break                                    -> on_break
    Available*, Receiving / In a queue call / Reserved -> busy
    Available*, Waiting, not free yet                  -> wrap_up
    Available*, Waiting                                -> ready
    Available*, Idle (On Demand after a call)          -> idle

"Not free yet" is mod_callcenter's own test before an offer (agents_callback):
``last_bridge_end < now - wrap_up_time`` and ``ready_time <= now``, in whole
epoch seconds. Wrap-up has no event and no state (the agent shows Waiting at
bridge end), so the board keeps last_bridge_end (``CC-Bridge-Terminated-Time``)
and ready_time (a failed offer puts the agent to sleep for its no-answer, busy or
reject delay): it is free from second max(last_bridge_end + wrap_up_time + 1, ready_time).

An agent's record is global and a queue holds names (from loads, and the CC-Queue
of offers and bridges): tiers let an agent serve several queues (their states and
levels are not followed).

What can go wrong: an event with a missing or malformed header or an unknown word
changes nothing and counts in ``ignored``; an agent first seen in an event is logged
out until a status event or load says more; a malformed load raises and changes
nothing. Pure: ``now`` (epoch s) is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Final, Literal

from . import replies as cc
from .replies import agent_row, agent_state, agent_status

AgentKind = Literal["ready", "busy", "wrap_up", "idle", "on_break", "logged_out"]
Handler = Callable[[Mapping[str, str], float], None]

_AVAILABLE: Final = frozenset({cc.AVAILABLE, cc.AVAILABLE_ON_DEMAND})
_BUSY_STATES: Final = frozenset({cc.RECEIVING, cc.IN_A_QUEUE_CALL, cc.RESERVED})
_WAITING, _IN_CALL, _ON_BREAK = cc.WAITING, cc.IN_A_QUEUE_CALL, cc.ON_BREAK
_WAITING_MEMBERS: Final = frozenset({"Waiting", "Trying"})  # what members-count counts
# How long a failed offer puts the agent to sleep, by its leg's cause (else no_answer_delay_time).
_DELAY_BY_CAUSE: Final[dict[str, str | int]] = {
    "LOSE_RACE": 0, "ORIGINATOR_CANCEL": 0, "USER_NOT_REGISTERED": 5,  # seconds
    "NORMAL_CIRCUIT_CONGESTION": "busy_delay_time", "USER_BUSY": "busy_delay_time",
    "CALL_REJECTED": "reject_delay_time",
}


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """A queue's agents by kind at one instant, and its members waiting (members-count)."""

    ready: int = 0
    busy: int = 0
    wrap_up: int = 0
    idle: int = 0
    on_break: int = 0
    logged_out: int = 0
    logged_in: int = 0  # every kind but logged_out
    waiting_members: int = 0


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent as the board sees it; times are whole epoch seconds (0 = never)."""

    name: str
    kind: AgentKind
    status: str
    state: str
    wrap_up_time: int
    last_bridge_start: int
    last_bridge_end: int
    ready_time: int
    free_at: int  # first second mod_callcenter may offer it a call again
    member: str | None  # CC-Member-Session-UUID of the call it is bridged to
    queues: frozenset[str]


@dataclass(slots=True)
class _Agent:
    status: str = ""
    state: str = ""
    wrap_up_time: int = 0
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    ready_time: int = 0
    busy_delay_time: int = 0
    reject_delay_time: int = 0
    no_answer_delay_time: int = 0
    member: str | None = None

    def free_at(self) -> int:
        return max(self.last_bridge_end + self.wrap_up_time + 1, self.ready_time)

    def kind(self, now: float) -> AgentKind:
        if self.status in _AVAILABLE:
            if self.state == _WAITING:
                return "wrap_up" if now < self.free_at() else "ready"
            return "busy" if self.state in _BUSY_STATES else "idle"
        return "on_break" if self.status == _ON_BREAK else "logged_out"


_LOADED_FIELDS: Final = tuple(f for f in _Agent.__dataclass_fields__ if f != "member")


def _text(headers: Mapping[str, str], name: str) -> str:
    if not (value := headers[name]) or not isinstance(value, str):
        raise ValueError(f"{name} is empty or not text")
    return value


def _second(headers: Mapping[str, str], name: str | None, now: float) -> int:
    """A whole-second CC-*-Time header, else the event's own second, else ``now``'s."""
    value = headers.get(name) if name else None
    if value:
        return int(value)
    stamp = headers.get("Event-Date-Timestamp")
    return int(stamp) // 1_000_000 if stamp else int(now)


class AgentBoard:
    """Agents per queue, from ``callcenter_config`` loads and ``callcenter::info`` events."""

    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}
        self._queues: dict[str, set[str]] = {}
        self._waiting: dict[str, int] = {}
        self._loaded: dict[str, float] = {}
        self._members: dict[str, str] = {}  # member session uuid -> agent bridged to it
        self.ignored = 0  # events not understood: unknown CC-Action, missing or bad headers
        noop: Handler = self._noop
        status = partial(self._set, "status", "CC-Agent-Status")
        state = partial(self._set, "state", "CC-Agent-State")
        self._handlers: dict[str, Handler] = {
            "agent-status-change": status, "agent-status-get": status,
            "agent-state-change": state, "agent-state-get": state,
            # FreeSWITCH's own status change; the agent-status-change that follows says it again
            "agent-max-no-answer": partial(self._set, "status", "CC-Agent-No-Answer-Status"),
            "agent-offering": self._offering, "bridge-agent-start": self._bridge_start,
            "bridge-agent-end": self._bridge_end, "bridge-agent-fail": self._bridge_fail,
            "members-count": self._members_count, "member-queue-end": self._member_end,
            "member-queue-start": noop, "member-queue-resume": noop,
            "agent-contact-change": noop, "agent-add": noop,
        }

    def load_agents(self, rows: Iterable[Mapping[str, str]]) -> list[str]:
        """Replace all the board believes of each agent listed (``agent list`` rows); their names.

        Raises ValueError, changing nothing, for a row that ``replies.agent_row`` refuses."""
        parsed = [agent_row(r) for r in rows]
        for r in parsed:
            a = self._agent(r.name)
            for f in _LOADED_FIELDS:
                setattr(a, f, getattr(r, f))
            if r.state != _IN_CALL and a.member is not None:  # the call it served has ended
                self._members.pop(a.member, None)
                a.member = None
        return [r.name for r in parsed]

    def load(self, queue: str, rows: Iterable[Mapping[str, str]], now: float) -> None:
        """Load ``queue list agents <queue>``: the agents' records, and exactly them as its agents.

        No rows (also FreeSWITCH's answer for an unknown queue): loaded, no agents.
        Raises ValueError like :meth:`load_agents`."""
        self._queues[queue] = set(self.load_agents(rows))
        self._loaded[queue] = now

    def load_members(self, queue: str, rows: Iterable[Mapping[str, str]]) -> None:
        """Load ``queue list members <queue>``: its members Waiting or Trying (members-count's)."""
        self._waiting[queue] = sum(1 for r in rows if r.get("state") in _WAITING_MEMBERS)

    def set_wrap_up(self, agent: str, seconds: int) -> None:
        """Note a wrap-up time the engine set (``agent set wrap_up_time``, answered ``+OK``)."""
        self._agent(agent).wrap_up_time = seconds

    def forget_member(self, member_session_uuid: str) -> None:
        """Drop a call's agent link (member-queue-end does it; for calls whose end was missed)."""
        self._members.pop(member_session_uuid, None)

    def on_event(self, headers: Mapping[str, str], now: float) -> bool:
        """Apply one ``CUSTOM callcenter::info`` event; False (``ignored`` + 1) if not understood.

        Never raises: an unknown CC-Action, a missing header, a time that is not a
        number or an unknown status changes nothing (all is read before any change)."""
        try:
            handler = self._handlers.get(headers.get("CC-Action", ""))
            if handler is not None:
                handler(headers, now)
                return True
        except (KeyError, ValueError, TypeError, AttributeError):
            pass
        self.ignored += 1
        return False

    def _noop(self, h: Mapping[str, str], now: float) -> None: ...  # an action of no concern here

    def _agent(self, name: str) -> _Agent:
        return self._agents.get(name) or self._agents.setdefault(name, _Agent())

    def _set(self, attr: str, header: str, h: Mapping[str, str], now: float) -> None:
        value = agent_status(h[header]) if attr == "status" else agent_state(h[header])
        setattr(self._agent(_text(h, "CC-Agent")), attr, value)

    def _offering(self, h: Mapping[str, str], now: float) -> None:
        name, queue = _text(h, "CC-Agent"), _text(h, "CC-Queue")
        self._agent(name)
        self._queues.setdefault(queue, set()).add(name)  # offered by Q: one of Q's agents

    def _bridge_start(self, h: Mapping[str, str], now: float) -> None:
        name, queue = _text(h, "CC-Agent"), _text(h, "CC-Queue")
        member = _text(h, "CC-Member-Session-UUID")
        start = _second(h, None, now)
        a = self._agent(name)
        self._queues.setdefault(queue, set()).add(name)
        a.state, a.last_bridge_start, a.member = _IN_CALL, start, member
        self._members[member] = name

    def _bridge_end(self, h: Mapping[str, str], now: float) -> None:
        end = _second(h, "CC-Bridge-Terminated-Time", now)
        a = self._agent(_text(h, "CC-Agent"))
        a.last_bridge_end, a.member = end, None

    def _bridge_fail(self, h: Mapping[str, str], now: float) -> None:
        name, cause = _text(h, "CC-Agent"), h.get("CC-Hangup-Cause") or ""
        at = _second(h, "CC-Agent-Aborted-Time", now)
        a = self._agent(name)
        delay = _DELAY_BY_CAUSE.get(cause, "no_answer_delay_time")
        delay = delay if isinstance(delay, int) else int(getattr(a, delay))
        if delay > 0:
            a.ready_time = at + delay

    def _members_count(self, h: Mapping[str, str], now: float) -> None:
        queue, count = _text(h, "CC-Queue"), int(h["CC-Count"])
        if count < 0:
            raise ValueError("negative members count")
        if not queue.startswith("*"):  # "*": the All-Queues total, no queue of its own
            self._waiting[queue] = count

    def _member_end(self, h: Mapping[str, str], now: float) -> None:
        self._members.pop(h["CC-Member-Session-UUID"], None)

    def counts(self, queue: str, now: float) -> AgentCounts:
        """The queue's agents by kind at ``now``; all zero for a queue never seen."""
        tally = {"ready": 0, "busy": 0, "wrap_up": 0, "idle": 0, "on_break": 0, "logged_out": 0}
        names = self._queues.get(queue, ())
        for name in names:
            tally[self._agents[name].kind(now)] += 1
        return AgentCounts(**tally, logged_in=len(names) - tally["logged_out"],
                           waiting_members=self._waiting.get(queue, 0))

    def wrap_up_ends(self, queue: str, now: float) -> list[float]:
        """When the queue's agents in wrap-up (or asleep after a failed offer) free up, in order."""
        agents = (self._agents[n] for n in self._queues.get(queue, ()))
        return sorted(float(a.free_at()) for a in agents if a.kind(now) == "wrap_up")

    def busy_since(self, queue: str, now: float) -> list[float]:
        """When the queue's busy agents' calls began (``now`` for an offer ringing), in order."""
        agents = (self._agents[n] for n in self._queues.get(queue, ()))
        return sorted(float(a.last_bridge_start) if a.state == _IN_CALL else now
                      for a in agents if a.kind(now) == "busy")

    def agent_of_member(self, member_session_uuid: str) -> str | None:
        """The agent bridged to a call (our origination uuid), until its member-queue-end."""
        return self._members.get(member_session_uuid)

    def agent(self, name: str, now: float) -> AgentView | None:
        """One agent's record and kind at ``now``; None if never heard of."""
        if (a := self._agents.get(name)) is None:
            return None
        queues = frozenset(q for q, names in self._queues.items() if name in names)
        return AgentView(name, a.kind(now), a.status, a.state, a.wrap_up_time, a.last_bridge_start,
                         a.last_bridge_end, a.ready_time, a.free_at(), a.member, queues)

    def names(self, queue: str) -> list[str]:
        """The queue's agents, sorted."""
        return sorted(self._queues.get(queue, ()))

    def loaded_at(self, queue: str) -> float | None:
        """When the queue was last loaded; None if never (its counts then come from events only)."""
        return self._loaded.get(queue)
