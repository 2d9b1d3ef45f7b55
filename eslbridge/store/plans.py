"""The rows a task's plan is built from: the task joined with its line and its disable time group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

Row = dict[str, Any]

_PLAN_ROWS = """
SELECT t.*, l.dial_string, l.call_number, l.call_line, l.node, l.cps, l.begin_at, l.deadline_at,
       coalesce((SELECT json_agg(json_build_array(r.weekdays, r.start_time::text, r.end_time::text))
                 FROM disable_dial_timerange r WHERE r.group_id = t.disable_dial_timegroup), '[]') AS blocked
FROM task t JOIN caller_line l ON l.id = t.caller_line_id
WHERE t.uuid = ANY(%s)
"""


def plan_rows(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> list[Row]:
    """Rows of the given tasks in the shape the dialer plans running tasks from."""
    return conn.execute(_PLAN_ROWS, (list(task_ids),)).fetchall()


_SET_PLAN_ERRORS = """
UPDATE task t SET plan_error = x.error
FROM unnest(%s::uuid[], %s::text[]) AS x(task_id, error)
WHERE t.uuid = x.task_id AND t.plan_error IS DISTINCT FROM x.error
"""


def set_plan_errors(conn: psycopg.Connection[Any], errors: dict[str, str | None]) -> None:
    """Record why tasks cannot be dialled (None clears it); rows already right are not touched."""
    if errors:
        conn.execute(_SET_PLAN_ERRORS, (list(errors), list(errors.values())))
