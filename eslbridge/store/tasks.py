"""Tasks and their numbers for the CLI and the HTTP API: progress, start/stop, pages, reset, delete.

SQL in ``sql/tasks.sql``. A ``user_id`` of None (the CLI) means any tenant;
the API always passes the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from .claims import ENGINE_LIVE_S
from .rows import Row, assignments, json_value, names, paged, placeholders
from .statements import SQL, template


def progress(conn: psycopg.Connection[Any], task_id: Any, user_id: str | None = None) -> Row | None:
    """A task's progress in one statement; None if there is no such task (of that tenant, if given)."""
    row = conn.execute(SQL["task_progress"], {"task": task_id, "user": user_id}).fetchone()
    if row is None:
        return None
    total = int(row["total"])
    row["percent"] = (100 * int(row["progress"])) // total if total else 0
    row["call_centre"] = _call_centre(row.pop("abandonment"), row.pop("pacing"))
    return dict(row)


def _rate(abandoned: int, answered: int) -> float:
    """Abandoned ÷ answered by a person, in percent (0 with no answer yet)."""
    return round(100.0 * abandoned / answered, 2) if answered else 0.0


def _call_centre(counts: dict[str, Any] | None, pacing: dict[str, Any] | None) -> dict[str, Any] | None:
    """An agent task's abandonment rates and what its pacing sees; None for a robot task."""
    if counts is None:
        return None
    return {
        "answered": counts["answered"],
        "abandoned": counts["abandoned"],
        "abandonment_rate_pct": {
            "life": _rate(counts["abandoned"], counts["answered"]),
            "24h": _rate(counts["abandoned_24h"], counts["answered_24h"]),
            "30d": _rate(counts["abandoned_30d"], counts["answered_30d"]),
        },
        "agents": None if pacing is None else {
            "ready": pacing["agents_ready"], "busy": pacing["agents_busy"], "wrap_up": pacing["agents_wrap_up"],
            "logged_in": pacing["agents_logged_in"],
        },
        "calls_ringing": None if pacing is None else pacing["calls_ringing"],
        "calls_waiting": None if pacing is None else pacing["calls_waiting"],
        "dial_level": None if pacing is None else pacing["dial_level"],
        "seen_at": None if pacing is None else pacing["at"],
    }


def status_counts(conn: psycopg.Connection[Any], task_ids: Sequence[Any] | None = None) -> dict[int, int]:
    if task_ids is None:
        rows = conn.execute(SQL["status_counts"]).fetchall()
    else:
        rows = conn.execute(SQL["task_status_counts"], (list(task_ids),)).fetchall()
    return {int(r["status"]): int(r["n"]) for r in rows}


def task_exists(conn: psycopg.Connection[Any], task_id: Any) -> bool:
    return conn.execute(SQL["task_exists"], (task_id,)).fetchone() is not None


def set_task_start(conn: psycopg.Connection[Any], task_id: Any, start: int, user_id: str | None = None) -> bool:
    cur = conn.execute(SQL["set_task_start"], {"start": start, "task": task_id, "user": user_id})
    return cur.rowcount == 1


def list_numbers(conn: psycopg.Connection[Any], task_id: Any, status: int | None, limit: int = 1000) -> list[Row]:
    return conn.execute(SQL["list_numbers"], (task_id, status, status, limit)).fetchall()


def delete_task(conn: psycopg.Connection[Any], task_id: Any, user_id: str | None = None) -> str:
    """Delete a task and its numbers; refused while calls are in flight.

    Returns "deleted", "in_flight" or "not_found". Attempts stay as records
    of the calls (their ``number_id`` cleared; retention deletes them);
    delivered or pending notifications stay in the outbox.
    """
    if conn.execute(SQL["lock_task"], (task_id, user_id, user_id)).fetchone() is None:
        return "not_found"
    if conn.execute(SQL["task_has_calls"], (task_id,)).fetchone() is not None:
        return "in_flight"
    conn.execute(SQL["delete_task"], (task_id,))
    return "deleted"


def reset_numbers(
    conn: psycopg.Connection[Any],
    task_id: Any,
    statuses: Sequence[int] | None = None,
    imported_from: datetime | None = None,
    imported_before: datetime | None = None,
    phone: str | None = None,
) -> int:
    """Put matching numbers back to pending with a fresh retry budget; never one in flight.

    ``phone`` matches one number exactly, in the form it is stored (the line's).
    """
    cur = conn.execute(
        SQL["reset_numbers"],
        {"task": task_id, "statuses": list(statuses) if statuses else None, "since": imported_from,
         "until": imported_before, "phone": phone or None},
    )
    return cur.rowcount


def number_format(conn: psycopg.Connection[Any], user_id: str | None, task_id: Any) -> str | None:
    """The number format of the task's line (``eslbridge.phones``); None if there is no such task
    (of that tenant, if given)."""
    row = conn.execute(SQL["task_number_format"], {"task": task_id, "user": user_id}).fetchone()
    return None if row is None else str(row["number_format"])


