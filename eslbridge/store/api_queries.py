"""SQL of the HTTP API. Every statement is scoped to the caller's tenant (``user_id``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

Row = dict[str, Any]


# -- apps and signatures -----------------------------------------------------------
def app(conn: psycopg.Connection[Any], app_id: str) -> Row | None:
    return conn.execute("SELECT app_id, user_id, public_key FROM api_app WHERE app_id = %s", (app_id,)).fetchone()


def create_app(conn: psycopg.Connection[Any], app_id: str, user_id: str, name: str, public_key: str | None) -> None:
    conn.execute("INSERT INTO tenant (id) VALUES (%s) ON CONFLICT DO NOTHING", (user_id,))
    conn.execute(
        "INSERT INTO api_app (app_id, user_id, name, public_key, key_set_at) VALUES (%s, %s, %s, %s, CASE WHEN %s::text IS NULL THEN NULL ELSE now() END)",
        (app_id, user_id, name, public_key, public_key),
    )


def set_key(conn: psycopg.Connection[Any], app_id: str, public_key: str) -> bool:
    cur = conn.execute("UPDATE api_app SET public_key = %s, key_set_at = now() WHERE app_id = %s", (public_key, app_id))
    return cur.rowcount == 1


def record_signatures(conn: psycopg.Connection[Any], digests: list[bytes]) -> set[bytes]:
    """Record signature hashes; returns the ones not seen before (the others are replays).

    The table is unlogged (migration 005): a crash forgets recent signatures,
    a window a replay would also need a stolen request for.
    """
    rows = conn.execute(
        """INSERT INTO api_signature_seen (sign_hash) SELECT unnest(%s::bytea[])
           ON CONFLICT DO NOTHING RETURNING sign_hash""",
        (digests,),
    ).fetchall()
    return {bytes(r["sign_hash"]) for r in rows}


def forget_signatures(conn: psycopg.Connection[Any], older_than_s: int) -> None:
    conn.execute("DELETE FROM api_signature_seen WHERE seen_at < now() - make_interval(secs => %s)", (older_than_s,))


def _paged(rows: list[Row]) -> tuple[list[Row], int]:
    """Strip the ``count(*) OVER () AS _total`` column; returns (rows, total of all pages)."""
    total = int(rows[0]["_total"]) if rows else 0
    for r in rows:
        r.pop("_total", None)
    return rows, total


# -- generic resources ------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    name: str
    id_col: str = "id"
    order: str = "id"


def list_rows(conn: psycopg.Connection[Any], t: Table, user: str, page: int, size: int) -> tuple[list[Row], int]:
    q = sql.SQL("SELECT *, count(*) OVER () AS _total FROM {} WHERE user_id = %s ORDER BY {} LIMIT %s OFFSET %s").format(
        sql.Identifier(t.name), sql.Identifier(t.order)
    )
    return _paged(conn.execute(q, (user, size, (page - 1) * size)).fetchall())


def get_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any) -> Row | None:
    q = sql.SQL("SELECT * FROM {} WHERE {} = %s AND user_id = %s").format(sql.Identifier(t.name), sql.Identifier(t.id_col))
    return conn.execute(q, (ident, user)).fetchone()


def insert_row(conn: psycopg.Connection[Any], t: Table, user: str, values: dict[str, Any]) -> Row:
    cols = ["user_id", *values]
    q = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(t.name),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
    )
    row = conn.execute(q, [user, *(_json(v) for v in values.values())]).fetchone()
    assert row is not None
    return row


def update_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any, values: dict[str, Any]) -> Row | None:
    if not values:
        return get_row(conn, t, user, ident)
    sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
    extra = sql.SQL(", updated_at = now()") if t.name != "tag_scene" else sql.SQL("")
    q = sql.SQL("UPDATE {} SET {}{} WHERE {} = %s AND user_id = %s RETURNING *").format(
        sql.Identifier(t.name), sets, extra, sql.Identifier(t.id_col)
    )
    return conn.execute(q, [*(_json(v) for v in values.values()), ident, user]).fetchone()


def delete_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any) -> bool:
    q = sql.SQL("DELETE FROM {} WHERE {} = %s AND user_id = %s").format(sql.Identifier(t.name), sql.Identifier(t.id_col))
    return conn.execute(q, (ident, user)).rowcount == 1


def owned(conn: psycopg.Connection[Any], table: str, id_col: str, ident: Any, user: str) -> Row | None:
    q = sql.SQL("SELECT * FROM {} WHERE {} = %s AND user_id = %s").format(sql.Identifier(table), sql.Identifier(id_col))
    return conn.execute(q, (ident, user)).fetchone()


# -- children: time ranges, rule entries, tag groups and tags --------------------------------
def _children(conn: psycopg.Connection[Any], table: str, fk: str, cols: Sequence[str], order: str,
              parents: Sequence[Any]) -> dict[Any, list[Row]]:
    q = sql.SQL("SELECT {}, {} FROM {} WHERE {} = ANY(%s) ORDER BY {}").format(
        sql.Identifier(fk), sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(table),
        sql.Identifier(fk), sql.Identifier(order),
    )
    out: dict[Any, list[Row]] = {}
    for r in conn.execute(q, (list(parents),)).fetchall():
        out.setdefault(r.pop(fk), []).append(r)
    return out


def _replace_children(conn: psycopg.Connection[Any], table: str, fk: str, cols: Sequence[str], parent: Any,
                      items: Sequence[Row]) -> None:
    conn.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(fk)), (parent,))
    q = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, [fk, *cols])),
        sql.SQL(", ").join(sql.Placeholder() * (len(cols) + 1)),
    )
    for item in items:
        conn.execute(q, [parent, *(item[c] for c in cols)])


RANGE_COLS = ("weekdays", "start_time", "end_time")
ENTRY_COLS = ("status", "interval_min", "times")


def ranges(conn: psycopg.Connection[Any], group_ids: Sequence[Any]) -> dict[Any, list[Row]]:
    return _children(conn, "disable_dial_timerange", "group_id", RANGE_COLS, "id", group_ids)


def set_ranges(conn: psycopg.Connection[Any], group_id: Any, items: Sequence[Row]) -> None:
    _replace_children(conn, "disable_dial_timerange", "group_id", RANGE_COLS, group_id, items)


def entries(conn: psycopg.Connection[Any], rule_ids: Sequence[Any]) -> dict[Any, list[Row]]:
    return _children(conn, "auto_recycle_rule_entry", "rule_id", ENTRY_COLS, "status", rule_ids)


def set_entries(conn: psycopg.Connection[Any], rule_id: Any, items: Sequence[Row]) -> None:
    _replace_children(conn, "auto_recycle_rule_entry", "rule_id", ENTRY_COLS, rule_id, items)


def upsert(conn: psycopg.Connection[Any], table: str, key: str, row: dict[str, Any]) -> None:
    """Insert or update by ``key`` (`eslbridge apply`)."""
    cols = list(row)
    q = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)), sql.Identifier(key),
        sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in cols if c != key),
    )
    conn.execute(q, [_json(v) if isinstance(v, dict) else v for v in row.values()])


def tag_groups(conn: psycopg.Connection[Any], user: str, page: int, size: int) -> tuple[list[Row], int]:
    rows = conn.execute(
        """SELECT g.*, count(*) OVER () AS _total FROM tag_group g JOIN tag_scene s ON s.id = g.scene_id
           WHERE s.user_id = %s ORDER BY g.id LIMIT %s OFFSET %s""",
        (user, size, (page - 1) * size),
    ).fetchall()
    return _paged(rows)


def tag_group(conn: psycopg.Connection[Any], user: str, ident: int) -> Row | None:
    return conn.execute(
        "SELECT g.* FROM tag_group g JOIN tag_scene s ON s.id = g.scene_id WHERE g.id = %s AND s.user_id = %s",
        (ident, user),
    ).fetchone()


def tags(conn: psycopg.Connection[Any], user: str, page: int, size: int) -> tuple[list[Row], int]:
    rows = conn.execute(
        """SELECT t.*, count(*) OVER () AS _total FROM tag t JOIN tag_group g ON g.id = t.group_id
           JOIN tag_scene s ON s.id = g.scene_id WHERE s.user_id = %s ORDER BY t.id LIMIT %s OFFSET %s""",
        (user, size, (page - 1) * size),
    ).fetchall()
    return _paged(rows)


def tag_row(conn: psycopg.Connection[Any], user: str, ident: int) -> Row | None:
    return conn.execute(
        """SELECT t.* FROM tag t JOIN tag_group g ON g.id = t.group_id JOIN tag_scene s ON s.id = g.scene_id
           WHERE t.id = %s AND s.user_id = %s""",
        (ident, user),
    ).fetchone()


def task_tags(conn: psycopg.Connection[Any], user: str, task_id: Any) -> Row | None:
    task = conn.execute("SELECT destination_extension FROM task WHERE uuid = %s AND user_id = %s", (task_id, user)).fetchone()
    if task is None:
        return None
    ext = task["destination_extension"]
    scene = None
    if ext.isdigit():
        scene = conn.execute(
            """SELECT s.id, s.name, s.description FROM outbound_group g JOIN tag_scene s ON s.id = g.tag_scene_id
               WHERE g.id = %s AND g.user_id = %s""",
            (int(ext), user),
        ).fetchone()
    if scene is None:
        return {"tag_scene": None, "tag_groups": [], "tags": []}
    groups = conn.execute("SELECT id, name FROM tag_group WHERE scene_id = %s ORDER BY id", (scene["id"],)).fetchall()
    tag_rows = conn.execute(
        "SELECT t.id, t.name, t.description FROM tag t JOIN tag_group g ON g.id = t.group_id WHERE g.scene_id = %s ORDER BY t.id",
        (scene["id"],),
    ).fetchall()
    return {"tag_scene": scene, "tag_groups": groups, "tags": tag_rows}


# -- lines: residue -----------------------------------------------------------------------
LINES_WITH_RESIDUE = """
SELECT l.*, coalesce(u.used, 0) AS call_line_used, l.call_line - coalesce(u.used, 0) AS residue
FROM caller_line l
LEFT JOIN (SELECT line_id, count(*) AS used FROM call_attempt WHERE ended_at IS NULL GROUP BY line_id) u
       ON u.line_id = l.id
