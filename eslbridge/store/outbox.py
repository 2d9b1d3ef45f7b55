"""The notification outbox: leased claims, signing secrets, delivery results, replays.

SQL in ``sql/outbox.sql``. The recorder's inserts into the outbox are in
``recording.add_notifications``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from .rows import Row, columns
from .statements import SQL


def claim_notifications(conn: psycopg.Connection[Any], owner: str, now: datetime, lease_s: float, limit: int) -> list[Row]:
    """Claim due rows with a lease; a crashed dispatcher's rows come back when the lease ends."""
    return conn.execute(
        SQL["claim_notifications"], {"owner": owner, "now": now, "lease": lease_s, "limit": limit}
    ).fetchall()


def signing_secrets(conn: psycopg.Connection[Any], user_ids: Sequence[str], now: datetime) -> dict[str, list[str]]:
    """Active secrets per tenant, newest first; a tenant without one gets one."""
    rows = conn.execute(SQL["signing_secrets"], (list(user_ids), now)).fetchall()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append(r["secret"])
    return out


def current_secret(conn: psycopg.Connection[Any], user_id: str) -> str | None:
    """The tenant's newest secret that has no expiry, if any."""
    row = conn.execute(SQL["current_secret"], (user_id,)).fetchone()
    return None if row is None else str(row["secret"])


def add_secret(conn: psycopg.Connection[Any], user_id: str, secret: str, expire_old_after_s: float | None) -> None:
    """A new secret; with ``expire_old_after_s`` the current ones expire after that grace."""
    if expire_old_after_s is not None:
        conn.execute(SQL["expire_secrets"], (expire_old_after_s, user_id))
    conn.execute(SQL["add_secret"], (user_id, secret))


def finish_deliveries(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """rows: id, at, http_status, latency_ms, error, delivered (bool), next_at, dead_reason."""
    if not rows:
        return
    conn.execute(SQL["add_delivery_attempts"], columns(rows, "id", "at", "http_status", "latency_ms", "error"))
    conn.execute(
        SQL["finish_deliveries"],
        columns(rows, "id", "at", "delivered", "next_at", "dead_reason", "error", "http_status"),
    )


def list_notifications(conn: psycopg.Connection[Any], failed_only: bool, limit: int = 100) -> list[Row]:
    return conn.execute(SQL["list_notifications"], (failed_only, limit)).fetchall()


def replay_notifications(
    conn: psycopg.Connection[Any], ids: Sequence[int] = (), task_id: Any = None, since: datetime | None = None
) -> int:
    """Queue notifications again with a fresh retry schedule: the given ids (even if
    delivered: a consumer may ask for a copy), or the dead letters of a task / since a time."""
    cur = conn.execute(SQL["replay_notifications"], {"ids": list(ids), "task": task_id, "since": since})
    return cur.rowcount
