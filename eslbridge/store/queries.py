"""Every SQL statement of the engine, as functions over a psycopg connection."""

from __future__ import annotations

import random as _random
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import tuple_row

Row = dict[str, Any]

def columns(rows: Sequence[dict[str, Any]], *keys: str) -> list[list[Any]]:
    """Rows turned into one list per key: the arrays of an ``unnest(...)`` batch statement."""
    return [[r[k] for r in rows] for k in keys]


RUNNING_TASKS = """
SELECT t.*, l.dial_string, l.call_number, l.call_line, l.node, l.cps, l.begin_at, l.deadline_at,
       coalesce((SELECT json_agg(json_build_array(r.weekdays, r.start_time::text, r.end_time::text))
                 FROM disable_dial_timerange r WHERE r.group_id = t.disable_dial_timegroup), '[]') AS blocked
FROM task t JOIN caller_line l ON l.id = t.caller_line_id
WHERE t.start = 1
"""


def running_tasks(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(RUNNING_TASKS).fetchall()


def recycle_rules(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(
        """SELECT r.id, r.max_attempts,
                  coalesce(json_agg(json_build_array(e.status, e.interval_min, e.times))
                           FILTER (WHERE e.rule_id IS NOT NULL), '[]') AS entries
           FROM auto_recycle_rule r LEFT JOIN auto_recycle_rule_entry e ON e.rule_id = r.id
           GROUP BY r.id"""
    ).fetchall()


def lock_line_and_count(conn: psycopg.Connection[Any], line_id: Any, task_id: Any, pause_s: int) -> tuple[int, int, int]:
    """Lock the line row (serialises claims on it across engines); return (call_line, line_busy, task_busy).

    A task stopped since the caller read it gets call_line 0: stopping takes
    effect at the next claim, not at the next task-list refresh.
    """
    line = conn.execute(
        """SELECT l.call_line FROM caller_line l JOIN task t ON t.caller_line_id = l.id
           WHERE l.id = %s AND t.uuid = %s AND t.start = 1 FOR UPDATE OF l""",
        (line_id, task_id),
    ).fetchone()
    if line is None:
        return 0, 0, 0
    counts = conn.execute(
        """SELECT count(*) FILTER (WHERE ended_at IS NULL) AS line_busy,
                  count(*) FILTER (WHERE task_id = %(task)s) AS task_busy
           FROM call_attempt
           WHERE line_id = %(line)s
             AND (ended_at IS NULL OR (task_id = %(task)s AND ended_at > now() - make_interval(secs => %(pause)s)))""",
        {"line": line_id, "task": task_id, "pause": pause_s},
    ).fetchone()
    assert counts is not None
    return int(line["call_line"]), int(counts["line_busy"]), int(counts["task_busy"])


def claim_numbers(conn: psycopg.Connection[Any], task_id: Any, n: int, random_order: bool) -> list[Row]:
    """Claim up to ``n`` numbers: due retries first, then pending in import (or random) order."""
    rows: list[Row] = []
    if n <= 0:
        return rows
    rows += conn.execute(
        """UPDATE task_number t SET status = 1, attempts = attempts + 1, next_attempt_at = NULL, updated_at = now()
           FROM (SELECT id FROM task_number
                 WHERE task_id = %s AND next_attempt_at IS NOT NULL AND next_attempt_at <= now()
                 ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT %s) p
           WHERE t.id = p.id
           RETURNING t.id, t.phone, t.attempts, t.variables""",
        (task_id, n),
    ).fetchall()
    left = n - len(rows)
    if left > 0:
        # Import order walks the pending index from the start (the id bound keeps it a range scan).
        rows += _claim_pending_random(conn, task_id, left) if random_order else _claim_pending_from(conn, task_id, 0, left)
    return rows


RANDOM_SLICE = 8  # consecutive numbers claimed from one random point


def _claim_pending_from(conn: psycopg.Connection[Any], task_id: Any, first_id: int, n: int) -> list[Row]:
    """Pending numbers from ``first_id`` on, in id (import) order: a walk of the pending index."""
    return conn.execute(
        """UPDATE task_number t SET status = 1, attempts = attempts + 1, updated_at = now()
           FROM (SELECT id FROM task_number WHERE task_id = %s AND status = 0 AND id >= %s
                 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s) p
           WHERE t.id = p.id
           RETURNING t.id, t.phone, t.attempts, t.variables""",
        (task_id, first_id, n),
    ).fetchall()


def _claim_pending_random(conn: psycopg.Connection[Any], task_id: Any, n: int) -> list[Row]:
    """Random order: a few numbers at a time from random points of the pending ids.

    Sorting every pending number by a shuffle key on each claim costs ~0.5 s
    for a task of a million; a random point of the pending index is found in
    microseconds. The order is random in slices of RANDOM_SLICE consecutive ids.
    """
    bounds = conn.execute(
        "SELECT min(id) AS lo, max(id) AS hi FROM task_number WHERE task_id = %s AND status = 0", (task_id,)
    ).fetchone()
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
    """rows: (number_id, task_id, line_id, attempt_no, call_uuid, node, engine). One statement for all."""
    if not rows:
        return
    cols = list(zip(*rows))
    # clock_timestamp(), not now(): now() is the transaction start, before the line lock was won.
    conn.execute(
        """INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, originated_at)
           SELECT n, t, l, a, c, nd, e, clock_timestamp()
           FROM unnest(%s::bigint[], %s::uuid[], %s::uuid[], %s::int[], %s::uuid[], %s::text[], %s::text[])
                AS x(n, t, l, a, c, nd, e)""",
        [list(c) for c in cols],
    )


def unsend(conn: psycopg.Connection[Any], call_uuids: Sequence[str]) -> None:
    """An originate that never reached FreeSWITCH (or was throttled) is not an attempt."""
    conn.execute(
        """WITH gone AS (DELETE FROM call_attempt WHERE call_uuid = ANY(%s) RETURNING number_id)
           UPDATE task_number t SET status = 0, attempts = attempts - 1, updated_at = now()
           FROM gone WHERE t.id = gone.number_id""",
        (list(call_uuids),),
    )


def block(conn: psycopg.Connection[Any], call_uuids: Sequence[str], reason: str) -> None:
    """Refused before dialling (e.g. a phone that is not digits): final status 18, not an attempt."""
    conn.execute(
        """WITH gone AS (DELETE FROM call_attempt WHERE call_uuid = ANY(%s) RETURNING number_id)
           UPDATE task_number t SET status = 18, attempts = attempts - 1, last_cause = %s, updated_at = now()
           FROM gone WHERE t.id = gone.number_id""",
        (list(call_uuids), reason),
    )


ATTEMPT_COLUMNS = """a.id, a.call_uuid::text AS call_uuid, a.status, a.answered_at, a.hangup_at, a.hangup_cause,
    a.sip_status, a.billsec, a.duration, a.job_cause, a.job_at, a.saw_channel, a.attempt_no, a.node,
    a.originated_at, a.number_id, a.task_id, n.phone, n.attempts, n.retries, n.variables,
    t.name AS task_name, t.user_id, t.auto_recycle_rule_id, t.call_notify_type, t.call_notify_url, t.phone_groups"""


def lock_attempts(conn: psycopg.Connection[Any], call_uuids: Iterable[str]) -> list[Row]:
    ids = []
    for u in call_uuids:
        try:
            ids.append(uuid.UUID(u))
        except ValueError:
            continue  # not one of ours
    if not ids:
        return []
    return conn.execute(
        f"""SELECT {ATTEMPT_COLUMNS}
            FROM call_attempt a JOIN task_number n ON n.id = a.number_id JOIN task t ON t.uuid = a.task_id
            WHERE a.call_uuid = ANY(%s) ORDER BY a.id FOR UPDATE OF a, n""",  # noqa: S608
        (ids,),
    ).fetchall()


def save_attempts(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Write attempt states in one statement (UPDATE … FROM unnest)."""
    if not rows:
        return

    conn.execute(
        """UPDATE call_attempt a SET status = x.status, answered_at = x.answered_at, hangup_at = x.hangup_at,
               hangup_cause = x.cause, sip_status = x.sip_status, billsec = x.billsec, duration = x.duration,
               job_cause = x.job_cause, job_at = x.job_at, saw_channel = x.saw_channel,
               ended_at = CASE WHEN x.final THEN clock_timestamp() ELSE NULL END
           FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[],
                       %s::int[], %s::int[], %s::text[], %s::timestamptz[], %s::bool[], %s::bool[])
                AS x(id, status, answered_at, hangup_at, cause, sip_status, billsec, duration, job_cause, job_at,
                     saw_channel, final)
           WHERE a.id = x.id""",
        columns(rows, "id", "status", "answered_at", "hangup_at", "cause", "sip_status", "billsec", "duration",
                "job_cause", "job_at", "saw_channel", "final"),
    )


def save_numbers(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    conn.execute(
        """UPDATE task_number t SET status = x.status, last_cause = x.cause, next_attempt_at = x.next_attempt_at,
               retries = x.retries, updated_at = now()
           FROM unnest(%s::bigint[], %s::smallint[], %s::text[], %s::timestamptz[], %b::jsonb[])
                AS x(id, status, cause, next_attempt_at, retries)
           WHERE t.id = x.id""",
        [[r["id"] for r in rows], [r["status"] for r in rows], [r["cause"] for r in rows],
         [r["next_attempt_at"] for r in rows], [orjson.dumps(r["retries"]).decode() for r in rows]],
    )


def add_notifications(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Outbox rows in one statement (the recorder writes one per finished call).

    The payloads travel as a binary array: the text form escapes every quote
    of every payload with a regular expression, a fifth of the engine's CPU.
    """
    if not rows:
        return
    conn.execute(
        """INSERT INTO notification_outbox (event_id, user_id, task_id, attempt_id, url, payload)
           SELECT * FROM unnest(%s::uuid[], %s::text[], %s::uuid[], %s::bigint[], %s::text[], %b::jsonb[])""",
        [[r["event_id"] for r in rows], [r["user_id"] for r in rows], [r["task_id"] for r in rows],
         [r["attempt_id"] for r in rows], [r["url"] for r in rows],
         [orjson.dumps(r["payload"], default=str).decode() for r in rows]],
    )


def unconfirmed_job_failures(conn: psycopg.Connection[Any], grace_s: float) -> list[str]:
    rows = conn.execute(
        """SELECT call_uuid::text AS u FROM call_attempt
           WHERE ended_at IS NULL AND job_cause IS NOT NULL AND NOT saw_channel
             AND job_at < now() - make_interval(secs => %s)""",
        (grace_s,),
    ).fetchall()
    return [r["u"] for r in rows]


def in_flight(conn: psycopg.Connection[Any], engine: str, node: str, older_than_s: float) -> list[str]:
    rows = conn.execute(
        """SELECT call_uuid::text AS u FROM call_attempt
           WHERE ended_at IS NULL AND engine = %s AND node = %s
             AND originated_at < now() - make_interval(secs => %s)""",
        (engine, node, older_than_s),
    ).fetchall()
    return [r["u"] for r in rows]


def heartbeat(conn: psycopg.Connection[Any], engine: str) -> None:
    conn.execute(
        """INSERT INTO engine (id) VALUES (%s)
           ON CONFLICT (id) DO UPDATE SET heartbeat = now()""",
        (engine,),
    )


ENGINE_LIVE_S = 15  # an engine whose heartbeat (every 5 s) is older is gone


def live_engines(conn: psycopg.Connection[Any]) -> int:
    """How many engines are dialling now (at least 1: the caller)."""
    row = conn.execute(
        "SELECT count(*) AS n FROM engine WHERE heartbeat > now() - make_interval(secs => %s)", (ENGINE_LIVE_S,)
    ).fetchone()
    return max(1, int(row["n"])) if row else 1


def retire_engine(conn: psycopg.Connection[Any], engine: str) -> None:
    """A clean stop: the other engines take over this one's share of each node at once."""
    conn.execute("DELETE FROM engine WHERE id = %s", (engine,))


PROGRESS = """
SELECT count(n.id) AS total,
       count(n.id) FILTER (WHERE n.attempts > 0) AS progress,
       count(n.id) FILTER (WHERE n.status >= 10 AND n.next_attempt_at IS NULL) AS finished,
       count(n.id) FILTER (WHERE n.status IN (1, 2)) AS in_flight,
       count(n.id) FILTER (WHERE n.next_attempt_at IS NOT NULL) AS waiting_retry,
       count(n.id) FILTER (WHERE n.status = 10) AS answered,
       count(n.id) FILTER (WHERE n.status = 0) AS pending
FROM task t LEFT JOIN task_number n ON n.task_id = t.uuid
WHERE t.uuid = %(task)s AND (%(user)s::text IS NULL OR t.user_id = %(user)s)
GROUP BY t.uuid
"""


def progress(conn: psycopg.Connection[Any], task_id: Any, user_id: str | None = None) -> Row | None:
    """A task's progress in one statement; None if there is no such task (of that tenant, if given)."""
    row = conn.execute(PROGRESS, {"task": task_id, "user": user_id}).fetchone()
    if row is None:
        return None
    total = int(row["total"])
    row["percent"] = (100 * int(row["progress"])) // total if total else 0
    return dict(row)


def status_counts(conn: psycopg.Connection[Any], task_ids: Sequence[Any] | None = None) -> dict[int, int]:
    if task_ids is None:
        rows = conn.execute("SELECT status, count(*) AS n FROM task_number GROUP BY status").fetchall()
    else:
        rows = conn.execute(
            "SELECT status, count(*) AS n FROM task_number WHERE task_id = ANY(%s) GROUP BY status", (list(task_ids),)
        ).fetchall()
    return {int(r["status"]): int(r["n"]) for r in rows}


def import_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: Iterable[str]) -> int:
    """Add new phones to a task in order, skipping ones it already has; returns how many were added.

    For one transaction of at most a few hundred thousand numbers (API, apply);
    files go through ``importer.BulkImport``, which writes on several connections.
    """
    fresh = list(dict.fromkeys(phones))
    if not fresh:
        return 0
    added, _ = insert_numbers(conn, task_id, fresh)
    if added >= ANALYZE_AFTER:
        analyze_numbers(conn)
    return added


def insert_numbers(conn: psycopg.Connection[Any], task_id: Any, fresh: list[str], ids: Sequence[int] | None = None,
                   expect_known: bool = False) -> tuple[int, bool]:
    """Add distinct phones to a task, skipping ones it has; returns (added, some were known).

    COPY is ~2x faster than INSERT … ON CONFLICT, so it goes first unless
    ``expect_known`` (an earlier batch met known numbers); a duplicate makes it
    fail, and the batch is added the careful way.
    """
    prepare_number_import(conn)
    if not expect_known:
        try:
            with conn.transaction():
                copy_numbers(conn, task_id, fresh, ids)
            return len(fresh), False
        except psycopg.errors.UniqueViolation:
            pass
    return add_new_numbers(conn, task_id, fresh, ids), True


ANALYZE_AFTER = 10_000  # numbers added at once


def analyze_numbers(conn: psycopg.Connection[Any]) -> None:
    """Fresh planner statistics after a big import.

    Until autovacuum gets to it, the planner believes a task that just got a
    million numbers has a dozen, and claims them with a bitmap scan and an
    on-disk sort of all of them (~250 ms) instead of reading the pending
    index in order (~0.2 ms). ANALYZE samples 30,000 rows whatever the size.
    """
    conn.execute("ANALYZE task_number")


def prepare_number_import(conn: psycopg.Connection[Any]) -> None:
    """Room for the per-statement task check, which holds the inserted rows in memory."""
    conn.execute("SET LOCAL work_mem = '64MB'")


def reserve_number_ids(conn: psycopg.Connection[Any], count: int) -> Sequence[int]:
    """``count`` ascending ids from task_number's sequence (claims dial in id order).

    Usually a contiguous range, returned as a ``range`` so that a million ids
    are not sent back one by one; the list when another writer interleaved.
    """
    low, high, _count, ids = conn.cursor(row_factory=tuple_row).execute(
        """WITH r AS (SELECT nextval('task_number_id_seq') AS v FROM generate_series(1, %s))
           SELECT min(v), max(v), count(*), CASE WHEN max(v) - min(v) + 1 <> count(*) THEN array_agg(v) END FROM r""",
        (count,),
    ).fetchone()  # type: ignore[misc]
    return range(low, high + 1) if ids is None else sorted(ids)


def copy_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: list[str], ids: Sequence[int] | None = None) -> None:
    """COPY phones the task does not have yet (a duplicate raises UniqueViolation)."""
    tid = str(task_id)
    with conn.cursor() as cur:
        if ids is None:
            with cur.copy("COPY task_number (task_id, phone) FROM STDIN") as copy:
                copy.write("".join([f"{tid}\t{p}\n" for p in phones]))
        else:
            with cur.copy("COPY task_number (id, task_id, phone) FROM STDIN") as copy:
                copy.write("".join([f"{i}\t{tid}\t{p}\n" for i, p in zip(ids, phones)]))


