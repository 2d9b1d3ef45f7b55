"""The dialer's statements: running tasks, line locks, number claims, attempts, engine leases.

SQL in ``sql/claims.sql``.
"""

from __future__ import annotations

import random as _random
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import psycopg

from .rows import Row
from .statements import SQL

RANDOM_SLICE = 8  # consecutive numbers claimed from one random point
ENGINE_LIVE_S = 15  # an engine whose heartbeat (every 5 s) is older is gone


def lock_line_and_count(conn: psycopg.Connection[Any], line_id: Any, task_id: Any, pause_s: int) -> tuple[int, int, int]:
    """Lock the line row (serialises claims on it across engines); return (call_line, line_busy, task_busy).

    A task stopped since the caller read it gets call_line 0: stopping takes
    effect at the next claim, not at the next task-list refresh.
    """
    # Both sent before either is read: in a pipeline they share one round trip (the
    # server runs them in order, so the counts are taken under the lock).
    locked = conn.execute(SQL["lock_line"], (line_id, task_id))
    counted = conn.execute(SQL["line_and_task_calls"], {"line": line_id, "task": task_id, "pause": pause_s})
    line, counts = locked.fetchone(), counted.fetchone()
    if line is None:
        return 0, 0, 0
    assert counts is not None
    return int(line["call_line"]), int(counts["line_busy"]), int(counts["task_busy"])


def claim_numbers(conn: psycopg.Connection[Any], task_id: Any, n: int, random_order: bool) -> list[Row]:
    """Claim up to ``n`` numbers: due retries first, then pending in import (or random) order."""
    rows: list[Row] = []
    if n <= 0:
        return rows
    rows += conn.execute(SQL["claim_due_retries"], (task_id, n)).fetchall()
    left = n - len(rows)
    if left > 0:
        # Import order walks the pending index from the start (the id bound keeps it a range scan).
        rows += _claim_pending_random(conn, task_id, left) if random_order else _claim_pending_from(conn, task_id, 0, left)
    return rows


def _claim_pending_from(conn: psycopg.Connection[Any], task_id: Any, first_id: int, n: int) -> list[Row]:
    """Pending numbers from ``first_id`` on, in id (import) order: a walk of the pending index."""
    return conn.execute(SQL["claim_pending_from"], (task_id, first_id, n)).fetchall()


def _claim_pending_random(conn: psycopg.Connection[Any], task_id: Any, n: int) -> list[Row]:
    """Random order: a few numbers at a time from random points of the pending ids.

    Sorting every pending number by a shuffle key on each claim costs ~0.5 s
    for a task of a million; a random point of the pending index is found in
    microseconds. The order is random in slices of RANDOM_SLICE consecutive ids.
    """
    bounds = conn.execute(SQL["pending_id_bounds"], (task_id,)).fetchone()
    if bounds is None or bounds["lo"] is None:
        return []
    rows: list[Row] = []
    misses = 0
    while len(rows) < n and misses < 3:  # a point past the last free number finds nothing
        got = _claim_pending_from(conn, task_id, _random.randint(bounds["lo"], bounds["hi"]), min(RANDOM_SLICE, n - len(rows)))
        rows += got
        misses = 0 if got else misses + 1
    if len(rows) < n:
        rows += _claim_pending_from(conn, task_id, bounds["lo"], n - len(rows))
    return rows


def insert_attempts(conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, caller_id_shown).
    One statement for all.

    The rows travel as one JSON document (orjson): adapting seven arrays
    element by element cost more than the insert. Raises TypeError for a
    value orjson cannot write (ids are ints, UUIDs or strings).
    """
    if not rows:
        return
    conn.execute(SQL["insert_attempts"], (orjson.dumps(rows).decode(),))


def release(conn: psycopg.Connection[Any], number_ids: Sequence[int]) -> None:
    """Claimed numbers that will not be dialled now (no caller id left): pending again."""
    if number_ids:
        conn.execute(SQL["release_numbers"], (list(number_ids),))


def unsend(conn: psycopg.Connection[Any], call_uuids: Sequence[str]) -> None:
    """An originate that never reached FreeSWITCH (or was throttled) is not an attempt."""
    conn.execute(SQL["unsend_attempts"], (list(call_uuids),))


def block(conn: psycopg.Connection[Any], call_uuids: Sequence[str], reason: str) -> None:
    """Refused before dialling (e.g. a phone that is not digits): final status 18, not an attempt."""
    conn.execute(SQL["block_attempts"], (list(call_uuids), reason))


def heartbeat(conn: psycopg.Connection[Any], engine: str) -> None:
    conn.execute(SQL["engine_heartbeat"], (engine,))


def live_engines(conn: psycopg.Connection[Any]) -> int:
    """How many engines are dialling now (at least 1: the caller)."""
    row = conn.execute(SQL["live_engines"], (ENGINE_LIVE_S,)).fetchone()
    return max(1, int(row["n"])) if row else 1


def retire_engine(conn: psycopg.Connection[Any], engine: str) -> None:
    """A clean stop: the other engines take over this one's share of each node at once."""
    conn.execute(SQL["retire_engine"], (engine,))


def node_states(conn: psycopg.Connection[Any], engine: str, states: Mapping[str, bool]) -> None:
    """Record which nodes this engine's links have up (the engine's row must exist: heartbeat first)."""
    if states:
        conn.execute(SQL["node_states"], {"engine": engine, "nodes": list(states), "ups": list(states.values())})