# -- what the API shows around a task ---------------------------------------------------------
def lines_with_residue(conn: psycopg.Connection[Any], user: str, line_id: Any = None,
                       line_ids: Sequence[Any] | None = None) -> list[Row]:
    """The tenant's lines (or the one ``line_id``, or ``line_ids``) with calls in flight, calls
    left and whether a live engine has their node up (``node_status``)."""
    ids = list(line_ids) if line_ids is not None else None if line_id is None else [line_id]
    return conn.execute(SQL["lines_with_residue"], {"user": user, "ids": ids, "live": ENGINE_LIVE_S}).fetchall()


def creation_options(conn: psycopg.Connection[Any], user: str) -> dict[str, list[Row]]:
    """What `GET /v1/task/create` offers: lines with residue, time groups, rules, usable agent queues, script groups."""
    return {
        "lines": lines_with_residue(conn, user),
        "time_groups": conn.execute(SQL["tenant_time_groups"], (user,)).fetchall(),
        "rules": conn.execute(SQL["tenant_rules"], (user,)).fetchall(),
        "customer_service": conn.execute(SQL["usable_customer_service"], (user,)).fetchall(),
        "outbound_groups": conn.execute(SQL["tenant_outbound_groups"], (user,)).fetchall(),
    }


def live_calls(conn: psycopg.Connection[Any], task_id: Any) -> int:
    row = conn.execute(SQL["live_calls"], (task_id,)).fetchone()
    return int(row["n"]) if row else 0


def task_rows(conn: psycopg.Connection[Any], user: str, task_ids: Sequence[Any] | None = None, *, name: str | None = None,
              start: int | None = None, page: int = 1, size: int = 20) -> tuple[list[Row], int]:
    """Tasks with what the seed nests: line (with residue), rule, time group, script group, progress."""
    rows, total = paged(conn.execute(
        SQL["task_page"],
        {"user": user, "ids": list(task_ids) if task_ids is not None else None, "name": name, "start": start,
         "size": size, "off": (page - 1) * size},
    ).fetchall())
    if not rows:
        return [], total
    ids = [r["uuid"] for r in rows]
    progress = {r["task_id"]: r for r in conn.execute(SQL["tasks_progress"], (ids,)).fetchall()}
    lines = {r["id"]: r for r in lines_with_residue(conn, user, line_ids=[r["caller_line_id"] for r in rows])}
    rule_ids = [r["auto_recycle_rule_id"] for r in rows if r["auto_recycle_rule_id"]]
    rules = {r["id"]: r for r in conn.execute(SQL["rules_by_ids"], (rule_ids,)).fetchall()}
    group_ids = [r["disable_dial_timegroup"] for r in rows if r["disable_dial_timegroup"]]
    tgroups = {r["id"]: r for r in conn.execute(SQL["time_groups_by_ids"], (group_ids,)).fetchall()}
    ext_ids = [int(r["destination_extension"]) for r in rows if r["destination_extension"].isdigit()]
    ogroups = {r["id"]: r for r in conn.execute(SQL["outbound_groups_by_ids"], (ext_ids, user)).fetchall()}
    for r in rows:
        p = progress.get(r["uuid"], {"total": 0, "progress": 0})
        total_n, done = int(p["total"]), int(p["progress"])
        r["progress_bar"] = {"total": total_n, "progress": done, "percent": (100 * done) // total_n if total_n else 0}
        r["caller_line"] = lines.get(r["caller_line_id"])
        r["auto_recycle_rule"] = rules.get(r["auto_recycle_rule_id"])
        r["disable_time_group"] = tgroups.get(r["disable_dial_timegroup"])
        ext = r["destination_extension"]
        r["group"] = ogroups.get(int(ext)) if ext.isdigit() else None
    return rows, total


def insert_task(conn: psycopg.Connection[Any], user: str, values: dict[str, Any]) -> Any:
    """A new task of ``user`` from column values (bound as given); returns its uuid."""
    cols = ["user_id", *values]
    q = template("insert_task").format(columns=names(cols), values=placeholders(len(cols)))
    row = conn.execute(q, [user, *values.values()]).fetchone()
    assert row is not None
    return row["uuid"]


def update_task(conn: psycopg.Connection[Any], user: str, task_id: Any, values: dict[str, Any]) -> bool:
    """Set columns of the tenant's task (dicts and lists as JSON); False if it has no such task."""
    if not values:
        return conn.execute(SQL["tenant_task_exists"], (task_id, user)).fetchone() is not None
    q = template("update_task").format(assignments=assignments(values))
    return conn.execute(q, [*(json_value(v) for v in values.values()), task_id, user]).rowcount == 1


def task_by_seq(conn: psycopg.Connection[Any], user: str, seq: int) -> Row | None:
    return conn.execute(SQL["task_by_seq"], (seq, user)).fetchone()


def numbers_page(conn: psycopg.Connection[Any], task_id: Any, status: int | None, page: int, size: int) -> tuple[list[Row], int]:
    rows = conn.execute(SQL["numbers_page"], (task_id, status, status, size, (page - 1) * size)).fetchall()
    return paged(rows)


def task_owned(conn: psycopg.Connection[Any], user: str, task_id: Any, lock: bool = False) -> Row | None:
    return conn.execute(SQL["task_owned_for_update" if lock else "task_owned"], (task_id, user)).fetchone()