def add_new_numbers(conn: psycopg.Connection[Any], task_id: Any, phones: list[str], ids: Sequence[int] | None = None) -> int:
    """Add the phones a task does not have yet, in order; returns how many were added."""
    known = {
        r[0]
        for r in conn.cursor(row_factory=tuple_row).execute(
            "SELECT phone FROM task_number WHERE task_id = %s AND phone = ANY(%s)", (task_id, phones)
        )
    }
    pairs = [(i, p) for i, p in zip(ids or range(len(phones)), phones) if p not in known]
    if not pairs:
        return 0
    fresh = [p for _, p in pairs]
    new_ids = [i for i, _ in pairs] if ids is not None else None
    try:
        with conn.transaction():
            copy_numbers(conn, task_id, fresh, new_ids)
        return len(fresh)
    except psycopg.errors.UniqueViolation:  # a concurrent import added some of them meanwhile
        cur = conn.execute(
            """INSERT INTO task_number (id, task_id, phone)
               SELECT coalesce(i, nextval('task_number_id_seq')), %s, p
               FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS x(i, p, n)
               ORDER BY n ON CONFLICT (task_id, phone) DO NOTHING""",
            (task_id, new_ids or [None] * len(fresh), fresh),
        )
        return cur.rowcount


def set_task_start(conn: psycopg.Connection[Any], task_id: Any, start: int, user_id: str | None = None) -> bool:
    cur = conn.execute(
        """UPDATE task SET start = %(start)s, updated_at = now(),
               started_at = CASE WHEN %(start)s = 1 THEN coalesce(started_at, now()) ELSE started_at END
           WHERE uuid = %(task)s AND (%(user)s::text IS NULL OR user_id = %(user)s)""",
        {"start": start, "task": task_id, "user": user_id},
    )
    return cur.rowcount == 1


