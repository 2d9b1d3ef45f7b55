"""Rows the demo and the benchmarks start from, and the counts they watch.

SQL in ``sql/fixtures.sql``. Tasks themselves are created with
``tasks.insert_task``, numbers with ``imports.import_numbers``, tenants with
``apps.add_tenant``, as the product does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from .statements import SQL


def _returned(cur: psycopg.Cursor[Any], key: str) -> Any:
    row = cur.fetchone()
    assert row is not None  # INSERT … RETURNING of one row
    return row[key]


def add_line(conn: psycopg.Connection[Any], user: str, name: str, dial_string: str, call_line: int,
             node: str = "fs1", call_number: str = "") -> Any:
    """A line; returns its id. ``dial_string`` holds ``%s`` where the number goes."""
    return _returned(conn.execute(SQL["add_line"], (user, name, dial_string, call_line, node, call_number)), "id")


def add_time_group(conn: psycopg.Connection[Any], user: str, name: str) -> Any:
    return _returned(conn.execute(SQL["add_time_group"], (user, name)), "id")


def add_time_range(conn: psycopg.Connection[Any], group_id: Any, start: str, end: str) -> None:
    """Block ``start``–``end`` (``"HH:MM"``) on every weekday."""
    conn.execute(SQL["add_time_range"], (group_id, start, end))


def add_recycle_rule(conn: psycopg.Connection[Any], user: str, name: str, max_attempts: int) -> Any:
    return _returned(conn.execute(SQL["add_recycle_rule"], (user, name, max_attempts)), "id")


def add_recycle_entry(conn: psycopg.Connection[Any], rule_id: Any, status: int, interval_min: float, times: int) -> None:
    conn.execute(SQL["add_recycle_entry"], (rule_id, status, interval_min, times))


def add_numbered_tasks(conn: psycopg.Connection[Any], user: str, line_id: Any, count: int) -> list[Any]:
    """``count`` stopped tasks named ``task 1`` … on one line; returns their uuids."""
    rows = conn.execute(SQL["add_numbered_tasks"], {"user": user, "line": line_id, "count": count}).fetchall()
    return [r["uuid"] for r in rows]


def add_sample_numbers(conn: psycopg.Connection[Any], task_ids: Sequence[Any], per_task: int) -> None:
    """The same ``per_task`` phones (13800000001 on) for every task."""
    conn.execute(SQL["add_sample_numbers"], (list(task_ids), per_task))


def final_numbers(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> int:
    """Numbers of the tasks in a final status with no retry ahead."""
    row = conn.execute(SQL["final_numbers"], (list(task_ids),)).fetchone()
    return int(row["n"]) if row else 0


def ended_calls(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(SQL["ended_calls"]).fetchone()
    return int(row["n"]) if row else 0


def attempt_times(conn: psycopg.Connection[Any], task_id: Any) -> list[tuple[datetime, datetime | None]]:
    """(originated_at, ended_at) of each attempt of a task, in origination order."""
    return [(r["originated_at"], r["ended_at"]) for r in conn.execute(SQL["attempt_times"], (task_id,)).fetchall()]


def undelivered_notifications(conn: psycopg.Connection[Any], include_dead: bool) -> int:
    """Outbox rows not delivered (and, unless ``include_dead``, not given up on)."""
    row = conn.execute(SQL["undelivered_notifications"], (include_dead,)).fetchone()
    return int(row["n"]) if row else 0


def notification_outcomes(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(delivered, dead) outbox rows."""
    row = conn.execute(SQL["notification_outcomes"]).fetchone()
    assert row is not None  # an aggregate without GROUP BY
    return int(row["delivered"]), int(row["failed"])


def attempt_outcomes(conn: psycopg.Connection[Any], task_id: Any) -> list[dict[str, Any]]:
    """Each attempt of a task: call uuid, phone, status, cause, billsec, recovered, originated and ended times."""
    return conn.execute(SQL["attempt_outcomes"], (task_id,)).fetchall()
