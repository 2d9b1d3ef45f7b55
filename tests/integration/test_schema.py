"""A fresh migration has exactly the documented tables and columns."""

from __future__ import annotations

import re
from pathlib import Path

from eslbridge.store.db import migrate

DOC = Path(__file__).parents[2] / "docs" / "schema.md"
TYPES = {"bigint": "bigint", "integer": "integer", "smallint": "smallint", "text": "text", "uuid": "uuid",
         "timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone", "date": "date", "time": "time without time zone",
         "jsonb": "jsonb", "real": "real", "boolean": "boolean", "double precision": "double precision",
         "smallint[]": "ARRAY", "bytea": "bytea"}


def documented() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## ") and re.fullmatch(r"## [a-z_]+", line):
            current = line[3:]
            tables[current] = {}
        elif current and (m := re.match(r"\| `([a-z_0-9]+)` \| ([a-z \[\]]+) \|", line)):
            tables[current][m.group(1)] = TYPES[m.group(2).strip()]
    return tables


def test_migrations_match_docs(db):
    with db.connection() as conn:
        rows = conn.execute(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
               WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"""
        ).fetchall()
    actual: dict[str, dict[str, str]] = {}
    for r in rows:
        actual.setdefault(r["table_name"], {})[r["column_name"]] = r["data_type"]
    assert actual == documented()


def test_migrate_is_idempotent(db_url):
    assert migrate(db_url) == []
