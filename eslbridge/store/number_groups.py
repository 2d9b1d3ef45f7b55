"""Caller-id number groups: their numbers and the day's counters (SQL in ``sql/number_groups.sql``).

The group rows themselves go through the API's generic resource statements
(``store.resources``); this module holds what is particular to groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from .rows import Row
from .statements import SQL


def group_numbers(conn: psycopg.Connection[Any], group_ids: Sequence[int]) -> dict[int, list[Row]]:
    """The numbers of each group (caller id order) with ``used_today`` and the group's ``day``."""
    out: dict[int, list[Row]] = {}
    for r in conn.execute(SQL["group_numbers"], (list(group_ids),)).fetchall():
        out.setdefault(int(r.pop("group_id")), []).append(r)
    return out


def replace_group_numbers(conn: psycopg.Connection[Any], group_id: int, items: Sequence[Mapping[str, Any]]) -> None:
    """The group's numbers become ``items`` (``caller_id``, ``daily_cap``); the day's counts stay."""
    # Two statements: an insert beside the delete in one statement would meet the rows it deletes.
    conn.execute(SQL["delete_group_numbers"], (group_id,))
    conn.execute(SQL["insert_group_numbers"], {"group": group_id, "caller_ids": [i["caller_id"] for i in items],
                                                "caps": [i.get("daily_cap") for i in items]})


def ids_past(conn: psycopg.Connection[Any]) -> None:
    """Groups created later get ids past those a file chose (``eslbridge apply``)."""
    conn.execute(SQL["number_group_ids_past"])


def use_caller_ids(conn: psycopg.Connection[Any], group_id: int, uses: Mapping[str, int]) -> list[Row]:
    """Add a claim's picks (caller id → calls) to today's counters; refused past a cap.

    Returns one row per caller id: ``took``, ``calls`` (as the statement saw
    them), ``day`` (None: the number left the group) and ``cap``.
    """
    if not uses:
        return []
    return conn.execute(SQL["use_caller_ids"], {"group": group_id, "caller_ids": list(uses),
                                                "counts": list(uses.values())}).fetchall()
