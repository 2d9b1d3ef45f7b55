"""The CDR reader's and reconciliation's statements: stored CDRs, file cursors, switch identities.

SQL in ``sql/cdrs.sql``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg.rows import class_row

from ..rows import CdrRow
from .statements import SQL


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far one CDR file (known by its inode) has been read."""

    inode: int
    name: str
    head: bytes | None  # hash of its first line, once it had one
    read_to: int
    lines: int = 0
    bad_lines: int = 0


def try_lock(conn: psycopg.Connection[Any], node: str) -> bool:
    """Be the one reader of ``node``'s files until the transaction ends; False: another engine is."""
    row = conn.execute(SQL["cdr_try_lock"], (node,)).fetchone()
    return bool(row and row["locked"])


def cursors(conn: psycopg.Connection[Any], node: str) -> dict[int, Cursor]:
    rows = conn.execute(SQL["cdr_cursors"], (node,)).fetchall()
    return {int(r["inode"]): Cursor(int(r["inode"]), r["name"], r["head"], int(r["read_to"]), int(r["lines"]),
                                    int(r["bad_lines"])) for r in rows}


def save_cursor(conn: psycopg.Connection[Any], node: str, c: Cursor) -> None:
    conn.execute(SQL["save_cdr_cursor"], (node, c.inode, c.name, c.head, c.read_to, c.lines, c.bad_lines))


def forget_files(conn: psycopg.Connection[Any], node: str, present: Iterable[int]) -> None:
    """Drop the cursors of files no longer in the directory."""
    conn.execute(SQL["forget_cdr_files"], (node, list(present)))


def insert(conn: psycopg.Connection[Any], rows: Sequence[CdrRow]) -> list[str]:
    """Store CDRs; one whose channel uuid is already stored is skipped. Returns the new ones' uuids."""
    if not rows:
        return []
    data = orjson.dumps(rows).decode()  # orjson writes dataclasses and datetimes natively
    return [r["u"] for r in conn.execute(SQL["insert_cdrs"], (data,)).fetchall()]


def of_calls(conn: psycopg.Connection[Any], call_uuids: Iterable[str]) -> dict[str, CdrRow]:
    """The stored CDRs of these calls, by call uuid (strings that are not uuids are skipped)."""
    ids = []
    for u in call_uuids:
        try:
            ids.append(uuid.UUID(u))
        except ValueError:
            continue
    if not ids:
        return {}
    cur = conn.cursor(row_factory=class_row(CdrRow))
    return {r.call_uuid: r for r in cur.execute(SQL["cdrs_of_calls"], (ids,)).fetchall()}


def prune(conn: psycopg.Connection[Any], days: float) -> None:
    conn.execute(SQL["prune_cdrs"], (days,))


def note_switch(conn: psycopg.Connection[Any], node: str, core_uuid: str) -> tuple[bool, str | None]:
    """Record that ``node`` is the switch ``core_uuid``: (changed, previous Core-UUID).

    (False, None): it already was. (True, None): the node was never seen
    before. (True, old): a new switch, which has none of the old one's calls.
    Concurrent engines see the change once: the row is locked.
    """
    row = conn.execute(SQL["note_core_uuid"], {"node": node, "core": core_uuid}).fetchone()
    if row is None:
        return False, None
    return True, row["previous"]


def open_before_switch(conn: psycopg.Connection[Any], node: str, uptime_s: float) -> list[str]:
    """Open attempts on ``node`` (any engine's) originated before its switch, up ``uptime_s``, started."""
    return [r["u"] for r in conn.execute(SQL["open_before_switch"], (node, uptime_s)).fetchall()]


def file_list(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every file cursor: node, inode, name, read_to, lines, bad_lines, updated_at."""
    return conn.execute(SQL["cdr_file_list"]).fetchall()