WHERE l.user_id = %s
"""


def lines_with_residue(conn: psycopg.Connection[Any], user: str, line_id: Any = None) -> list[Row]:
    if line_id is None:
        return conn.execute(LINES_WITH_RESIDUE + " ORDER BY l.created_at", (user,)).fetchall()
    return conn.execute(LINES_WITH_RESIDUE + " AND l.id = %s", (user, line_id)).fetchall()


def creation_options(conn: psycopg.Connection[Any], user: str) -> dict[str, list[Row]]:
    """What `GET /v1/task/create` offers: lines with residue, time groups, rules, usable agent queues, script groups."""
    return {
        "lines": lines_with_residue(conn, user),
        "time_groups": conn.execute(
            "SELECT id, name FROM disable_dial_timegroup WHERE user_id = %s ORDER BY created_at", (user,)
        ).fetchall(),
        "rules": conn.execute("SELECT id, name, remark, status FROM auto_recycle_rule WHERE user_id = %s ORDER BY id", (user,)).fetchall(),
        "customer_service": conn.execute(
            "SELECT * FROM customer_service WHERE user_id = %s AND status = 1 AND caller_line_id IS NOT NULL ORDER BY id", (user,)
        ).fetchall(),
        "outbound_groups": conn.execute("SELECT * FROM outbound_group WHERE user_id = %s ORDER BY id", (user,)).fetchall(),
    }


def live_calls(conn: psycopg.Connection[Any], task_id: Any) -> int:
    row = conn.execute("SELECT count(*) AS n FROM call_attempt WHERE task_id = %s AND ended_at IS NULL", (task_id,)).fetchone()
    return int(row["n"]) if row else 0


# -- tasks ----------------------------------------------------------------------------------
def task_rows(conn: psycopg.Connection[Any], user: str, task_ids: Sequence[Any] | None = None, *, name: str | None = None,
              start: int | None = None, page: int = 1, size: int = 20) -> tuple[list[Row], int]:
    """Tasks with what the seed nests: line (with residue), rule, time group, script group, progress."""
    rows = conn.execute(
        """SELECT t.*, count(*) OVER () AS _total FROM task t
           WHERE t.user_id = %(user)s
             AND (%(ids)s::uuid[] IS NULL OR t.uuid = ANY(%(ids)s::uuid[]))
             AND (%(name)s::text IS NULL OR strpos(t.name, %(name)s) > 0)
             AND (%(start)s::smallint IS NULL OR t.start = %(start)s)
           ORDER BY t.created_at DESC, t.uuid LIMIT %(size)s OFFSET %(off)s""",
        {"user": user, "ids": list(task_ids) if task_ids is not None else None, "name": name, "start": start,
         "size": size, "off": (page - 1) * size},
    ).fetchall()
    rows, total = _paged(rows)
    if not rows:
        return [], total
    ids = [r["uuid"] for r in rows]
    progress = {
        r["task_id"]: r
        for r in conn.execute(
            """SELECT task_id, count(*) AS total, count(*) FILTER (WHERE attempts > 0) AS progress
               FROM task_number WHERE task_id = ANY(%s) GROUP BY task_id""",
            (ids,),
        ).fetchall()
    }
    lines = {r["id"]: r for r in conn.execute(LINES_WITH_RESIDUE + " AND l.id = ANY(%s)", (user, [r["caller_line_id"] for r in rows])).fetchall()}
    rule_ids = [r["auto_recycle_rule_id"] for r in rows if r["auto_recycle_rule_id"]]
    rules = {r["id"]: r for r in conn.execute("SELECT * FROM auto_recycle_rule WHERE id = ANY(%s)", (rule_ids,)).fetchall()}
    group_ids = [r["disable_dial_timegroup"] for r in rows if r["disable_dial_timegroup"]]
    tgroups = {r["id"]: r for r in conn.execute("SELECT * FROM disable_dial_timegroup WHERE id = ANY(%s)", (group_ids,)).fetchall()}
    ext_ids = [int(r["destination_extension"]) for r in rows if r["destination_extension"].isdigit()]
    ogroups = {r["id"]: r for r in conn.execute("SELECT * FROM outbound_group WHERE id = ANY(%s) AND user_id = %s", (ext_ids, user)).fetchall()}
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
    cols = ["user_id", *values]
    q = sql.SQL("INSERT INTO task ({}) VALUES ({}) RETURNING uuid").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.SQL(", ").join(sql.Placeholder() * len(cols))
    )
    row = conn.execute(q, [user, *values.values()]).fetchone()
    assert row is not None
    return row["uuid"]


def update_task(conn: psycopg.Connection[Any], user: str, task_id: Any, values: dict[str, Any]) -> bool:
    if not values:
        return conn.execute("SELECT 1 FROM task WHERE uuid = %s AND user_id = %s", (task_id, user)).fetchone() is not None
    sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
    q = sql.SQL("UPDATE task SET {}, updated_at = now() WHERE uuid = %s AND user_id = %s").format(sets)
    return conn.execute(q, [*(_json(v) for v in values.values()), task_id, user]).rowcount == 1


def _json(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, dict | list) else v


def task_by_seq(conn: psycopg.Connection[Any], user: str, seq: int) -> Row | None:
    return conn.execute("SELECT * FROM task WHERE seq = %s AND user_id = %s FOR UPDATE", (seq, user)).fetchone()


def numbers_page(conn: psycopg.Connection[Any], task_id: Any, status: int | None, page: int, size: int) -> tuple[list[Row], int]:
    rows = conn.execute(
        """SELECT id, phone, status, attempts, last_cause, next_attempt_at, imported_at, count(*) OVER () AS _total
           FROM task_number WHERE task_id = %s AND (%s::smallint IS NULL OR status = %s)
           ORDER BY id LIMIT %s OFFSET %s""",
        (task_id, status, status, size, (page - 1) * size),
    ).fetchall()
    return _paged(rows)


def task_owned(conn: psycopg.Connection[Any], user: str, task_id: Any, lock: bool = False) -> Row | None:
    suffix = " FOR UPDATE" if lock else ""
    return conn.execute("SELECT * FROM task WHERE uuid = %s AND user_id = %s" + suffix, (task_id, user)).fetchone()
