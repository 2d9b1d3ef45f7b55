"""Attempt records: what each keeps, the streamed export, and retention in small batches."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.causes import Status
from eslbridge.cli import main
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import dnc, records
from tests import factories as f
from tests.helpers import wait_for


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    return db_url


def run(db, switch, *tasks, **settings):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=200,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    base = {"engine_id": "e1", "job_grace_s": 0.3, "reconcile_after_s": 0.5, "tick_s": 0.02, "notify": False}
    engine = Engine(db, Settings(**{**base, **settings}), [node]).start()
    try:
        wait_for(lambda: all(f.all_final(db, t) for t in tasks), timeout=60)
    finally:
        engine.stop()


def test_every_attempt_keeps_what_a_regulator_asks_and_the_export_streams_it(env, db, sim, capsys, tmp_path):
    since = datetime.now(UTC) - timedelta(seconds=1)
    task = f.task(db, f.line(db), ["13800000000", "13800000001", "+12125550129"], _origination_caller_id_number="4008000")
    other = f.task(db, f.line(db), ["13900000009"])
    with db.transaction() as conn:
        lst = dnc.create_list(conn, "t1", "complaints")
        dnc.add_entries(conn, lst["id"], [dnc.Entry("+8613800000001")])
    run(db, sim, task, other)
    assert main(["cdr", "export", "--since", since.isoformat(), "--task", task, "--format", "jsonl"]) == 0
    out = capsys.readouterr()
    rows = {r["phone"]: r for r in map(json.loads, out.out.splitlines())}
    assert set(rows) == {"13800000000", "13800000001", "+12125550129"} and "3 record(s)" in out.err
    answered = rows["13800000000"]
    assert (answered["status_name"], answered["caller_id_shown"], answered["user_id"], answered["task_id"]) == (
        "answered", "4008000", "t1", task)
    assert answered["originated_at"] <= answered["answered_at"] <= answered["hangup_at"]
    assert (answered["dnc_result"], answered["dnc_list"], answered["abandoned"]) == ("clear", None, False)
    assert answered["callee_tz"] == "Asia/Shanghai"
    local = datetime.fromisoformat(answered["callee_local_at"])
    utc = datetime.fromisoformat(answered["originated_at"])
    assert abs(local - utc.astimezone(UTC).replace(tzinfo=None) - timedelta(hours=8)) < timedelta(seconds=5)
    refused = rows["13800000001"]
    assert (refused["status"], refused["hangup_cause"], refused["dnc_result"], refused["dnc_list"]) == (
        Status.BLOCKED, "DNC", "listed", "complaints")
    assert refused["answered_at"] is None and rows["+12125550129"]["callee_tz"] == "America/New_York"
    # CSV: a header, the same records; the other task's only without --task; nothing before --since.
    path = tmp_path / "records.csv"
    assert main(["cdr", "export", "--since", since.isoformat(), "--output", str(path)]) == 0
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    assert sorted(r["phone"] for r in table) == ["+12125550129", "13800000000", "13800000001", "13900000009"]
    assert {r["dnc_result"] for r in table} == {"clear", "listed"}
    assert main(["cdr", "export", "--since", (datetime.now(UTC) + timedelta(minutes=1)).isoformat()]) == 0
    from eslbridge.records import FIELDS

    assert capsys.readouterr().out.splitlines() == [",".join(FIELDS)]  # the header alone


def test_a_record_outlives_its_task(db, sim):
    task = f.task(db, f.line(db), ["13800000000"])
    run(db, sim, task)
    from eslbridge.store import tasks

    with db.transaction() as conn:
        assert tasks.delete_task(conn, task) == "deleted"
    [rec] = list(records.export(db, datetime.now(UTC) - timedelta(hours=1)))
    assert (rec["phone"], rec["number_id"], rec["task_name"], rec["status"]) == ("13800000000", None, None, Status.ANSWERED)


def age(db, days, where="true"):
    with db.transaction() as conn:
        conn.execute(f"UPDATE call_attempt SET originated_at = originated_at - make_interval(days => %s) WHERE {where}",
                     (days,))
        conn.execute(f"UPDATE notification_outbox SET created_at = created_at - make_interval(days => %s) "
                     f"WHERE attempt_id IN (SELECT id FROM call_attempt WHERE {where})",
                     (days,))


def test_retention_deletes_old_records_in_batches_and_skips_rows_others_hold(db, sim, db_url):
    import psycopg

    task = f.task(db, f.line(db, call_line=20), [f"1380000{i:04d}" for i in range(30)], maximumcall=20,
                  call_notify_url="http://127.0.0.1:9/hook", call_notify_type=2)
    run(db, sim, task)
    with db.transaction() as conn:
        conn.execute("UPDATE notification_outbox SET delivered_at = now()")
        ids = [r["id"] for r in conn.execute("SELECT id FROM call_attempt ORDER BY id").fetchall()]
    age(db, 40, f"id <= {ids[24]}")  # 25 old, 5 recent
    with db.transaction() as conn:  # one old attempt still open (the engine's), never deleted
        conn.execute("UPDATE call_attempt SET ended_at = NULL WHERE id = %s", (ids[0],))
    with psycopg.connect(db_url) as holder:  # another transaction holds one old attempt's row
        holder.execute("SELECT 1 FROM call_attempt WHERE id = %s FOR UPDATE", (ids[1],))
        gone = records.purge(db, datetime.now(UTC) - timedelta(days=31), batch=4)
        holder.rollback()
    assert gone == {"attempts": 23, "notifications": 25}
    left = [a["id"] for a in f.attempts(db, task)]
    assert left == [ids[0], ids[1], *ids[25:]]


def test_the_engine_applies_the_retention_setting(db, sim):
    task = f.task(db, f.line(db), ["13800000000", "13800000009"])
    run(db, sim, task)
    age(db, 400, "phone = '13800000000'")
    node = NodeConfig(name="fs1", host=sim.address[0], port=sim.address[1])
    engine = Engine(db, Settings(engine_id="e2", notify=False, record_retention_days=365), [node]).start()
    try:
        wait_for(lambda: [a["phone"] for a in f.attempts(db, task)] == ["13800000009"], timeout=30)
    finally:
        engine.stop()


@pytest.mark.parametrize("days", [1, 30])
def test_a_retention_shorter_than_the_caps_read_is_refused(days):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="record_retention_days"):
        Settings(record_retention_days=days)
