"""The hangup notification: the webhook document of docs/notifications.md (version 1).

This is a public contract, checked against ``docs/notification.schema.json``:
fields are added only with a new version, never renamed or dropped. Pure: the
event id and the clock come from the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from ..causes import Q850, Status
from ..rows import AttemptRow, OutboxRow
from ..tracker import Attempt

EVENT_TYPE = "call.hangup"
VERSION = 1
_STATUS_NAMES = {s: s.name.lower() for s in Status}
_dumps = orjson.dumps


def _text(value: datetime | UUID) -> str:
    """A time as ``isoformat()`` writes it (RFC 3339), a uuid as ``str()`` does: orjson writes
    the same text ~3x faster (a payload has up to seven of them)."""
    return _dumps(value)[1:-1].decode()


def hangup_payload(
    event_id: str, row: AttemptRow, a: Attempt, retry_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The JSON document for final attempt ``a`` of ``row``; ``retry_at`` is the number's retry, if any.

    ``occurred_at`` is the hangup, else ``now``. Values are JSON types except
    ``variables``, passed on as stored (a jsonb object).
    """
    hangup_at = _text(a.hangup_at) if a.hangup_at else None
    return {
        "type": EVENT_TYPE,
        "version": VERSION,
        "id": event_id,
        "occurred_at": hangup_at or _text(now),
        "data": {
            "task_uuid": _text(row.task_id),
            "task_name": row.task_name,
            "number_id": row.number_id,
            "phone": row.phone,
            "attempt": row.attempt_no,
            "call_uuid": row.call_uuid,
            "node": row.node,
            "caller_id_shown": row.caller_id_shown,
            "status": int(a.status),
            "status_name": _STATUS_NAMES[a.status],
            "hangup_cause": a.cause,
            "q850": Q850.get(a.cause or ""),
            "sip_status": a.sip_status,
            # A claim a do-not-call list refused was never originated.
            "originated_at": _text(row.originated_at) if row.originated_at and a.dnc_list is None else None,
            "answered_at": _text(a.answered_at) if a.answered_at else None,
            "hangup_at": hangup_at,
            "billsec": a.billsec,
            "duration": a.duration,
            "recovered": a.recovered,
            "retry": retry_at is not None,
            "retry_at": _text(retry_at) if retry_at else None,
            "variables": row.variables,
            "call_centre": _call_centre(a),
        },
    }


def _call_centre(a: Attempt) -> dict[str, Any] | None:
    """An agent task's call: its queue, who took it and when, and whether it was abandoned."""
    if a.queue is None and not a.abandoned:
        return None
    wait = None
    if a.answered_at is not None:
        end = a.bridged_at or a.hangup_at
        wait = round((end - a.answered_at).total_seconds(), 3) if end is not None else None
    return {
        "queue": a.queue,
        "queued_at": _text(a.queued_at) if a.queued_at else None,
        "agent": a.agent,
        "bridged_at": _text(a.bridged_at) if a.bridged_at else None,
        "queue_wait_s": wait,
        "abandoned": a.abandoned,
    }


def notification(
    event_id: str, row: AttemptRow, a: Attempt, retry_at: datetime | None, now: datetime
) -> OutboxRow:
    """The outbox row that delivers :func:`hangup_payload` to the task's ``call_notify_url``."""
    return OutboxRow(
        event_id=event_id,
        user_id=row.user_id,
        task_id=row.task_id,
        attempt_id=row.id,
        url=row.call_notify_url,
        payload=hangup_payload(event_id, row, a, retry_at, now),
    )
