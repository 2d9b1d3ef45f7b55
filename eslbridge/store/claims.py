"""The dialer's statements: running tasks, line locks, number claims, attempts, engine leases.

SQL in ``sql/claims.sql``.
"""

from __future__ import annotations

import random as _random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg.rows import tuple_row

from ..frozen import quick_init
from ..rows import ContactCaps
from ..zones import country
from .rows import fetch_as
from .statements import SQL


def _pairs(conn: psycopg.Connection[Any], query: str, params: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(id, phone) of the numbers a pick statement returns: tuples, not a dict a row."""
    return conn.cursor(row_factory=tuple_row).execute(query, params).fetchall()


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


@quick_init
@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed number (``take_numbers``). ``waits``: over a contact cap, not dialled now (its
    next attempt moved); ``dnc_list_id`` set: on that do-not-call list, never dialled."""

    id: int
    phone: str
    attempts: int
    tz: str
    dnc_list_id: int | None
    waits: bool


def claim_numbers(conn: psycopg.Connection[Any], task_id: Any, n: int, random_order: bool, user_id: str | None = None,
                  zones: Sequence[str] | None = None, caps: ContactCaps | None = None,
                  pending_zones: Sequence[str] | None = None, region: str = "CN") -> list[Claimed]:
    """Claim up to ``n`` numbers: due retries first, then pending in import (or random) order.

    ``zones``: only numbers of these zone keys (None: any). Pending numbers are
    walked zone by zone in the pending index: those of ``pending_zones`` (the
    task's zones as the dialer last read them; None: read them now), or of
    ``zones`` when given. Every claimed number is checked against the
    do-not-call lists of ``user_id`` and the global ones (by its +E.164 form,
    numbers without a ``+`` read as of ``region``), and against the tenant's
    contact ``caps``, in the statement that claims it (``take_numbers``). Rows
    come back in the order they were picked.
    """
    if n <= 0:
        return []
    zone_list = None if zones is None else list(zones)
    if zone_list == []:
        return []
    picked = _pairs(conn, SQL["pick_due_retries"], {"task": task_id, "zones": zone_list, "n": n})
    left = n - len(picked)
    if left > 0:
        walk = zone_list if zone_list is not None else \
            list(pending_zones) if pending_zones is not None else task_zones(conn, [task_id]).get(str(task_id), [])
        if walk:
            # Import order walks the pending index from the start (the id bound keeps it a range scan).
            picked += _pick_pending_random(conn, task_id, left, walk) if random_order else \
                _pick_pending_from(conn, task_id, 0, left, walk)
    if not picked:
        return []
    caps = caps or ContactCaps(rest_h=None)
    # How many hours of the tenant's attempts the caps read (0: none, and none are read).
    window = max(24 if caps.per_day else 0, 168 if caps.per_week else 0, caps.rest_h or 0)
    cc, trunk = country(region)
    ids = [i for i, _ in picked]
    # Rows built from positional values (the RETURNING list is Claimed's fields, in order).
    rows = fetch_as(conn, Claimed, SQL["take_numbers"], {
        "ids": ids, "phones": [p for _, p in picked], "user": user_id, "cc": cc, "trunk": trunk,
        "capped": window > 0, "counted": bool(caps.per_day or caps.per_week), "window_h": window,
        "per_day": caps.per_day, "per_week": caps.per_week, "rest_h": caps.rest_h,
    })
    order = {i: k for k, i in enumerate(ids)}
    rows.sort(key=lambda r: order[r.id])
    return rows


def _pick_pending_from(conn: psycopg.Connection[Any], task_id: Any, first_id: int, n: int,
                       zones: list[str]) -> list[tuple[int, str]]:
    """Pending numbers of ``zones`` from ``first_id`` on, in id (import) order: a walk of each
    zone's part of the pending index (one zone: the walk itself)."""
    if len(zones) == 1:
        return _pairs(conn, SQL["pick_pending_in_zone"], {"task": task_id, "zone": zones[0], "from": first_id, "n": n})
    return _pairs(conn, SQL["pick_pending_in_zones"], {"task": task_id, "zones": zones, "from": first_id, "n": n})


def _pick_pending_random(conn: psycopg.Connection[Any], task_id: Any, n: int,
                         zones: list[str]) -> list[tuple[int, str]]:
    """Random order: a few numbers at a time from random points of the pending ids.

    Sorting every pending number by a shuffle key on each claim costs ~0.5 s
    for a task of a million; a random point of the pending index is found in
    microseconds. The order is random in slices of RANDOM_SLICE consecutive ids.
    """
    bounds = conn.execute(SQL["pending_id_bounds"], {"task": task_id, "zones": zones}).fetchone()
    if bounds is None or bounds["lo"] is None:
        return []
    picked: list[tuple[int, str]] = []
    misses = 0
    while len(picked) < n and misses < 3:  # a point past the last free number finds nothing
        got = _pick_pending_from(conn, task_id, _random.randint(bounds["lo"], bounds["hi"]),
                                 min(RANDOM_SLICE, n - len(picked)), zones)
        picked += got
        misses = 0 if got else misses + 1
    if len(picked) < n:
        picked += _pick_pending_from(conn, task_id, bounds["lo"], n - len(picked), zones)
    return picked


def task_zones(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> dict[str, list[str]]:
    """Per task (by uuid text): the zone keys of its pending numbers and of its numbers due again
    (one index probe per task and zone; a task with neither is absent)."""
    out: dict[str, list[str]] = {}
    for r in conn.execute(SQL["task_zones"], {"tasks": list(task_ids)}).fetchall():
        out.setdefault(str(r["task_id"]), []).append(r["tz"])
    for zones in out.values():
        zones.sort()
    return out


def insert_attempts(conn: psycopg.Connection[Any], batch: AttemptBatch, rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (number_id, attempt_no, call_uuid, phone, caller_id_shown, dnc_list_id, callee zone, callee
    local time), one statement for all, with what the whole batch shares.

    The rows travel as one JSON document (orjson): adapting arrays element by
    element cost more than the insert. Raises TypeError for a value orjson
    cannot write (ids are ints, UUIDs or strings).
    """
    if not rows:
        return
    conn.execute(SQL["insert_attempts"], {
        "task": batch.task_id, "line": batch.line_id, "node": batch.node, "engine": batch.engine,
        "user": batch.user_id, "rows": orjson.dumps(rows).decode(),
    })


@dataclass(frozen=True, slots=True)
class AttemptBatch:
    """What every attempt of one claim shares."""

    task_id: Any
    line_id: Any
    node: str
    engine: str
    user_id: str


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