def list_numbers(conn: psycopg.Connection[Any], task_id: Any, status: int | None, limit: int = 1000) -> list[Row]:
    return conn.execute(
        """SELECT id, phone, status, attempts, last_cause, next_attempt_at FROM task_number
           WHERE task_id = %s AND (%s::smallint IS NULL OR status = %s) ORDER BY id LIMIT %s""",
        (task_id, status, status, limit),
    ).fetchall()


def delete_task(conn: psycopg.Connection[Any], task_id: Any, user_id: str | None = None) -> str:
    """Delete a task and its numbers; refused while calls are in flight.

    Returns "deleted", "in_flight" or "not_found". Attempts go with their
    numbers; delivered or pending notifications stay in the outbox.
    """
    row = conn.execute(
        "SELECT uuid FROM task WHERE uuid = %s AND (%s::text IS NULL OR user_id = %s) FOR UPDATE",
        (task_id, user_id, user_id),
    ).fetchone()
    if row is None:
        return "not_found"
    busy = conn.execute(
        "SELECT 1 FROM call_attempt WHERE task_id = %s AND ended_at IS NULL LIMIT 1", (task_id,)
    ).fetchone()
    if busy is not None:
        return "in_flight"
    conn.execute("DELETE FROM task WHERE uuid = %s", (task_id,))
    return "deleted"


