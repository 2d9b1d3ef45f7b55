"""The API's tenant resources, their children and tags; `eslbridge apply`'s upserts.

SQL in ``sql/resources.sql``. Table and column names come from the API's
resource specs and request models (never from request text) and are quoted
as identifiers; every value is a parameter. Every statement but the
``*_by_id`` ones, whose callers checked ownership through the parent, is
scoped to the caller's tenant (``user_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.sql import Identifier

from .rows import Row, assignments, excluded_assignments, json_value, names, paged, placeholders
from .statements import SQL, template


@dataclass(frozen=True)
class Table:
    name: str
    id_col: str = "id"
    order: str = "id"


# Tables without an updated_at column.
UNSTAMPED = frozenset({"tag_scene"})


def list_rows(conn: psycopg.Connection[Any], t: Table, user: str, page: int, size: int) -> tuple[list[Row], int]:
    q = template("list_rows").format(table=Identifier(t.name), order=Identifier(t.order))
    return paged(conn.execute(q, (user, size, (page - 1) * size)).fetchall())


def get_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any) -> Row | None:
    return owned(conn, t.name, t.id_col, ident, user)


def owned(conn: psycopg.Connection[Any], table: str, id_col: str, ident: Any, user: str) -> Row | None:
    q = template("owned_row").format(table=Identifier(table), id=Identifier(id_col))
    return conn.execute(q, (ident, user)).fetchone()


def insert_row(conn: psycopg.Connection[Any], t: Table, user: str, values: dict[str, Any]) -> Row:
    """A row of the tenant's (dicts and lists as JSON); returns it."""
    cols = ["user_id", *values]
    return _insert(conn, t.name, cols, [user, *(json_value(v) for v in values.values())])


def insert_child_row(conn: psycopg.Connection[Any], table: str, values: dict[str, Any]) -> Row:
    """A row owned through its parent (tag groups, tags), values bound as given; returns it."""
    return _insert(conn, table, list(values), list(values.values()))


def _insert(conn: psycopg.Connection[Any], table: str, cols: list[str], params: list[Any]) -> Row:
    q = template("insert_row").format(table=Identifier(table), columns=names(cols), values=placeholders(len(cols)))
    row: Row | None = conn.execute(q, params).fetchone()
    assert row is not None
    return row


def update_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any, values: dict[str, Any]) -> Row | None:
    """Set columns of the tenant's row (dicts and lists as JSON); None if it has no such row."""
    if not values:
        return get_row(conn, t, user, ident)
    q = template("update_row_unstamped" if t.name in UNSTAMPED else "update_row").format(
        table=Identifier(t.name), assignments=assignments(values), id=Identifier(t.id_col)
    )
    return conn.execute(q, [*(json_value(v) for v in values.values()), ident, user]).fetchone()


def update_by_id(conn: psycopg.Connection[Any], table: str, ident: Any, values: dict[str, Any]) -> None:
    """Set columns of a row owned through its parent (the caller checked it), values bound as given."""
    if not values:
        return
    q = template("update_by_id").format(table=Identifier(table), assignments=assignments(values))
    conn.execute(q, [*values.values(), ident])


def delete_row(conn: psycopg.Connection[Any], t: Table, user: str, ident: Any) -> bool:
    q = template("delete_row").format(table=Identifier(t.name), id=Identifier(t.id_col))
    return conn.execute(q, (ident, user)).rowcount == 1


def delete_by_id(conn: psycopg.Connection[Any], table: str, ident: Any) -> None:
    """Delete a row owned through its parent (the caller checked it)."""
    conn.execute(template("delete_by_id").format(table=Identifier(table)), (ident,))


