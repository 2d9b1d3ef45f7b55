"""Do-not-call lists, their entries, and a tenant's compliance policy.

SQL in ``sql/dnc.sql``. A list belongs to a tenant, or (``user_id`` None) is
global: an operator's, honoured for every tenant. Entries are numbers as
+E.164 (``eslbridge.zones.e164`` of the stored form); the claim statement
checks each number in that form (``claims.take_numbers``), whatever form its
line stores it in.

Imports COPY into a staging table, then put it into the list in one
statement: a plain INSERT for entries new to the list, else a ``MERGE``
(``INSERT … ON CONFLICT`` when a concurrent writer races it), all in one
transaction: an import that fails leaves the list as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import psycopg

from .rows import Row
from .statements import SQL

CHUNK = 200_000  # entries read and staged at once
ANALYZE_AFTER = 10_000  # entries added at once
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": " ", "\n": " ", "\r": " "})


class Entry(NamedTuple):
    """One entry as imported: a stored-form phone, an optional expiry and reason (a tuple: a
    million are made per import, and a frozen dataclass costs three times as much to build)."""

    phone: str
    expires_at: datetime | None = None
    reason: str | None = None


def create_list(conn: psycopg.Connection[Any], user_id: str | None, name: str, description: str = "") -> Row:
    """The tenant's (None: global) list of that name, created if it does not exist."""
    row: Row | None = conn.execute(
        SQL["dnc_create_list"], {"user": user_id, "name": name, "description": description}).fetchone()
    assert row is not None
    return row


def list_by_name(conn: psycopg.Connection[Any], user_id: str | None, name: str) -> Row | None:
    return conn.execute(SQL["dnc_list_by_name"], {"user": user_id, "name": name}).fetchone()


def list_by_id(conn: psycopg.Connection[Any], user_id: str | None, list_id: int) -> Row | None:
    """The tenant's (None: a global) list of that id, or None."""
    return conn.execute(SQL["dnc_list_by_id"], {"user": user_id, "id": list_id}).fetchone()


def lists(conn: psycopg.Connection[Any], user_id: str | None) -> list[Row]:
    """The tenant's lists (None: the global ones)."""
    return conn.execute(SQL["dnc_lists"], {"user": user_id}).fetchall()


def all_lists(conn: psycopg.Connection[Any]) -> list[Row]:
    return conn.execute(SQL["dnc_all_lists"]).fetchall()


def count_entries(conn: psycopg.Connection[Any], list_id: int) -> Row:
    """``entries`` and ``in_force`` (not expired) of a list: reads all its entries."""
    row: Row | None = conn.execute(SQL["dnc_count_entries"], (list_id,)).fetchone()
    assert row is not None
    return row


def delete_list(conn: psycopg.Connection[Any], list_id: int) -> None:
    conn.execute(SQL["dnc_delete_list"], (list_id,))


def add_entries(conn: psycopg.Connection[Any], list_id: int, entries: Iterable[Entry]) -> dict[str, int]:
    """Merge entries into a list; returns counts: ``entries`` given, ``added``, ``changed`` (a new
    expiry or reason) and ``unchanged`` (the rest: entries already there as given, and repeats).
    A phone given twice keeps its last entry. Must run inside a transaction.
    """
    lines = [staged_line(n, e) for n, e in enumerate(entries, 1)]
    merge = Merge(conn, list_id)
    merge.chunk("".join(lines), len(lines))
    return merge.done()


def staged_line(n: int, e: Entry) -> str:
    """One COPY line of the staging table: line number, phone, expiry, reason (\\N: none)."""
    expires = e.expires_at.isoformat() if e.expires_at is not None else "\\N"
    reason = e.reason.translate(_COPY_ESCAPE) if e.reason else "\\N"
    return f"{n}\t{e.phone}\t{expires}\t{reason}\n"