def reset_numbers(
    conn: psycopg.Connection[Any],
    task_id: Any,
    statuses: Sequence[int] | None = None,
    imported_from: datetime | None = None,
    imported_to: datetime | None = None,
    keyword: str | None = None,
) -> int:
    """Put matching numbers back to pending with a fresh retry budget; never one in flight."""
    cur = conn.execute(
        """UPDATE task_number SET status = 0, attempts = 0, retries = '{}', next_attempt_at = NULL,
               last_cause = NULL, updated_at = now()
           WHERE task_id = %(task)s AND status NOT IN (1, 2)
             AND (%(statuses)s::smallint[] IS NULL OR status = ANY(%(statuses)s::smallint[]))
             AND (%(since)s::timestamptz IS NULL OR imported_at >= %(since)s)
             AND (%(until)s::timestamptz IS NULL OR imported_at <= %(until)s)
             AND (%(kw)s::text IS NULL OR strpos(phone, %(kw)s) > 0)""",
        {"task": task_id, "statuses": list(statuses) if statuses else None, "since": imported_from,
         "until": imported_to, "kw": keyword or None},
    )
    return cur.rowcount


# -- notification outbox ---------------------------------------------------------
def claim_notifications(conn: psycopg.Connection[Any], owner: str, now: datetime, lease_s: float, limit: int) -> list[Row]:
    """Claim due rows with a lease; a crashed dispatcher's rows come back when the lease ends."""
    return conn.execute(
        """UPDATE notification_outbox o SET claimed_by = %(owner)s,
               lease_until = %(now)s + make_interval(secs => %(lease)s)
           FROM (SELECT id FROM notification_outbox
                 WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= %(now)s
                   AND (lease_until IS NULL OR lease_until < %(now)s)
                 ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) d
           WHERE o.id = d.id
           RETURNING o.id, o.event_id::text AS event_id, o.user_id, o.url, o.payload::text AS body, o.attempts,
                     o.created_at""",
        {"owner": owner, "now": now, "lease": lease_s, "limit": limit},
    ).fetchall()


