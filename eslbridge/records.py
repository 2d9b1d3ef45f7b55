"""Attempt records as a regulator reads them: CSV with a header, or one JSON object a line.

Pure formatting: rows in (``records.export``), text out to a stream. Times
are ISO 8601 with their offset (UTC as the database gives them), except
``callee_local_at``: the wall-clock time the callee's clock showed, without an
offset, in the zone ``callee_tz`` names.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

import orjson

from .causes import Status

FIELDS = (
    "id", "call_uuid", "user_id", "task_id", "task_name", "number_id", "phone", "caller_id_shown", "attempt_no", "node",
    "engine", "originated_at", "answered_at", "queue", "agent", "bridged_at", "hangup_at", "ended_at", "status",
    "status_name", "hangup_cause", "sip_status", "billsec", "duration", "abandoned", "dnc_checked", "dnc_result",
    "dnc_list_id", "dnc_list", "callee_tz", "callee_local_at",
)


def record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One attempt as exported: its columns, the status's name and the do-not-call check's result
    (``clear``, ``listed``, or ``unchecked`` for attempts older than the check)."""
    out = {k: row.get(k) for k in FIELDS}
    try:
        out["status_name"] = Status(row["status"]).name.lower()
    except ValueError:
        out["status_name"] = None
    out["dnc_result"] = ("listed" if row.get("dnc_list_id") is not None else "clear") if row.get("dnc_checked") \
        else "unchecked"
    return out


def _text(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, UUID):
        return str(v)
    return v


def write_records(rows: Iterable[Mapping[str, Any]], out: TextIO, fmt: str = "csv") -> int:
    """Write rows to ``out`` as ``csv`` or ``jsonl``; returns how many. Raises ValueError for another format."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"format: must be csv or jsonl, not {fmt!r}")
    n = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for row in rows:
            rec = record(row)
            writer.writerow(["" if rec[k] is None else _text(rec[k]) for k in FIELDS])
            n += 1
        return n
    for row in rows:
        out.write(orjson.dumps({k: _text(v) for k, v in record(row).items()}).decode())
        out.write("\n")
        n += 1
    return n
