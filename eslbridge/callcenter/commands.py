"""``callcenter_config`` commands, built from validated arguments.

Each function returns the command text to send with ``api`` (or ``bgapi``), e.g.
``set_wrap_up("agent1@default", 10)`` gives
``callcenter_config agent set wrap_up_time agent1@default 10``. Their replies are
read with :mod:`eslbridge.callcenter.replies` (lists with ``parse_table``,
counts with ``parse_count``, ``agent set`` with ``parse_ok``).

mod_callcenter splits the arguments on spaces and compares names in SQL, so an
agent or queue name is held to a safe alphabet and refused (ValueError) otherwise;
a two-word status is single-quoted.
"""

from __future__ import annotations

import re
from typing import Final

from .replies import AGENT_STATES, AGENT_STATUSES, quote_arg

_PREFIX: Final = "callcenter_config"
_NAME: Final = re.compile(r"[A-Za-z0-9_.@+-]{1,128}")
MAX_WRAP_UP_S: Final = 86_400  # seconds; acw is 1–180, anything beyond a day is a mistake


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise ValueError(f"invalid {what} name {value!r}: letters, digits and _.@+- only, 1-128")
    return value


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"invalid agent {what} {value!r}: one of {', '.join(allowed)}")
    return quote_arg(value)


def agent_list(agent: str | None = None) -> str:
    """Every agent, or one: rows name|instance_id|uuid|type|contact|status|state|…"""
    if agent is None:
        return f"{_PREFIX} agent list"
    return f"{_PREFIX} agent list {_name(agent, 'agent')}"


def queue_list_agents(queue: str) -> str:
    """The agents of a queue's tiers, whatever their status (same columns as ``agent list``)."""
    return f"{_PREFIX} queue list agents {_name(queue, 'queue')}"


def queue_list_members(queue: str) -> str:
    """A queue's member rows: queue|instance_id|uuid|session_uuid|…|state|score."""
    return f"{_PREFIX} queue list members {_name(queue, 'queue')}"


def queue_list_tiers(queue: str) -> str:
    """A queue's tiers: queue|agent|state|level|position."""
    return f"{_PREFIX} queue list tiers {_name(queue, 'queue')}"


def tier_list() -> str:
    """Every tier of every queue: queue|agent|state|level|position."""
    return f"{_PREFIX} tier list"


def queue_list() -> str:
    """Every queue with its settings and counters."""
    return f"{_PREFIX} queue list"


def queue_count_agents(queue: str, status: str | None = None) -> str:
    """How many agents a queue's tiers hold (all statuses, or only ``status``)."""
    command = f"{_PREFIX} queue count agents {_name(queue, 'queue')}"
    if status is None:
        return command
    return f"{command} {_one_of(status, AGENT_STATUSES, 'status')}"


def queue_count_members(queue: str) -> str:
    """How many member rows a queue holds, abandoned ones included."""
    return f"{_PREFIX} queue count members {_name(queue, 'queue')}"


def set_status(agent: str, status: str) -> str:
    """Set an agent's status (``Available``, ``'On Break'``…); agent-status-change follows."""
    status = _one_of(status, AGENT_STATUSES, "status")
    return f"{_PREFIX} agent set status {_name(agent, 'agent')} {status}"


def set_state(agent: str, state: str) -> str:
    """Set an agent's state (``Waiting``, ``Idle``…); agent-state-change follows."""
    state = _one_of(state, AGENT_STATES, "state")
    return f"{_PREFIX} agent set state {_name(agent, 'agent')} {state}"


def set_wrap_up(agent: str, seconds: int) -> str:
    """Set an agent's wrap-up time in whole seconds (0 to a day); no event follows."""
    if type(seconds) is not int or not 0 <= seconds <= MAX_WRAP_UP_S:  # bool is no number here
        raise ValueError(f"invalid wrap-up time {seconds!r}: whole seconds, 0-{MAX_WRAP_UP_S}")
    return f"{_PREFIX} agent set wrap_up_time {_name(agent, 'agent')} {seconds}"


def get_status(agent: str) -> str:
    """An agent's status; the reply is the bare value (``parse_value``)."""
    return f"{_PREFIX} agent get status {_name(agent, 'agent')}"


def get_state(agent: str) -> str:
    """An agent's state; the reply is the bare value (``parse_value``)."""
    return f"{_PREFIX} agent get state {_name(agent, 'agent')}"