def signing_secrets(conn: psycopg.Connection[Any], user_ids: Sequence[str], now: datetime) -> dict[str, list[str]]:
    """Active secrets per tenant, newest first; a tenant without one gets one."""
    rows = conn.execute(
        """SELECT user_id, secret FROM webhook_secret
           WHERE user_id = ANY(%s) AND (expires_at IS NULL OR expires_at > %s) ORDER BY id DESC""",
        (list(user_ids), now),
    ).fetchall()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append(r["secret"])
    return out


def add_secret(conn: psycopg.Connection[Any], user_id: str, secret: str, expire_old_after_s: float | None) -> None:
    if expire_old_after_s is not None:
        conn.execute(
            """UPDATE webhook_secret SET expires_at = now() + make_interval(secs => %s)
               WHERE user_id = %s AND expires_at IS NULL""",
            (expire_old_after_s, user_id),
        )
    conn.execute("INSERT INTO webhook_secret (user_id, secret) VALUES (%s, %s)", (user_id, secret))


def finish_deliveries(conn: psycopg.Connection[Any], rows: Sequence[dict[str, Any]]) -> None:
    """rows: id, at, http_status, latency_ms, error, delivered (bool), next_at, dead_reason."""
    if not rows:
        return

    conn.execute(
        """INSERT INTO delivery_attempt (outbox_id, at, http_status, latency_ms, error)
           SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::real[], %s::text[])""",
        columns(rows, "id", "at", "http_status", "latency_ms", "error"),
    )
    conn.execute(
        """UPDATE notification_outbox o SET attempts = o.attempts + 1, claimed_by = NULL, lease_until = NULL,
               delivered_at = CASE WHEN x.delivered THEN x.at END,
               next_attempt_at = coalesce(x.next_at, o.next_attempt_at),
               dead_at = CASE WHEN x.dead_reason IS NOT NULL THEN x.at END,
               dead_reason = x.dead_reason,
               last_error = coalesce(x.error, CASE WHEN x.delivered THEN NULL ELSE 'HTTP ' || x.http_status END)
           FROM unnest(%s::bigint[], %s::timestamptz[], %s::bool[], %s::timestamptz[], %s::text[], %s::text[], %s::int[])
                AS x(id, at, delivered, next_at, dead_reason, error, http_status)
           WHERE o.id = x.id""",
        columns(rows, "id", "at", "delivered", "next_at", "dead_reason", "error", "http_status"),
    )


