"""Delete and number reset never lose or disturb a call in flight."""

from __future__ import annotations

from eslbridge.causes import Status
from eslbridge.store import claims, tasks
from tests import factories as f


def set_status(db, task, phone, status, **extra):
    with db.transaction() as conn:
        conn.execute(
            "UPDATE task_number SET status = %s, attempts = 1, last_cause = 'X', retries = '{\"12\": 1}' WHERE task_id = %s AND phone = %s",
            (status, task, phone),
        )


def test_delete_is_refused_while_a_call_is_in_flight(db):
    line = f.line(db)
    task = f.task(db, line, ["13800000001"], start=0)
    with db.transaction() as conn:
        number = conn.execute("SELECT id FROM task_number").fetchone()["id"]
        claims.insert_attempts(conn, claims.AttemptBatch(task, line, "fs1", "e1", "t1"),
                               [(number, 1, "5ce8c3a8-7639-4141-a860-a983f3b0a5c4", "13800000001", "1000", None,
                                 "Asia/Shanghai", "2026-11-23T10:00:00")])
    with db.transaction() as conn:
        assert tasks.delete_task(conn, task) == "in_flight"
        conn.execute("UPDATE call_attempt SET ended_at = now()")
    with db.transaction() as conn:
        assert tasks.delete_task(conn, task, user_id="someone-else") == "not_found"
        assert tasks.delete_task(conn, task) == "deleted"
        assert tasks.delete_task(conn, task) == "not_found"
    # The attempt stays as a record of the call, its number gone.
    [record] = f.attempts(db)
    assert (record["number_id"], record["phone"], record["user_id"], record["caller_id_shown"]) == (
        None, "13800000001", "t1", "1000")


def test_number_reset_by_status_and_phone_skips_calls_in_flight(db):
    line = f.line(db)
    task = f.task(db, line, ["13800000001", "13800000002", "13900000003", "13800000004"], start=0)
    set_status(db, task, "13800000001", Status.BUSY)
    set_status(db, task, "13800000002", Status.DIALING)
    set_status(db, task, "13900000003", Status.BUSY)
    set_status(db, task, "13800000004", Status.ANSWERED)
    with db.transaction() as conn:
        assert tasks.reset_numbers(conn, task, statuses=[12, 1]) == 2  # both busy; the dialing one is untouched
        assert tasks.reset_numbers(conn, task, statuses=[10], phone="139") == 0
        assert tasks.reset_numbers(conn, task, statuses=[10], phone="0004") == 0  # one number, not a part of one
        assert tasks.reset_numbers(conn, task, statuses=[10], phone="13800000004") == 1
    nums = f.numbers(db, task)
    assert nums["13800000001"]["status"] == Status.PENDING and nums["13800000001"]["attempts"] == 0
    assert nums["13800000001"]["retries"] == {} and nums["13800000001"]["last_cause"] is None
    assert nums["13800000002"]["status"] == Status.DIALING
    assert nums["13900000003"]["status"] == Status.PENDING
    assert nums["13800000004"]["status"] == Status.PENDING
    with db.connection() as conn:
        assert tasks.progress(conn, task)["percent"] == 25  # only the one in flight counts as dialled now
