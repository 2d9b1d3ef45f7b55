"""Adding numbers to a task: COPY first, INSERT … ON CONFLICT when some are already there.

SQL in ``sql/imports.sql``. The API and `eslbridge apply` call
``import_numbers``; files go through ``importer.BulkImport``, which reserves
ids and calls ``insert_numbers`` on several connections.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from ..zones import Zones
from .statements import SQL

ANALYZE_AFTER = 10_000  # numbers added at once


def import_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: Iterable[str], region: str = "CN") -> int:
    """Add new phones to a task in order, skipping ones it already has; returns how many were added.

    Each number gets its time zone from the number itself (``region``: the
    default region of numbers without a ``+``). For one transaction of at most
    a few hundred thousand numbers (API, apply); files go through
    ``importer.BulkImport``, which writes on several connections.
    """
    fresh = list(dict.fromkeys(phones))
    if not fresh:
        return 0
    added, _ = insert_numbers(conn, task_id, fresh, zones=Zones(region))
    if added >= ANALYZE_AFTER:
        analyze_numbers(conn)
    return added


def insert_numbers(conn: psycopg.Connection[Any], task_id: Any, fresh: list[str], ids: Sequence[int] | None = None,
                   expect_known: bool = False, zones: Zones | None = None) -> tuple[int, bool]:
    """Add distinct phones to a task, skipping ones it has; returns (added, some were known).

    COPY is ~2x faster than INSERT … ON CONFLICT, so it goes first unless
    ``expect_known`` (an earlier batch met known numbers); a duplicate makes it
    fail, and the batch is added the careful way. ``zones`` gives each number
    its zone key (default: the zones of Chinese numbers).
    """
    prepare_number_import(conn)
    zones = zones or Zones()
    if not expect_known:
        try:
            with conn.transaction():
                copy_numbers(conn, task_id, fresh, ids, zones)
            return len(fresh), False
        except psycopg.errors.UniqueViolation:
            pass
    return add_new_numbers(conn, task_id, fresh, ids, zones), True


def analyze_numbers(conn: psycopg.Connection[Any]) -> None:
    """Fresh planner statistics after a big import.

    Until autovacuum gets to it, the planner believes a task that just got a
    million numbers has a dozen, and claims them with a bitmap scan and an
    on-disk sort of all of them (~250 ms) instead of reading the pending
    index in order (~0.2 ms). ANALYZE samples 30,000 rows whatever the size.
    """
    conn.execute(SQL["analyze_numbers"])


def prepare_number_import(conn: psycopg.Connection[Any]) -> None:
    """Room for the per-statement task check, which holds the inserted rows in memory."""
    conn.execute(SQL["prepare_number_import"])


def reserve_number_ids(conn: psycopg.Connection[Any], count: int) -> Sequence[int]:
    """``count`` ascending ids from task_number's sequence (claims dial in id order).

    Usually a contiguous range, returned as a ``range`` so that a million ids
    are not sent back one by one; the list when another writer interleaved.
    """
    row = conn.cursor(row_factory=tuple_row).execute(SQL["reserve_number_ids"], (count,)).fetchone()
    assert row is not None
    low, high, _count, ids = row
    return range(low, high + 1) if ids is None else sorted(ids)


def copy_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: list[str], ids: Sequence[int] | None,
                 zones: Zones) -> None:
    """COPY phones the task does not have yet, each with its zone key (a duplicate raises UniqueViolation)."""
    tid = str(task_id)
    with conn.cursor() as cur:
        if ids is None:
            with cur.copy(SQL["copy_numbers"]) as copy:
                copy.write("".join([f"{tid}\t{p}\t{zones(p)}\n" for p in phones]))
        else:
            with cur.copy(SQL["copy_numbers_with_ids"]) as copy:
                copy.write("".join([f"{i}\t{tid}\t{p}\t{zones(p)}\n" for i, p in zip(ids, phones)]))


def add_new_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: list[str], ids: Sequence[int] | None,
                    zones: Zones) -> int:
    """Add the phones a task does not have yet, in order; returns how many were added."""
    known = {r[0] for r in conn.cursor(row_factory=tuple_row).execute(SQL["known_phones"], (task_id, phones))}
    pairs = [(i, p) for i, p in zip(ids or range(len(phones)), phones) if p not in known]
    if not pairs:
        return 0
    fresh = [p for _, p in pairs]
    new_ids = [i for i, _ in pairs] if ids is not None else None
    try:
        with conn.transaction():
            copy_numbers(conn, task_id, fresh, new_ids, zones)
        return len(fresh)
    except psycopg.errors.UniqueViolation:  # a concurrent import added some of them meanwhile
        bound_ids: list[int | None] = list(new_ids) if new_ids else [None] * len(fresh)
        cur = conn.execute(SQL["insert_new_numbers"], (task_id, bound_ids, fresh, [zones(p) for p in fresh]))
        return cur.rowcount
