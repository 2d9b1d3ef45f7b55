"""Helpers shared by the store modules: row type, batch columns, pages, composed lists."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import sql

Row = dict[str, Any]


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
