"""The rows a task's plan is built from, and the engine's record of tasks it cannot dial.

SQL in ``sql/plans.sql`` (``running_tasks`` in ``sql/claims.sql`` has the same shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from .rows import Row
from .statements import SQL


def plan_rows(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> list[Row]:
    """Rows of the given tasks in the shape the dialer plans running tasks from."""
    return conn.execute(SQL["plan_rows"], (list(task_ids),)).fetchall()


def set_plan_errors(conn: psycopg.Connection[Any], errors: Mapping[str, str | None]) -> None:
    """Record why tasks cannot be dialled (None clears it)."""
    if errors:
        conn.execute(SQL["set_plan_errors"], (list(errors), list(errors.values())))