def list_notifications(conn: psycopg.Connection[Any], failed_only: bool, limit: int = 100) -> list[Row]:
    return conn.execute(
        """SELECT id, event_id::text AS event_id, task_id::text AS task_id, url, attempts, created_at,
                  next_attempt_at, delivered_at, dead_at, dead_reason, last_error
           FROM notification_outbox
           WHERE NOT %s OR (delivered_at IS NULL AND (dead_at IS NOT NULL OR attempts > 0))
           ORDER BY id DESC LIMIT %s""",
        (failed_only, limit),
    ).fetchall()


def replay_notifications(
    conn: psycopg.Connection[Any], ids: Sequence[int] = (), task_id: Any = None, since: datetime | None = None
) -> int:
    """Queue notifications again with a fresh retry schedule: the given ids (even if
    delivered: a consumer may ask for a copy), or the dead letters of a task / since a time."""
    cur = conn.execute(
        """UPDATE notification_outbox SET dead_at = NULL, dead_reason = NULL, delivered_at = NULL, attempts = 0,
               next_attempt_at = now(), claimed_by = NULL, lease_until = NULL
           WHERE id = ANY(%(ids)s::bigint[])
              OR (cardinality(%(ids)s::bigint[]) = 0 AND dead_at IS NOT NULL
                  AND (%(task)s::uuid IS NULL OR task_id = %(task)s)
                  AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s))""",
        {"ids": list(ids), "task": task_id, "since": since},
    )
    return cur.rowcount
