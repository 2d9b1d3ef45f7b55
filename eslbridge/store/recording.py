"""The recorder's and sweeper's statements: attempts, number outcomes, outbox rows, open calls.

SQL in ``sql/recording.sql``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import psycopg

from .rows import Row, columns
from .statements import SQL


def recycle_rules(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(SQL["recycle_rules"]).fetchall()


def lock_attempts(conn: psycopg.Connection[Any], call_uuids: Iterable[str]) -> list[Row]:
    """Attempts (with number and task fields) of the given calls, locked; uuids not of ours are skipped."""
    ids = []
    for u in call_uuids:
        try:
            ids.append(uuid.UUID(u))
        except ValueError:
            continue  # not one of ours
    if not ids:
        return []
    return conn.execute(SQL["lock_attempts"], (ids,)).fetchall()


def save_attempts(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Write attempt states in one statement (UPDATE … FROM unnest)."""
    if not rows:
        return
    conn.execute(
        SQL["save_attempts"],
        columns(rows, "id", "status", "answered_at", "hangup_at", "cause", "sip_status", "billsec", "duration",
                "job_cause", "job_at", "saw_channel", "final"),
    )


def save_numbers(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    conn.execute(
        SQL["save_numbers"],
        [[r["id"] for r in rows], [r["status"] for r in rows], [r["cause"] for r in rows],
         [r["next_attempt_at"] for r in rows], [orjson.dumps(r["retries"]).decode() for r in rows]],
    )


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
