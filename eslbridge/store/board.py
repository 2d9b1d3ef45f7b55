"""What operators watch: the engine's figures for its metrics, the wallboard's, and its tokens.

SQL in ``sql/board.sql``. A ``user_id`` of None means every tenant (an
operator); a tenant's token or signed request passes its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import psycopg

from .rows import Row
from .statements import SQL

BOARD_LIMIT = 5000  # tasks and lines on one wallboard at most


def engine_in_flight(conn: psycopg.Connection[Any], engine: str) -> list[Row]:
    """One engine's calls in flight: rows of node, line_id, task_id, n."""
    return conn.execute(SQL["engine_in_flight"], (engine,)).fetchall()


def outbox_depth(conn: psycopg.Connection[Any], user_id: str | None = None) -> Row:
    """pending, due, oldest_s (age of the oldest pending, seconds) and dead notifications."""
    row = conn.execute(SQL["outbox_depth"], {"user": user_id}).fetchone()
    assert row is not None
    return dict(row)


def abandonment_last_hour(conn: psycopg.Connection[Any], task_ids: Sequence[Any]) -> dict[str, tuple[int, int]]:
    """Task → (answered by a person, abandoned) over the last hour; tasks with no answer are absent."""
    if not task_ids:
        return {}
    rows = conn.execute(SQL["abandonment_last_hour"], (list(task_ids),)).fetchall()
    return {str(r["task_id"]): (int(r["answered"]), int(r["abandoned"])) for r in rows}


def tasks(conn: psycopg.Connection[Any], user_id: str | None) -> list[Row]:
    return conn.execute(SQL["board_tasks"], {"user": user_id, "limit": BOARD_LIMIT}).fetchall()


def lines(conn: psycopg.Connection[Any], user_id: str | None) -> list[Row]:
    return conn.execute(SQL["board_lines"], {"user": user_id, "limit": BOARD_LIMIT}).fetchall()


def outcomes_last_hour(conn: psycopg.Connection[Any], user_id: str | None) -> dict[int, int]:
    return {int(r["status"]): int(r["n"]) for r in conn.execute(SQL["board_outcomes"], {"user": user_id})}


# -- tokens -----------------------------------------------------------------------------------
def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(conn: psycopg.Connection[Any], token: str, user_id: str | None, name: str) -> int:
    row = conn.execute(SQL["create_ui_token"], (token_hash(token), user_id, name)).fetchone()
    assert row is not None
    return int(row["id"])


def token_scope(conn: psycopg.Connection[Any], token: str) -> tuple[bool, str | None]:
    """(known, tenant): a known token's tenant, None for an operator's; (False, None) if unknown or revoked."""
    row = conn.execute(SQL["ui_token_scope"], (token_hash(token),)).fetchone()
    return (False, None) if row is None else (True, row["user_id"])


def list_tokens(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(SQL["list_ui_tokens"]).fetchall()


def revoke_token(conn: psycopg.Connection[Any], token_id: int) -> bool:
    return conn.execute(SQL["revoke_ui_token"], (token_id,)).fetchone() is not None
