"""The recorder's and sweeper's statements: attempts, number outcomes, outbox rows, open calls.

SQL in ``sql/recording.sql``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from ..rows import AttemptRow, NumberUpdate, OutboxRow
from .rows import Row, fetch_as
from .statements import SQL


def recycle_rules(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(SQL["recycle_rules"]).fetchall()


def lock_attempts(conn: psycopg.Connection[Any], call_uuids: Iterable[str]) -> list[AttemptRow]:
    """Attempts (with number and task fields) of the given calls, locked; uuids not of ours are skipped.

    Rows are built from positional values (no dict per row); raises TypeError
    if the statement's columns are not :class:`AttemptRow`'s fields in order.
    """
    ids = []
    for u in call_uuids:
        try:
            ids.append(uuid.UUID(u))
        except ValueError:
            continue  # not one of ours
    if not ids:
        return []
    # Binary rows: 35 columns a row, and loading them from text was a fifth of the recorder's time.
    # Three jsonb columns a row: orjson reads them ~5x faster than json.
    return fetch_as(conn, AttemptRow, SQL["lock_attempts"], (ids,), binary=True,
                    prepare=lambda cur: set_json_loads(orjson.loads, cur))


def save_outcomes(
    conn: psycopg.Connection[Any],
    attempts: Sequence[Mapping[str, Any]],
    numbers: Sequence[NumberUpdate],
    notes: Sequence[OutboxRow],
) -> None:
    """Attempt states, number states and outbox rows of one batch, in one statement.

    ``attempts`` hold the keys of the statement's attempt record (``final``
    included). Each table's rows travel as one JSON document (orjson writes
    dataclasses, datetimes and UUIDs natively): building an array per column
    and adapting it element by element was the recorder's largest CPU cost.
    Values orjson cannot write (a payload variable of an odd type) are
    written as their ``str``.
    """
    if not (attempts or numbers or notes):
        return
    conn.execute(SQL["save_outcomes"], {
        "attempts": orjson.dumps(attempts).decode(),
        "numbers": orjson.dumps(numbers).decode(),
        "notes": orjson.dumps(notes, default=str).decode(),
    })


def add_notifications(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Outbox rows in one statement (the recorder writes one per finished call).

    The payloads travel as a binary array: the text form escapes every quote
    of every payload with a regular expression, a fifth of the engine's CPU.
    """
    if not rows:
        return
    conn.execute(
        SQL["add_notifications"],
        [[r["event_id"] for r in rows], [r["user_id"] for r in rows], [r["task_id"] for r in rows],
         [r["attempt_id"] for r in rows], [r["url"] for r in rows],
         [orjson.dumps(r["payload"], default=str).decode() for r in rows]],
    )


def unconfirmed_job_failures(conn: psycopg.Connection[Any], grace_s: float) -> list[str]:
    rows = conn.execute(SQL["unconfirmed_job_failures"], (grace_s,)).fetchall()
    return [r["u"] for r in rows]


def in_flight(conn: psycopg.Connection[Any], engine: str, node: str, older_than_s: float) -> list[str]:
    rows = conn.execute(SQL["in_flight"], (engine, node, older_than_s)).fetchall()
    return [r["u"] for r in rows]


def count_in_flight(conn: psycopg.Connection[Any], engine: str) -> int:
    """How many calls of ``engine`` have not ended (on every node)."""
    row = conn.execute(SQL["count_in_flight"], (engine,)).fetchone()
    return int(row["n"]) if row else 0
