"""The CDR reader: every CDR of ours stored once, through rotations, restarts, duplicates and outages."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import gevent
import psycopg
import pytest

from eslbridge.cdr.format import render
from eslbridge.cdr.reader import CdrReader
from eslbridge.store import cdrs
from tests.helpers import wait_for

REAL = Path(__file__).parents[1] / "data" / "cdr" / "fs_1.10.12_Master.csv"


def line(call_uuid: str | None = None, cause: str = "NORMAL_CLEARING", engine: str = "e1") -> bytes:
    u = call_uuid or str(uuid.uuid4())
    return render({"uuid": u, "origination_uuid": u, "eslbridge_engine": engine, "hangup_cause": cause,
                   "answer_uepoch": "1796294268062602", "end_uepoch": "1796294269082030", "billsec": "1"})


def append(path: Path, *lines: bytes) -> None:
    with path.open("ab") as fh:
        for data in lines:
            fh.write(data)


def stored(db) -> dict[str, str]:
    with db.connection() as conn:
        return {r["u"]: r["hangup_cause"] for r in conn.execute(
            "SELECT call_uuid::text AS u, hangup_cause FROM call_cdr").fetchall()}


def stored_at(url: str) -> list[str]:
    """Read on a connection of its own (the pool's were cut)."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT call_uuid FROM call_cdr").fetchall()]


@pytest.fixture
def cdr_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cdr-csv"
    d.mkdir()
    return d


def test_a_real_file_gives_one_row_per_originated_call(db, cdr_dir):
    shutil.copy(REAL, cdr_dir / "Master.csv")
    reader = CdrReader(db, "fs1", cdr_dir)
    assert reader.poll() is True
    rows = stored(db)
    assert len(rows) == 6 and "2bb9c020-0046-4666-8542-3d2a133b6147" in rows
    assert (reader.lines, reader.stored, reader.bad_lines) == (12, 6, 0)
    with db.connection() as conn:
        [c] = cdrs.cursors(conn, "fs1").values()
    assert c.read_to == REAL.stat().st_size and c.name == "Master.csv" and c.head is not None


def test_a_file_read_again_from_the_start_stores_nothing_twice(db, cdr_dir):
    path = cdr_dir / "Master.csv"
    first = [line() for _ in range(5)]
    append(path, *first)
    assert CdrReader(db, "fs1", cdr_dir).poll()
    with db.transaction() as conn:
        conn.execute("DELETE FROM cdr_file")  # the cursor is lost
    append(path, first[2], line())  # and a line comes twice
    reader = CdrReader(db, "fs1", cdr_dir)
    assert reader.poll()
    assert len(stored(db)) == 6 and reader.stored == 1 and reader.lines == 7


def test_rotation_while_nobody_reads_loses_nothing_and_reads_each_file_once(db, cdr_dir):
    path = cdr_dir / "Master.csv"
    reader = CdrReader(db, "fs1", cdr_dir)
    append(path, line(), line())
    assert reader.poll()
    append(path, line())  # written after the last read, then rotated away
    path.rename(cdr_dir / "Master.csv.2026-12-03-10-00-00")
    append(path, line(), line())  # the new file
    assert reader.poll()
    assert len(stored(db)) == 5 and reader.lines == 5
    (cdr_dir / "Master.csv.2026-12-03-10-00-00").unlink()  # the operator deletes what was read
    assert reader.poll()
    with db.connection() as conn:
        assert [c.name for c in cdrs.cursors(conn, "fs1").values()] == ["Master.csv"]


def test_a_line_being_written_waits_for_its_end(db, cdr_dir):
    path = cdr_dir / "Master.csv"
    whole = line()
    append(path, line(), whole[:40])
    reader = CdrReader(db, "fs1", cdr_dir)
    assert reader.poll() is False  # not all read: the last line is not complete
    assert len(stored(db)) == 1
    append(path, whole[40:])
    assert reader.poll() is True and len(stored(db)) == 2


def test_bad_lines_are_counted_and_skipped_and_other_lines_ignored(db, cdr_dir):
    u = str(uuid.uuid4())
    append(cdr_dir / "Master.csv", b'"vanilla","template","line"\n', line(u).replace(b'"NORMAL_CLEARING"', b'"A"B"'),
           line(), line(engine=""))
    reader = CdrReader(db, "fs1", cdr_dir)
    assert reader.poll()
    assert len(stored(db)) == 1 and (reader.lines, reader.bad_lines) == (4, 1)


def test_another_file_under_a_reused_inode_is_read_from_its_start(db, cdr_dir):
    path = cdr_dir / "Master.csv"
    append(path, *(line() for _ in range(4)))
    assert CdrReader(db, "fs1", cdr_dir).poll()
    inode = path.stat().st_ino
    with db.transaction() as conn:  # as if a deleted file's cursor had this file's inode
        conn.execute("UPDATE cdr_file SET head = %s, read_to = 10", (b"another file",))
    assert path.stat().st_ino == inode
    append(path, line())
    reader = CdrReader(db, "fs1", cdr_dir)
    assert reader.poll() and len(stored(db)) == 5 and reader.lines == 5


def test_two_engines_reading_one_directory_store_each_cdr_once(db, cdr_dir):
    path = cdr_dir / "Master.csv"
    readers = [CdrReader(db, "fs1", cdr_dir, poll_s=0.01) for _ in range(2)]
    loops = [gevent.spawn(r.run) for r in readers]
    try:
        for batch in range(20):
            append(path, *(line() for _ in range(25)))
            if batch % 5 == 0:
                gevent.sleep(0)
        wait_for(lambda: len(stored(db)) == 500, timeout=30)
        assert all(r.catch_up(10) for r in readers)
    finally:
        for r in readers:
            r.stopping = True
            r.wake.set()
        gevent.joinall(loops, timeout=5)
    assert sum(r.stored for r in readers) == 500


def test_cdrs_written_while_the_database_is_away_are_stored_when_it_is_back(db, db_url, pg_server_url, cdr_dir):
    """The file is the spool: nothing is lost while the store is away, nothing is stored twice after."""
    from eslbridge.store.db import Database

    path = cdr_dir / "Master.csv"
    own = Database(db_url, min_size=1, max_size=2).open()
    reader = CdrReader(own, "fs1", cdr_dir, poll_s=0.02)
    loop = gevent.spawn(reader.run)
    name = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    admin = psycopg.connect(pg_server_url, autocommit=True)
    try:
        append(path, line())
        wait_for(lambda: len(stored(db)) == 1)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                      "pg_backend_pid()", (name,))
        append(path, *(line() for _ in range(30)))
        wait_for(lambda: reader.last_error is not None, timeout=20)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        wait_for(lambda: len(stored_at(db_url)) == 31, timeout=30)
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        reader.stopping = True
        reader.wake.set()
        loop.join(timeout=5)
        own.close()
    assert reader.stored == 31


def test_an_unreadable_directory_is_reported_not_fatal(db, tmp_path):
    reader = CdrReader(db, "fs1", tmp_path / "missing", poll_s=0.01)
    with pytest.raises(OSError):
        reader.poll()
    assert reader.catch_up(0.1) is False and "FileNotFoundError" in (reader.last_error or "")
    os.makedirs(tmp_path / "missing")
    assert reader.catch_up(1) is True


def test_a_nodes_switch_is_noted_once_per_change(db):
    with db.transaction() as conn:
        assert cdrs.note_switch(conn, "fs1", "core-a") == (True, None)  # never seen: not a new switch
        assert cdrs.note_switch(conn, "fs1", "core-a") == (False, None)
        assert cdrs.note_switch(conn, "fs2", "core-x") == (True, None)
        assert cdrs.note_switch(conn, "fs1", "core-b") == (True, "core-a")
        assert cdrs.note_switch(conn, "fs1", "core-b") == (False, None)
