"""What mod_callcenter's member events say about one of the engine's calls.

A call of an agent task enters the queue (``member-queue-start``), may be
offered to agents (``agent-offering``, once per try), is bridged to one
(``bridge-agent-start``) and leaves (``member-queue-end``: ``CC-Cause``
``Terminated`` after a bridge, ``Cancel`` with ``CC-Cancel-Reason``
``NO_AGENT_TIMEOUT`` | ``TIMEOUT`` | ``BREAK_OUT`` | ``EXIT_WITH_KEY`` without).
Every one of these events carries ``CC-Member-Session-UUID``, the member
channel's Unique-ID, which is the engine's origination uuid: that is the key.
Only the member events carry channel variables, so nothing else can be used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

MemberKind = Literal["queued", "offered", "bridged", "left"]

_KINDS: Final[dict[str, MemberKind]] = {
    "member-queue-start": "queued",
    "agent-offering": "offered",
    "bridge-agent-start": "bridged",
    "member-queue-end": "left",
}

# The headers member_fact and AgentBoard.on_event read: a JSON event reader picks
# these out of every CUSTOM event up front (others still read, at a full parse).
CC_FIELDS: Final = (
    "Event-Subclass", "Event-Date-Timestamp", "CC-Action", "CC-Agent", "CC-Agent-Status",
    "CC-Agent-State", "CC-Queue", "CC-Count", "CC-Member-Session-UUID", "CC-Member-UUID",
    "CC-Agent-UUID", "CC-Bridge-Terminated-Time", "CC-Agent-Aborted-Time", "CC-Hangup-Cause",
    "CC-Agent-No-Answer-Status", "CC-Cause", "CC-Cancel-Reason",
)

TERMINATED: Final = "Terminated"  # CC-Cause of a member that was bridged to an agent
CANCEL: Final = "Cancel"  # CC-Cause of one that left unserved (see CC-Cancel-Reason)


@dataclass(frozen=True, slots=True)
class MemberFact:
    """One step of a call through a queue.

    ``at`` is the event's time (epoch seconds, from Event-Date-Timestamp), ``agent``
    the agent offered or bridged (and, on ``left`` after a bridge, the one that
    served it), ``agent_uuid`` the agent's channel, ``cause`` the CC-Cause and
    ``reason`` the CC-Cancel-Reason of ``left``, ``member_uuid`` the queue's own id
    of the member (``uuid`` in ``queue list members``).
    """

    kind: MemberKind
    call_uuid: str
    queue: str
    at: float
    agent: str | None = None
    agent_uuid: str | None = None
    cause: str | None = None
    reason: str | None = None
    member_uuid: str | None = None


def _text(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if isinstance(value, str) and value else None


def member_fact(headers: Mapping[str, str], now: float = 0.0) -> MemberFact | None:
    """The fact a ``CUSTOM callcenter::info`` event states about a member call, or None.

    None for every other CC-Action and for an event without a member session
    uuid or queue. ``at`` falls back to ``now`` when Event-Date-Timestamp is
    missing or not a number. Never raises for odd header values.
    """
    action = headers.get("CC-Action")
    kind = _KINDS.get(action) if isinstance(action, str) else None
    if kind is None:
        return None
    call_uuid = _text(headers, "CC-Member-Session-UUID")
    queue = _text(headers, "CC-Queue")
    if call_uuid is None or queue is None:
        return None
    at = now
    stamp = headers.get("Event-Date-Timestamp")
    if isinstance(stamp, str) and stamp.isdigit() and stamp != "0":
        at = int(stamp) / 1e6
    if kind == "queued":
        return MemberFact(kind, call_uuid, queue, at, member_uuid=_text(headers, "CC-Member-UUID"))
    agent = _text(headers, "CC-Agent")
    agent_uuid = _text(headers, "CC-Agent-UUID")
    member_uuid = _text(headers, "CC-Member-UUID")
    if kind == "left":
        return MemberFact(kind, call_uuid, queue, at, agent, agent_uuid, _text(headers, "CC-Cause"),
                          _text(headers, "CC-Cancel-Reason"), member_uuid)
    return MemberFact(kind, call_uuid, queue, at, agent, agent_uuid, member_uuid=member_uuid)
