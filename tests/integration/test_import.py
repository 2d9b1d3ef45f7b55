"""Bulk import on parallel connections, and the task_number → task integrity triggers."""

from __future__ import annotations

import psycopg
import pytest

from eslbridge.importer import BulkImport, import_file
from eslbridge.store import tasks
from tests import factories as f
from tests.helpers import wait_for


def phones_in_id_order(db, task):
    with db.connection() as conn:
        return [r["phone"] for r in conn.execute("SELECT phone FROM task_number WHERE task_id = %s ORDER BY id", (task,))]


def test_parallel_chunks_keep_file_order_and_count_duplicates(db, tmp_path):
    task = f.task(db, f.line(db), ["13900000007", "13900000011"], start=0)
    wanted = [f"139{i:08d}" for i in range(23_000)]
    path = tmp_path / "n.txt"
    path.write_text("\n".join(wanted + wanted[:10] + ["12ab", ""]) + "\n")
    sink_chunk = 1000  # 23 chunks over two connections: they commit out of order
    sink = BulkImport(db, task, chunk=sink_chunk)
    for p in wanted + wanted[:10]:
        sink.add_all([p])
    assert sink.close() == 23_000 - 2  # two were already in the task
    got = phones_in_id_order(db, task)
    assert got[:2] == ["13900000007", "13900000011"]
    assert got[2:] == [p for p in wanted if p not in ("13900000007", "13900000011")]

    again = import_file(db, task, path)  # the whole file once more: all duplicates, one bad row
    assert again["imported"] == 0 and again["duplicates"] == 23_010 and again["rejected"] == 1
    assert again["errors"][0][0] == 23_011


def test_import_into_a_task_deleted_meanwhile_fails_cleanly(db):
    task = f.task(db, f.line(db), [], start=0)
    sink = BulkImport(db, task, chunk=100)
    for i in range(100):
        sink.add_all([f"1390000{i:04d}"])
    wait_for(lambda: phones_in_id_order(db, task))  # the first chunk is in; the task goes before the rest
    with db.transaction() as conn:
        assert tasks.delete_task(conn, task) == "deleted"
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        for i in range(100, 400):
            sink.add_all([f"1390000{i:04d}"])
        sink.close()
    assert phones_in_id_order(db, task) == []


def test_numbers_must_name_an_existing_task(db):
    task = f.task(db, f.line(db), ["13900000001"], start=0)
    with db.connection() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="existing task"):
            conn.execute("INSERT INTO task_number (task_id, phone) VALUES (gen_random_uuid(), '1')")
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE task_number SET task_id = gen_random_uuid() WHERE task_id = %s", (task,))
        conn.rollback()
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute("UPDATE task SET uuid = gen_random_uuid() WHERE uuid = %s", (task,))
        conn.rollback()


def test_an_uncommitted_import_holds_off_a_task_delete(db):
    """The triggers lock the named task FOR KEY SHARE, as a foreign key does."""
    task = f.task(db, f.line(db), [], start=0)
    with db.connection() as importer, db.connection() as deleter:
        importer.execute("INSERT INTO task_number (task_id, phone) VALUES (%s, '13900000001')", (task,))
        deleter.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            deleter.execute("DELETE FROM task WHERE uuid = %s", (task,))
        deleter.rollback()
        importer.commit()
        deleter.execute("DELETE FROM task WHERE uuid = %s", (task,))
        deleter.commit()
        assert deleter.execute("SELECT count(*) AS n FROM task_number WHERE task_id = %s", (task,)).fetchone()["n"] == 0


def test_import_cut_off_by_the_database_can_simply_be_run_again(db, tmp_path):
    """Chunks commit whole or not at all; repeating the import completes it and counts what was in."""
    task = f.task(db, f.line(db), [], start=0)
    wanted = [f"139{i:08d}" for i in range(20_000)]
    path = tmp_path / "n.txt"
    path.write_text("\n".join(wanted) + "\n")

    def committed() -> int:
        with db.connection() as conn:
            return conn.execute("SELECT count(*) AS n FROM task_number WHERE task_id = %s", (task,)).fetchone()["n"]

    sink = BulkImport(db, task, chunk=1000)
    for p in wanted[:4000]:
        sink.add_all([p])
    wait_for(lambda: committed() >= 1000)
    with psycopg.connect(db.url, autocommit=True) as admin:  # every other session of this database goes
        killed = [r[0] for r in admin.execute(
            """SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()""")]
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (killed,))
        # pg_terminate_backend only signals: wait until those sessions are really gone.
        wait_for(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                                       (killed,)).fetchone()[0] == 0)
    with pytest.raises(psycopg.OperationalError):
        for p in wanted[4000:]:
            sink.add_all([p])
        sink.close()

    def read_on_a_clean_pool() -> int | None:
        # A connection the importer gave back after the check can still be a dead one: check again.
        db.pool.check()
        try:
            return committed()
        except psycopg.OperationalError:
            return None

    before = int(wait_for(read_on_a_clean_pool))
    db.pool.check()  # every connection in the pool now works
    assert 1000 <= before < 20_000 and before % 1000 == 0  # whole chunks only

    again = import_file(db, task, path)
    assert again["imported"] == 20_000 - before and again["duplicates"] == before
    assert sorted(phones_in_id_order(db, task)) == wanted


def test_a_plain_file_comes_in_chunks_of_its_phones_in_order_with_its_bad_lines(tmp_path):
    """The plain-file reader (a chunk of lines at a time) says what normalising each line says."""
    from eslbridge.importer import plain_chunks
    from eslbridge.phones import Normaliser

    lines = [f"1390000{i:04d}" if i % 97 else "oops" for i in range(3000)]
    lines[10:10] = ["", "  "]
    path = tmp_path / "plain.txt"
    path.write_text("\n".join(lines) + "\n")
    phones = Normaliser("CN")
    chunks = list(plain_chunks(path, phones, size=500))
    assert len(chunks) > 3
    assert [p for c in chunks for p in c.phones] == [p for t in lines if t.strip() and (p := phones.normalise(t))]
    assert [b for c in chunks for b in c.bad] == [(n, t) for n, t in enumerate(lines, 1) if t == "oops"] != []
    assert sum(c.rows for c in chunks) == 3000 and chunks[-1].line == len(lines)
