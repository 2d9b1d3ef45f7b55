"""The text of ``api callcenter_config …`` replies, and the words mod_callcenter uses.

mod_callcenter answers every ``callcenter_config`` command with an
``api/response`` whose body is one of (ESL.md §mod_callcenter, ``cc_agents_api``):

* a list: a header row, the rows, ``|``-separated, each line ``\\n``-terminated,
  then ``+OK\\n``; with no rows only ``+OK\\n`` (no header), also for an unknown
  queue or agent;
* a count: ``N\\n`` (``0\\n`` for an unknown queue);
* ``+OK\\n`` for ``agent set …``; the bare value, without a newline, for
  ``agent get status|state``;
* an error, still an ``api/response``: ``-ERR Agent not found!\\n``,
  ``-ERR Invalid Agent Status!\\n``, ``-ERR no reply\\n`` (unknown subcommand),
  ``-USAGE: …`` (no arguments).

Fields are not escaped: a contact dial string may hold ``|`` (failover), so a row
with too many fields gives its surplus back to the one free-text column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# Agent statuses and states exactly as mod_callcenter writes them (its tables
# AGENT_STATUS_CHART / AGENT_STATE_CHART; it compares them case-insensitively).
LOGGED_OUT: Final = "Logged Out"
AVAILABLE: Final = "Available"
AVAILABLE_ON_DEMAND: Final = "Available (On Demand)"
ON_BREAK: Final = "On Break"
AGENT_STATUSES: Final = (LOGGED_OUT, AVAILABLE, AVAILABLE_ON_DEMAND, ON_BREAK)

WAITING: Final = "Waiting"
RECEIVING: Final = "Receiving"
IN_A_QUEUE_CALL: Final = "In a queue call"
IDLE: Final = "Idle"
RESERVED: Final = "Reserved"
AGENT_STATES: Final = (WAITING, RECEIVING, IN_A_QUEUE_CALL, IDLE, RESERVED)

# mod_callcenter compares them case-insensitively, and its events echo the words as sent.
_STATUS_OF: Final = {w: w for w in AGENT_STATUSES} | {w.lower(): w for w in AGENT_STATUSES}
_STATE_OF: Final = {w: w for w in AGENT_STATES} | {w.lower(): w for w in AGENT_STATES}

_ROW_INTS: Final = ("wrap_up_time", "last_bridge_start", "last_bridge_end", "ready_time",
                    "busy_delay_time", "reject_delay_time", "no_answer_delay_time")
_OK: Final = "+OK"
_FREE_TEXT: Final = ("contact", "cid_name")  # columns whose values may hold "|"


class CallcenterError(Exception):
    """mod_callcenter refused a command (``-ERR …``, ``-USAGE …``) or gave an odd reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refused(body: str) -> None:
    if body.startswith(("-ERR", "-USAGE")):
        raise CallcenterError(body.strip() or body)


def parse_table(body: str) -> list[dict[str, str]]:
    """The rows of a list reply, each a dict keyed by the header row's names.

    Raises :class:`CallcenterError` for an error reply, a body that does not end
    in ``+OK``, or a row with fewer fields than the header (or more, when the
    header has no free-text column to take the surplus).
    """
    _refused(body)
    lines = body.rstrip("\n").split("\n")
    if lines[-1] != _OK:
        raise CallcenterError(f"list reply does not end in +OK: {body[-80:]!r}")
    if len(lines) == 1:
        return []
    names = lines[0].split("|")
    width = len(names)
    free = next((names.index(c) for c in _FREE_TEXT if c in names), None)
    rows: list[dict[str, str]] = []
    for line in lines[1:-1]:
        fields = line.split("|")
        extra = len(fields) - width
        if extra > 0 and free is not None:
            fields[free : free + extra + 1] = ["|".join(fields[free : free + extra + 1])]
        elif extra != 0:
            raise CallcenterError(f"row has {len(fields)} fields, header {width}: {line[:80]!r}")
        rows.append(dict(zip(names, fields, strict=True)))
    return rows


def parse_count(body: str) -> int:
    """The number of a ``… count …`` reply; raises CallcenterError for anything else."""
    _refused(body)
    text = body.strip()
    if not text.isdigit():
        raise CallcenterError(f"not a count: {body[:80]!r}")
    return int(text)


def parse_ok(body: str) -> None:
    """Check an ``agent set …`` reply; raises :class:`CallcenterError` unless it is ``+OK``."""
    _refused(body)
    if body.strip() != _OK:
        raise CallcenterError(f"unexpected reply: {body[:80]!r}")


def parse_value(body: str) -> str:
    """The bare value of ``agent get status|state``; raises :class:`CallcenterError` on an error."""
    _refused(body)
    return body.strip()


def agent_status(value: str) -> str:
    """The status word as mod_callcenter spells it; ValueError for one it does not know."""
    word = _STATUS_OF.get(value) or _STATUS_OF.get(value.lower())
    if word is None:
        raise ValueError(f"unknown agent status {value!r}")
    return word


def agent_state(value: str) -> str:
    """The state word as mod_callcenter spells it; ValueError for one it does not know."""
    word = _STATE_OF.get(value) or _STATE_OF.get(value.lower())
    if word is None:
        raise ValueError(f"unknown agent state {value!r}")
    return word


@dataclass(frozen=True, slots=True)
class AgentRow:
    """The columns of an ``agent list`` / ``queue list agents`` row used here (epoch seconds)."""

    name: str
    status: str
    state: str
    wrap_up_time: int
    last_bridge_start: int
    last_bridge_end: int
    ready_time: int
    busy_delay_time: int
    reject_delay_time: int
    no_answer_delay_time: int


def agent_row(row: Mapping[str, str]) -> AgentRow:
    """Type one row of :func:`parse_table` of an agent list.

    Raises ValueError for a row without a name, status or state, with a status
    or state mod_callcenter does not know, or a time that is not a whole number.
    """
    try:
        name = row["name"]
        if not name:
            raise ValueError("agent row without a name")
        ints = [int(row.get(f) or 0) for f in _ROW_INTS]
        return AgentRow(name, agent_status(row["status"]), agent_state(row["state"]), *ints)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an agent row ({exc!r}): {dict(row)!r}"[:200]) from None


def quote_arg(value: str) -> str:
    """One command argument: single-quoted when it holds spaces (``'On Break'``).

    mod_callcenter splits its arguments on spaces, keeping single-quoted runs
    together. Raises ValueError for an empty value or one holding a quote or a
    line break, which no quoting carries intact.
    """
    if not value or "'" in value or "\n" in value or "\r" in value:
        raise ValueError(f"cannot pass {value!r} as one callcenter_config argument")
    return f"'{value}'" if " " in value else value
