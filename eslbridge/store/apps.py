"""Tenants, API apps and their keys, and the signatures the replay guard has seen.

SQL in ``sql/apps.sql``.
"""

from __future__ import annotations

from typing import Any

import psycopg

from .rows import Row
from .statements import SQL


def app(conn: psycopg.Connection[Any], app_id: str) -> Row | None:
    return conn.execute(SQL["app"], (app_id,)).fetchone()


def add_tenant(conn: psycopg.Connection[Any], user_id: str, name: str = "") -> None:
    """A tenant, unless it exists (then its name is left as it is)."""
    conn.execute(SQL["add_tenant"], (user_id, name))


def tenant_exists(conn: psycopg.Connection[Any], user_id: str) -> bool:
    return conn.execute(SQL["tenant_exists"], (user_id,)).fetchone() is not None


def create_app(conn: psycopg.Connection[Any], app_id: str, user_id: str, name: str, public_key: str | None) -> None:
    """An app of ``user_id`` (created if new); raises UniqueViolation if ``app_id`` is taken."""
    add_tenant(conn, user_id)
    conn.execute(SQL["create_app"], (app_id, user_id, name, public_key, public_key))


def set_key(conn: psycopg.Connection[Any], app_id: str, public_key: str) -> bool:
    cur = conn.execute(SQL["set_key"], (public_key, app_id))
    return cur.rowcount == 1


def record_signatures(conn: psycopg.Connection[Any], digests: list[bytes]) -> set[bytes]:
    """Record signature hashes; returns the ones not seen before (the others are replays).

    The table is unlogged (migration 005): a crash forgets recent signatures,
    a window a replay would also need a stolen request for.
    """
    rows = conn.execute(SQL["record_signatures"], (digests,)).fetchall()
    return {bytes(r["sign_hash"]) for r in rows}


def forget_signatures(conn: psycopg.Connection[Any], older_than_s: int) -> None:
    conn.execute(SQL["forget_signatures"], (older_than_s,))