def task_reference_problem(conn: psycopg.Connection[Any], user: str, *, disable_dial_timegroup: Any = None,
                           auto_recycle_rule_id: Any = None, customer_service_id: Any = None,
                           destination_extension: Any = None) -> str | None:
    """``field: reason`` if a task's reference is not the tenant's own (or not usable), else None.

    The API and ``eslbridge apply`` refuse the same references with the same words. An
    integer ``destination_extension`` names one of the tenant's outbound (script) groups.
    """
    if disable_dial_timegroup and not owned(conn, "disable_dial_timegroup", "id", disable_dial_timegroup, user):
        return "disable_dial_timegroup: no such time group"
    if auto_recycle_rule_id and not owned(conn, "auto_recycle_rule", "id", auto_recycle_rule_id, user):
        return "auto_recycle_rule_id: no such recycle rule"
    if customer_service_id:
        cs = owned(conn, "customer_service", "id", customer_service_id, user)
        if cs is None or cs["status"] != 1 or cs["caller_line_id"] is None:
            return "customer_service_id: no usable customer service group (status 1 with a line)"
    if isinstance(destination_extension, int) and not owned(conn, "outbound_group", "id", destination_extension, user):
        return "destination_extension: no such outbound group"
    return None


# -- children: time ranges, rule entries --------------------------------------------------------
def _children(conn: psycopg.Connection[Any], table: str, fk: str, cols: Sequence[str], order: str,
              parents: Sequence[Any]) -> dict[Any, list[Row]]:
    q = template("child_rows").format(
        parent=Identifier(fk), columns=names(cols), table=Identifier(table), order=Identifier(order)
    )
    out: dict[Any, list[Row]] = {}
    for r in conn.execute(q, (list(parents),)).fetchall():
        out.setdefault(r.pop(fk), []).append(r)
    return out


def _replace_children(conn: psycopg.Connection[Any], table: str, fk: str, cols: Sequence[str], parent: Any,
                      items: Sequence[Row]) -> None:
    conn.execute(template("delete_children").format(table=Identifier(table), parent=Identifier(fk)), (parent,))
    q = template("insert_child").format(
        table=Identifier(table), columns=names([fk, *cols]), values=placeholders(len(cols) + 1)
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
    """Insert or update by ``key`` (`eslbridge apply`); dicts as JSON."""
    cols = list(row)
    q = template("upsert").format(
        table=Identifier(table), columns=names(cols), values=placeholders(len(cols)), key=Identifier(key),
        assignments=excluded_assignments(c for c in cols if c != key),
    )
    conn.execute(q, [json_value(v) if isinstance(v, dict) else v for v in row.values()])


# -- tags: owned through their scene ------------------------------------------------------------
def tag_groups(conn: psycopg.Connection[Any], user: str, page: int, size: int) -> tuple[list[Row], int]:
    return paged(conn.execute(SQL["tag_groups"], (user, size, (page - 1) * size)).fetchall())


def tag_group(conn: psycopg.Connection[Any], user: str, ident: int) -> Row | None:
    return conn.execute(SQL["tag_group"], (ident, user)).fetchone()


def tags(conn: psycopg.Connection[Any], user: str, page: int, size: int) -> tuple[list[Row], int]:
    return paged(conn.execute(SQL["tags"], (user, size, (page - 1) * size)).fetchall())


def tag_row(conn: psycopg.Connection[Any], user: str, ident: int) -> Row | None:
    return conn.execute(SQL["tag_row"], (ident, user)).fetchone()


def task_tags(conn: psycopg.Connection[Any], user: str, task_id: Any) -> Row | None:
    """The tag scene, groups and tags of a task's outbound group; None if the tenant has no such task."""
    task = conn.execute(SQL["task_destination"], (task_id, user)).fetchone()
    if task is None:
        return None
    ext = task["destination_extension"]
    scene = None
    if ext.isdigit():
        scene = conn.execute(SQL["group_tag_scene"], (int(ext), user)).fetchone()
    if scene is None:
        return {"tag_scene": None, "tag_groups": [], "tags": []}
    groups = conn.execute(SQL["scene_tag_groups"], (scene["id"],)).fetchall()
    tag_rows = conn.execute(SQL["scene_tags"], (scene["id"],)).fetchall()
    return {"tag_scene": scene, "tag_groups": groups, "tags": tag_rows}
