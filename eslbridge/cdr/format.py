"""The CDR line eslbridge asks mod_cdr_csv to write, and how it is read back (pure).

mod_cdr_csv (FreeSWITCH 1.10.12, ``mod_cdr_csv.c``) expands a template of
``${variable}`` references with the channel's variables in the channel's own
thread at CS_REPORTING, just before CHANNEL_HANGUP_COMPLETE, and appends the
result with one ``write()`` to ``<log-base>/cdr-csv/Master.csv``. Values are
inserted as they are: nothing is escaped, a missing variable expands to
nothing. The template (``dialplan/cdr_csv.conf.xml``) therefore holds only
values FreeSWITCH or eslbridge set: uuids, epochs, counts, cause names and
queue/agent names; a line that does not split into exactly these fields (a
value with a quote in it) is reported and skipped, never guessed at.

A line starts with :data:`MARKER`, so lines of any other template (the file
existed before, or some calls use another) are told apart and ignored.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from ..rows import CdrRow

MARKER: Final = "eslbridge.1"
# Channel variables, in the template's order. *_uepoch are microseconds since the
# epoch (0: never), cc_*_epoch whole seconds (mod_callcenter's clock).
FIELDS: Final = (
    "uuid",
    "origination_uuid",
    "eslbridge_engine",
    "eslbridge_task",
    "eslbridge_number",
    "start_uepoch",
    "answer_uepoch",
    "bridge_uepoch",
    "end_uepoch",
    "billsec",
    "duration",
    "hangup_cause",
    "sip_term_status",
    "sip_hangup_disposition",
    "cc_queue",
    "cc_agent",
    "cc_cause",
    "cc_cancel_reason",
    "cc_queue_joined_epoch",
    "cc_queue_answered_epoch",
)
_ENGINE_VAR = "eslbridge_engine"


class CdrLineError(ValueError):
    """A line in eslbridge's format that cannot be read; the message says why."""


def template() -> str:
    """The mod_cdr_csv template (one line; mod_cdr_csv adds the newline)."""
    return MARKER + "," + ",".join(f'"${{{name}}}"' for name in FIELDS)


def render(variables: Mapping[str, str]) -> bytes:
    """The line mod_cdr_csv writes for a channel with these variables (the simulator's writer)."""
    return (MARKER + "," + ",".join(f'"{variables.get(name, "")}"' for name in FIELDS) + "\n").encode()


def parse(line: bytes, node: str) -> CdrRow | None:
    """The CDR of one of our originated calls, or None for any other line.

    None: another template's line, or a channel that is not the one we
    originated (a loopback B leg carries our variables under its own uuid;
    calls of other systems have no ``eslbridge_engine``). Raises
    :class:`CdrLineError` for a line of our format that does not read.
    """
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    if not text.startswith(MARKER + ","):
        return None
    try:
        values = next(csv.reader([text[len(MARKER) + 1 :]], strict=True))
    except (csv.Error, StopIteration) as exc:
        raise CdrLineError(f"not a CSV line: {exc}") from None
    if len(values) != len(FIELDS):
        raise CdrLineError(f"{len(values)} fields, expected {len(FIELDS)}")
    v = dict(zip(FIELDS, values, strict=True))
    if not v[_ENGINE_VAR] or not v["uuid"] or v["uuid"] != v["origination_uuid"]:
        return None
    try:
        call_uuid = str(uuid.UUID(v["uuid"]))
    except ValueError:
        return None  # not an origination uuid of ours (they are uuid4)
    queue = v["cc_queue"] or None
    cc_answered = _seconds(v["cc_queue_answered_epoch"], "cc_queue_answered_epoch")
    return CdrRow(
        call_uuid=call_uuid,
        node=node,
        engine=v[_ENGINE_VAR],
        task_id=v["eslbridge_task"] or None,
        number_id=v["eslbridge_number"] or None,
        started_at=_micros(v["start_uepoch"], "start_uepoch"),
        answered_at=_micros(v["answer_uepoch"], "answer_uepoch"),
        # Only a queue member's bridge is one to an agent.
        bridged_at=(cc_answered or _micros(v["bridge_uepoch"], "bridge_uepoch")) if queue else None,
        ended_at=_micros(v["end_uepoch"], "end_uepoch"),
        billsec=_count(v["billsec"], "billsec"),
        duration=_count(v["duration"], "duration"),
        hangup_cause=v["hangup_cause"] or None,
        sip_status=v["sip_term_status"] or None,
        sip_disposition=v["sip_hangup_disposition"] or None,
        cc_queue=queue,
        cc_agent=v["cc_agent"] or None,
        cc_cause=v["cc_cause"] or None,
        cc_cancel_reason=v["cc_cancel_reason"] or None,
        cc_joined_at=_seconds(v["cc_queue_joined_epoch"], "cc_queue_joined_epoch"),
        cc_answered_at=cc_answered,
    )


def _number(text: str, name: str) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise CdrLineError(f"{name}: not a number: {text[:40]!r}") from None


def _count(text: str, name: str) -> int:
    return max(0, _number(text, name))


def _micros(text: str, name: str) -> datetime | None:
    n = _number(text, name)
    return datetime.fromtimestamp(n / 1e6, tz=UTC) if n > 0 else None


def _seconds(text: str, name: str) -> datetime | None:
    n = _number(text, name)
    return datetime.fromtimestamp(n, tz=UTC) if n > 0 else None
