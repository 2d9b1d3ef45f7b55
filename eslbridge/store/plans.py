"""The rows a task's plan is built from, and the engine's record of tasks it cannot dial.

SQL in ``sql/plans.sql``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg

from .rows import Row
from .statements import SQL


def plan_rows(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> list[Row]:
    """Rows of the given tasks, started or not, in the shape the dialer plans from."""
    return conn.execute(SQL["plan_rows"], {"ids": list(task_ids)}).fetchall()


def running_tasks(conn: psycopg.Connection[Any]) -> list[Row]:
    """Rows of every started task: what the dialer plans at each task-list refresh."""
    return conn.execute(SQL["plan_rows"], {"ids": None}).fetchall()


def set_plan_errors(conn: psycopg.Connection[Any], errors: Mapping[str, str | None]) -> None:
    """Record why tasks cannot be dialled (None clears it)."""
    if errors:
        conn.execute(SQL["set_plan_errors"], (list(errors), list(errors.values())))


def set_hold_reasons(conn: psycopg.Connection[Any], reasons: Mapping[str, str | None]) -> None:
    """Record why the engine holds tasks it could dial (None clears it)."""
    if reasons:
        conn.execute(SQL["set_hold_reasons"], (list(reasons), list(reasons.values())))


def save_pacing(conn: psycopg.Connection[Any], engine: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """What this engine's pacing saw for its agent tasks (``task_pacing``), one row per task."""
    if rows:
        conn.execute(SQL["save_pacing"], {"engine": engine, "rows": orjson.dumps(list(rows)).decode()})
