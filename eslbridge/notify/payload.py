"""The hangup notification: the webhook document of docs/notifications.md (version 1).

This is a public contract, checked against ``docs/notification.schema.json``:
fields are added only with a new version, never renamed or dropped. Pure: the
event id and the clock come from the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..causes import Q850
from ..rows import AttemptRow, OutboxRow
from ..tracker import Attempt

EVENT_TYPE = "call.hangup"
VERSION = 1


def hangup_payload(
    event_id: str, row: AttemptRow, a: Attempt, retry_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The JSON document for final attempt ``a`` of ``row``; ``retry_at`` is the number's retry, if any.

    ``occurred_at`` is the hangup, else ``now``. Values are JSON types except
    ``variables``, passed on as stored (a jsonb object).
    """
    hangup_at = a.hangup_at.isoformat() if a.hangup_at else None
    return {
        "type": EVENT_TYPE,
        "version": VERSION,
        "id": event_id,
        "occurred_at": hangup_at or now.isoformat(),
        "data": {
            "task_uuid": str(row.task_id),
            "task_name": row.task_name,
            "number_id": row.number_id,
            "phone": row.phone,
            "attempt": row.attempt_no,
            "call_uuid": row.call_uuid,
            "node": row.node,
            "caller_id_shown": row.caller_id_shown,
            "status": int(a.status),
            "status_name": a.status.name.lower(),
            "hangup_cause": a.cause,
            "q850": Q850.get(a.cause or ""),
            "sip_status": a.sip_status,
            # A claim a do-not-call list refused was never originated.
            "originated_at": row.originated_at.isoformat() if row.originated_at and a.dnc_list is None else None,
            "answered_at": a.answered_at.isoformat() if a.answered_at else None,
            "hangup_at": hangup_at,
            "billsec": a.billsec,
            "duration": a.duration,
            "recovered": a.recovered,
            "retry": retry_at is not None,
            "retry_at": retry_at.isoformat() if retry_at else None,
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
        "queued_at": a.queued_at.isoformat() if a.queued_at else None,
        "agent": a.agent,
        "bridged_at": a.bridged_at.isoformat() if a.bridged_at else None,
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
