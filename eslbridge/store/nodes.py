"""Nodes as operators see them: drain (pause/resume), calls in flight and the engines' links.

SQL in ``sql/nodes.sql``. A pause lives in PostgreSQL so that every engine on
the database honours it; each engine reads the paused names with its task
list, about once a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from .claims import ENGINE_LIVE_S
from .rows import Row
from .statements import SQL


def pause(conn: psycopg.Connection[Any], node: str, by: str, reason: str = "") -> datetime:
    """Pause ``node``; returns since when it is paused (a second pause keeps the first time)."""
    row = conn.execute(SQL["pause_node"], (node, by, reason)).fetchone()
    assert row is not None
    paused_at: datetime = row["paused_at"]
    return paused_at


def resume(conn: psycopg.Connection[Any], node: str) -> bool:
    """Resume ``node``; False if it was not paused."""
    return conn.execute(SQL["resume_node"], (node,)).fetchone() is not None


def paused(conn: psycopg.Connection[Any]) -> frozenset[str]:
    return frozenset(r["name"] for r in conn.execute(SQL["paused_nodes"]))


def known(conn: psycopg.Connection[Any], node: str) -> bool:
    """Whether a line, an engine's link or an earlier pause names ``node``."""
    return conn.execute(SQL["known_node"], {"node": node}).fetchone() is not None


def listing(conn: psycopg.Connection[Any]) -> list[Row]:
    """Every known node: pause, calls in flight, live engines' links (``links``: a list of dicts)."""
    return conn.execute(SQL["node_list"], (ENGINE_LIVE_S,)).fetchall()
