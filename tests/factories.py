"""Rows for tests, inserted the way another system would: plain SQL."""

from __future__ import annotations

import uuid
from typing import Any

from eslbridge.store import imports, tasks
from eslbridge.store.db import Database


def tenant(db: Database, tid: str = "t1") -> str:
    with db.transaction() as conn:
        conn.execute("INSERT INTO tenant (id) VALUES (%s) ON CONFLICT DO NOTHING", (tid,))
    return tid


def line(db: Database, user: str = "t1", call_line: int = 10, node: str = "fs1", **kw: Any) -> str:
    tenant(db, user)
    cols = {"user_id": user, "name": "line", "dial_string": "loopback/%s/lab", "call_number": "1000",
            "call_line": call_line, "node": node, **kw}
    with db.transaction() as conn:
        row = conn.execute(
            f"INSERT INTO caller_line ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING id",
            list(cols.values()),
        ).fetchone()
    return str(row["id"])


def rule(db: Database, entries: dict[int, tuple[float, int]], max_attempts: int = 3, user: str = "t1") -> int:
    tenant(db, user)
    with db.transaction() as conn:
        rid = conn.execute(
            "INSERT INTO auto_recycle_rule (user_id, name, max_attempts) VALUES (%s, 'r', %s) RETURNING id",
            (user, max_attempts),
        ).fetchone()["id"]
        for status, (minutes, times) in entries.items():
            conn.execute(
                "INSERT INTO auto_recycle_rule_entry (rule_id, status, interval_min, times) VALUES (%s, %s, %s, %s)",
                (rid, status, minutes, times),
            )
    return int(rid)


def task(db: Database, line_id: str, phones: list[str], user: str = "t1", start: int = 1, **kw: Any) -> str:
    cols = {"user_id": user, "name": f"task-{uuid.uuid4().hex[:8]}", "start": 0, "maximumcall": 5, "_originate_timeout": 5,
            "destination_extension": "9000", "caller_line_id": line_id, **kw}
    with db.transaction() as conn:
        tid = conn.execute(
            f"INSERT INTO task ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING uuid",
            list(cols.values()),
        ).fetchone()["uuid"]
        imports.import_numbers(conn, tid, phones)
        tasks.set_task_start(conn, tid, start)
    return str(tid)


def numbers(db: Database, task_id: str) -> dict[str, dict[str, Any]]:
    with db.connection() as conn:
        rows = conn.execute("SELECT * FROM task_number WHERE task_id = %s", (task_id,)).fetchall()
    return {r["phone"]: r for r in rows}


def attempts(db: Database, task_id: str | None = None) -> list[dict[str, Any]]:
    with db.connection() as conn:
        if task_id is None:
            return conn.execute("SELECT * FROM call_attempt ORDER BY id").fetchall()
        return conn.execute("SELECT * FROM call_attempt WHERE task_id = %s ORDER BY id", (task_id,)).fetchall()


def all_final(db: Database, task_id: str) -> bool:
    with db.connection() as conn:
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE status < 10 OR next_attempt_at IS NOT NULL) AS open FROM task_number
               WHERE task_id = %s""",
            (task_id,),
        ).fetchone()
    return row["open"] == 0


def max_overlap(intervals: list[tuple[Any, Any]]) -> int:
    """Largest number of [start, end) intervals open at once."""
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda p: (p[0], p[1]))
    best = cur = 0
    for _, delta in points:
        cur += delta
        best = max(best, cur)
    return best


def plan_error(db: Database, task_id: str) -> str | None:
    """Why the engine cannot dial the task (``task.plan_error``), or None."""
    with db.connection() as conn:
        row = conn.execute("SELECT plan_error FROM task WHERE uuid = %s", (task_id,)).fetchone()
    return row["plan_error"] if row else None


def hold_reason(db: Database, task_id: str) -> str | None:
    """Why the engine holds the task (``task.hold_reason``), or None."""
    with db.connection() as conn:
        row = conn.execute("SELECT hold_reason FROM task WHERE uuid = %s", (task_id,)).fetchone()
    return row["hold_reason"] if row else None


def number_group(db: Database, numbers: dict[str, int | None], user: str = "t1", group_id: int | None = None,
                 timezone: str | None = None) -> int:
    """A caller-id number group: caller id → daily cap (None: no cap)."""
    tenant(db, user)
    with db.transaction() as conn:
        if group_id is None:
            gid = conn.execute("INSERT INTO number_group (user_id, name, timezone) VALUES (%s, 'g', %s) RETURNING id",
                               (user, timezone)).fetchone()["id"]
        else:
            gid = conn.execute("INSERT INTO number_group (id, user_id, name, timezone) VALUES (%s, %s, 'g', %s) RETURNING id",
                               (group_id, user, timezone)).fetchone()["id"]
        for caller_id, cap in numbers.items():
            conn.execute("INSERT INTO number_group_number (group_id, caller_id, daily_cap) VALUES (%s, %s, %s)",
                         (gid, caller_id, cap))
    return int(gid)
