"""Helpers shared by the store modules: row type, batch columns, pages, composed lists."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import args_row

Row = dict[str, Any]
T = TypeVar("T")


def fetch_as(conn: psycopg.Connection[Any], cls: type[T], query: str, params: Any, *, binary: bool = False,
             prepare: Callable[[psycopg.Cursor[Any]], None] | None = None) -> list[T]:
    """The rows of ``query`` as ``cls`` (a dataclass), built from their positional values: no
    dict per row. Raises TypeError if the statement's columns are not ``cls``'s fields in order
    (a value would land in the wrong field). ``prepare`` sets up the cursor (its loaders)."""
    cur = conn.cursor(row_factory=args_row(cls), binary=binary)
    if prepare is not None:
        prepare(cur)
    rows = cur.execute(query, params).fetchall()  # in a pipeline, description comes with the rows
    names = [c.name for c in cur.description or ()]
    if names != [f.name for f in dataclasses.fields(cls)]:  # type: ignore[arg-type]
        raise TypeError(f"columns {names} are not {cls.__name__}'s fields")
    return rows


def columns(rows: Sequence[dict[str, Any]], *keys: str) -> list[list[Any]]:
    """Rows turned into one list per key: the arrays of an ``unnest(...)`` batch statement."""
    return [[r[k] for r in rows] for k in keys]


def paged(rows: list[Row]) -> tuple[list[Row], int]:
    """Strip the ``count(*) OVER () AS _total`` column; returns (rows, total of all pages)."""
    total = int(rows[0]["_total"]) if rows else 0
    for r in rows:
        r.pop("_total", None)
    return rows, total


def json_value(v: Any) -> Any:
    """A dict or list bound as JSON text (a jsonb column), anything else as itself."""
    return json.dumps(v) if isinstance(v, dict | list) else v


# Glue for statements whose column lists come from request models or apply
# files: identifiers are quoted by psycopg, values are always parameters.
_COMMA = sql.SQL(", ")
_ASSIGN = sql.SQL("{} = %s")
_ASSIGN_EXCLUDED = sql.SQL("{} = EXCLUDED.{}")


def names(cols: Iterable[str]) -> sql.Composed:
    """``"a", "b"``: a column list."""
    return _COMMA.join(map(sql.Identifier, cols))


def placeholders(n: int) -> sql.Composed:
    """``%s, %s``: one parameter per column."""
    return _COMMA.join(sql.Placeholder() * n)


def assignments(cols: Iterable[str]) -> sql.Composed:
    """``"a" = %s, "b" = %s``: the SET list of an UPDATE."""
    return _COMMA.join(_ASSIGN.format(sql.Identifier(c)) for c in cols)


def excluded_assignments(cols: Iterable[str]) -> sql.Composed:
    """``"a" = EXCLUDED."a", …``: the SET list of an upsert."""
    return _COMMA.join(_ASSIGN_EXCLUDED.format(sql.Identifier(c), sql.Identifier(c)) for c in cols)