class Merge:
    """One import into a list, in the caller's transaction: chunks of entries are COPYed into a
    staging table as they come (another greenlet may read the next meanwhile: dnc_import does),
    then go into the list in one statement, sorted by phone (in the index's order a million
    entries go in 2.5 times faster than in file order). That statement is a plain INSERT when
    the list has none of the entries (a new list: the common import), else a MERGE that probes
    the list for each one (twice the time). A phone staged twice keeps its last line.
    """

    def __init__(self, conn: psycopg.Connection[Any], list_id: int) -> None:
        self.conn = conn
        self.list_id = list_id
        self.entries = 0
        conn.execute(SQL["dnc_prepare"])  # room for the sort by phone
        conn.execute(SQL["dnc_probe_joins"])
        conn.execute(SQL["dnc_stage"])

    def chunk(self, text: str, entries: int, phones_only: bool = False) -> None:
        """Stage ``entries`` lines (``staged_line``'s form, joined; with ``phones_only``, a phone
        a line: entries without expiry or reason, in their order)."""
        if not entries:
            return
        with self.conn.cursor() as cur, cur.copy(SQL["dnc_copy_staged_phones" if phones_only else "dnc_copy_staged"]) as copy:
            copy.write(text)
        self.entries += entries

    def done(self) -> dict[str, int]:
        """Merge what was staged into the list and drop the staging table; returns the counts:
        ``entries`` staged, ``added``, ``changed`` (a new expiry or reason) and ``unchanged``
        (the rest: entries already there as given, and repeats)."""
        conn = self.conn
        added = changed = 0
        if self.entries:
            try:
                with conn.transaction():
                    added = conn.execute(SQL["dnc_insert_staged"], {"list": self.list_id}).rowcount
            except psycopg.errors.UniqueViolation:  # the list has some of them: merge
                conn.execute(SQL["dnc_analyze_staged"])  # the merge's join needs the staged rows' count
                try:
                    with conn.transaction():
                        row = conn.execute(SQL["dnc_merge_staged"], {"list": self.list_id}).fetchone()
                except psycopg.errors.UniqueViolation:  # a concurrent writer added some of these entries
                    row = conn.execute(SQL["dnc_upsert_staged"], {"list": self.list_id}).fetchone()
                assert row is not None
                added, changed = int(row["added"]), int(row["changed"])
        conn.execute(SQL["dnc_unstage"])
        if added >= ANALYZE_AFTER:
            conn.execute(SQL["dnc_analyze"])
        return {"entries": self.entries, "added": added, "changed": changed,
                "unchanged": self.entries - added - changed}


def remove_entries(conn: psycopg.Connection[Any], list_id: int, phones: Sequence[str]) -> int:
    """Take phones off a list; returns how many were on it."""
    return conn.execute(SQL["dnc_remove_entries"], (list_id, list(phones))).rowcount


def entries_page(conn: psycopg.Connection[Any], list_id: int, after: str = "", limit: int = 1000) -> list[Row]:
    """Entries in phone order after the phone ``after`` (the last of the previous page)."""
    return conn.execute(SQL["dnc_entries_page"], {"list": list_id, "after": after, "limit": limit}).fetchall()


def holding(conn: psycopg.Connection[Any], user_id: str, phone: str) -> list[Row]:
    """The lists of the tenant, and the global ones, that would refuse a call to ``phone`` now."""
    return conn.execute(SQL["dnc_holding"], {"user": user_id, "phone": phone}).fetchall()


def fill(conn: psycopg.Connection[Any], list_id: int, base: int, count: int, prefix: str = "+86") -> None:
    """Benchmarks: ``count`` entries ``prefix`` + ``base`` … ``base + count - 1``, generated by the
    server (in a list that has none of them)."""
    conn.execute(SQL["dnc_fill"], {"list": list_id, "base": base, "count": count, "prefix": prefix})


def vacuum(url: str) -> None:
    """VACUUM and ANALYZE the entries of the database at ``url`` after a bulk load (on a
    connection of its own: VACUUM runs outside any transaction)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SQL["dnc_vacuum"])


# -- the tenant's policy -------------------------------------------------------------------------
def policy(conn: psycopg.Connection[Any], user_id: str) -> Row | None:
    """The tenant's policy row, or None (the defaults)."""
    return conn.execute(SQL["tenant_policy"], (user_id,)).fetchone()


def set_policy(conn: psycopg.Connection[Any], user_id: str, values: dict[str, Any]) -> Row:
    """Write the tenant's whole policy: calling_hours_start/_end, max_attempts_day/_week, abandoned_rest_h."""
    row: Row | None = conn.execute(SQL["set_tenant_policy"], {
        "user": user_id, "start": values.get("calling_hours_start"), "end": values.get("calling_hours_end"),
        "day": values.get("max_attempts_day"), "week": values.get("max_attempts_week"),
        "rest": values.get("abandoned_rest_h", 72),
    }).fetchone()
    assert row is not None
    return row
