"""Attempt records: the regulator's export, streamed, and retention in small batches.

SQL in ``sql/records.sql``. The export reads through a server-side cursor, so
a five-year export holds one page of rows in memory, not the result. Retention
deletes ended attempts (and delivered or dead notifications) older than a
time in batches of ``BATCH`` rows, each its own short transaction taking row
locks only and skipping rows another transaction holds: the dialer and the
recorder write the same tables meanwhile and never wait on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, LiteralString

import gevent

from .db import Database
from .rows import Row
from .statements import SQL

PAGE = 2000  # rows per fetch of the export cursor
BATCH = 1000  # rows per retention transaction


def export(db: Database, since: datetime, until: datetime | None = None, task_id: Any = None,
           user_id: str | None = None) -> Iterator[Row]:
    """Attempt records from ``since`` on, oldest first, streamed through a server-side cursor."""
    with db.connection() as conn, conn.transaction(), conn.cursor(name="attempt_records") as cur:
        cur.itersize = PAGE
        cur.execute(SQL["attempt_records"], {"since": since, "until": until, "task": task_id, "user": user_id})
        yield from cur


def purge(db: Database, before: datetime, batch: int = BATCH, pause_s: float = 0.0) -> dict[str, int]:
    """Delete ended attempts originated, and finished notifications created, before ``before``;
    returns how many of each. ``pause_s`` between batches leaves the database to the engine."""
    return {
        "attempts": _purge(db, SQL["last_old_attempt"], SQL["purge_attempts"], before, batch, pause_s),
        "notifications": _purge(db, SQL["last_old_notification"], SQL["purge_notifications"], before, batch,
                                pause_s),
    }


def _purge(db: Database, bound: LiteralString, step: LiteralString, before: datetime, batch: int,
           pause_s: float) -> int:
    """Batches of ``step`` up to the id ``bound`` finds (a walk of the primary key, never past the
    last old row: the new ones are not read)."""
    with db.connection() as conn:
        row = conn.execute(bound, (before,)).fetchone()
    upto = row["id"] if row else None
    if upto is None:
        return 0
    deleted, after = 0, 0
    while True:
        with db.transaction() as conn:
            ids = [r["id"] for r in conn.execute(
                step, {"after": after, "upto": upto, "before": before, "batch": batch}).fetchall()]
        if not ids:
            return deleted
        deleted += len(ids)
        after = max(ids)
        gevent.sleep(pause_s)
