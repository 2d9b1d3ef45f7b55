"""Every outcome exact through every gap: calls that end while the engine cannot hear them get
their CDR's outcome, and a restarted switch's calls free their slots before the first new originate.

The simulator writes CDRs as mod_cdr_csv does (into ``cdr_dir``, before each hangup event, whether
anyone listens or not); the engine reads the same directory. Every task has a retry rule that
redials any unanswered outcome at once: a call wrongly ended LOST would be dialled twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import cdrs
from eslbridge.tracker import fact_from_cdr
from tests import factories as f
from tests.helpers import wait_for

RETRY_ALL = {int(s): (0.0, 3) for s in range(Status.NO_ANSWER, Status.ABANDONED + 1)}


def phones(n: int) -> list[str]:
    return [f"1381{i:06d}8" for i in range(n)]  # digit 8: answers and stays up until hung up


@pytest.fixture
def cdr_dir(tmp_path: Path) -> Path:
    return tmp_path / "cdr-csv"


@pytest.fixture
def sim(cdr_dir: Path):
    switch = Switch(SimConfig(time_scale=1.0, heartbeat_s=0, sps=1000, max_sessions=1000,
                              cdr_dir=str(cdr_dir))).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def engine_for(db, switch, cdr_dir, **settings) -> Engine:
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=500,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    base = {"engine_id": "e1", "job_grace_s": 0.3, "reconcile_after_s": 0.5, "tick_s": 0.02, "notify": False,
            "cdr_dir": str(cdr_dir), "cdr_poll_s": 0.05}
    base.update(settings)
    return Engine(db, Settings(**base), [node]).start()


def talking(db, task: str) -> int:
    return sum(1 for a in f.attempts(db, task) if a["status"] == Status.TALKING)


def hang_up(switch: Switch, call_uuids: list[str]) -> None:
    for u in call_uuids:
        assert switch.kill(u, "NORMAL_CLEARING")


def assert_true_outcomes(db, task: str, unheard: list[str], heard: list[str]) -> None:
    by_uuid = {str(a["call_uuid"]): a for a in f.attempts(db, task)}
    assert len(by_uuid) == len(unheard) + len(heard)  # no number dialled twice
    for u in unheard:
        a = by_uuid[u]
        assert (a["status"], a["hangup_cause"], a["recovered"]) == (Status.ANSWERED, "NORMAL_CLEARING", True), a
        assert a["answered_at"] is not None and a["ended_at"] is not None
    for u in heard:
        a = by_uuid[u]
        assert (a["status"], a["hangup_cause"], a["recovered"]) == (Status.ANSWERED, "NORMAL_CLEARING", False), a
    nums = f.numbers(db, task).values()
    assert all(n["attempts"] == 1 and n["status"] == Status.ANSWERED and n["next_attempt_at"] is None for n in nums)


def test_calls_that_end_while_the_engine_is_killed_get_their_true_status(db, db_url, sim, cdr_dir, tmp_path):
    """`eslbridge run` SIGKILLed with 100 calls up; 50 end while it is down; a new one takes over."""
    line = f.line(db, call_line=100)
    task = f.task(db, line, phones(100), maximumcall=100, auto_recycle_rule_id=f.rule(db, RETRY_ALL, max_attempts=4))
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": db_url, "ESLBRIDGE_FS_HOST": "127.0.0.1",
           "ESLBRIDGE_FS_PORT": str(sim.address[1]), "ESLBRIDGE_FS_CPS": "500", "ESLBRIDGE_ENGINE_ID": "e-kill",
           "ESLBRIDGE_NOTIFY": "false", "ESLBRIDGE_RECONCILE_AFTER_S": "1", "ESLBRIDGE_JOB_GRACE_S": "0.5",
           "ESLBRIDGE_CDR_DIR": str(cdr_dir)}
    log = open(tmp_path / "engine.log", "ab")  # noqa: SIM115 - closed in finally

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "eslbridge", "run"], env=env, stdout=subprocess.DEVNULL, stderr=log)

    first, second = start(), None
    try:
        wait_for(lambda: talking(db, task) == 100, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        calls = [str(a["call_uuid"]) for a in f.attempts(db, task)]
        unheard, heard = calls[:50], calls[50:]
        hang_up(sim, unheard)  # nobody listens: only the CDR file hears of it
        assert len(sim.calls) == 50
        second = start()
        wait_for(lambda: all(a["ended_at"] for a in f.attempts(db, task) if str(a["call_uuid"]) in unheard), timeout=60)
        hang_up(sim, heard)  # the new engine hears these
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        log.close()
    assert_true_outcomes(db, task, unheard, heard)
    assert sim.originates == 100


def test_calls_that_end_while_esl_is_cut_get_their_true_status(db, sim, cdr_dir):
    line = f.line(db, call_line=100)
    task = f.task(db, line, phones(100), maximumcall=100, auto_recycle_rule_id=f.rule(db, RETRY_ALL, max_attempts=4))
    engine = engine_for(db, sim, cdr_dir)
    link = engine.links["fs1"]
    try:
        wait_for(lambda: talking(db, task) == 100, timeout=60)
        calls = [str(a["call_uuid"]) for a in f.attempts(db, task)]
        unheard, heard = calls[:50], calls[50:]
        sim.refuse()  # the connection breaks and cannot be made again
        tries = link.backoff.attempts
        hang_up(sim, unheard)
        wait_for(lambda: link.backoff.attempts >= tries + 5, timeout=30)  # it stayed cut through five tries
        assert link.connects == 1 and talking(db, task) == 100  # nothing was heard
        sim.refuse(False)
        wait_for(lambda: all(a["ended_at"] for a in f.attempts(db, task) if str(a["call_uuid"]) in unheard), timeout=30)
        assert link.connects == 2
        hang_up(sim, heard)
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
    assert_true_outcomes(db, task, unheard, heard)
    assert sim.originates == 100


@pytest.mark.parametrize("shutdown", [True, False], ids=["shut-down", "crashed"])
def test_a_restarted_switch_frees_its_calls_slots_before_the_first_new_originate(db, sim, cdr_dir, shutdown):
    line = f.line(db, call_line=100)
    task = f.task(db, line, phones(150), maximumcall=100)
    engine = engine_for(db, sim, cdr_dir, reconcile_after_s=600.0)  # the sweep never runs: only the reconnect
    link = engine.links["fs1"]
    try:
        wait_for(lambda: talking(db, task) == 100, timeout=60)
        old = [str(a["call_uuid"]) for a in f.attempts(db, task)]
        sim.restart(hangup_cause="SYSTEM_SHUTDOWN" if shutdown else None)
        wait_for(lambda: link.connects == 2 and link.is_up, timeout=30)
        ended = {str(a["call_uuid"]): a for a in f.attempts(db, task) if a["ended_at"] is not None}
        assert set(old) <= set(ended)  # settled before the link counted as up
        wait_for(lambda: len(f.attempts(db, task)) == 150, timeout=30)  # the line's free slots dial again
    finally:
        engine.stop()
    attempts = {str(a["call_uuid"]): a for a in f.attempts(db, task)}
    new = [a for u, a in attempts.items() if u not in old]
    assert len(new) == 50
    assert max(attempts[u]["ended_at"] for u in old) < min(a["originated_at"] for a in new)
    outcomes = {(attempts[u]["status"], attempts[u]["hangup_cause"], attempts[u]["recovered"]) for u in old}
    if shutdown:  # the old switch wrote a CDR for every call it hung up
        assert outcomes == {(Status.ANSWERED, "SYSTEM_SHUTDOWN", True)}
    else:  # it died: no channel, no CDR
        assert outcomes == {(Status.FAILED, "LOST", False)}
    assert engine.reconciler.recovered + engine.reconciler.lost == 100
    with db.connection() as conn:
        assert conn.execute("SELECT core_uuid FROM fs_node WHERE name = 'fs1'").fetchone()["core_uuid"] == sim.core_uuid


def test_cdrs_spooled_while_the_store_is_away_are_applied_once(db, db_url, pg_server_url, sim, cdr_dir):
    """ESL cut and the engine's database away while calls end: the CDR files keep them; once the
    database is back they are stored, and once the switch is heard again applied, each once."""
    line = f.line(db, call_line=60)
    task = f.task(db, line, phones(60), maximumcall=60, call_notify_url="http://127.0.0.1:9/hook", call_notify_type=2)
    engine = engine_for(db, sim, cdr_dir)
    reader = engine.cdr_readers["fs1"]
    name = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    admin = psycopg.connect(pg_server_url, autocommit=True)

    def fresh(sql: str) -> list[tuple]:
        with psycopg.connect(db_url) as conn:
            return conn.execute(sql).fetchall()

    try:
        wait_for(lambda: talking(db, task) == 60, timeout=60)
        calls = [str(a["call_uuid"]) for a in f.attempts(db, task)]
        unheard = calls[:30]
        sim.refuse()
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        hang_up(sim, unheard)
        errors = reader.stored
        wait_for(lambda: reader.last_error is not None, timeout=30)
        assert reader.stored == errors  # nothing could be stored
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        wait_for(lambda: fresh("SELECT count(*) FROM call_cdr")[0][0] == 30, timeout=30)
        sim.refuse(False)
        wait_for(lambda: fresh("SELECT count(*) FROM call_attempt WHERE recovered")[0][0] == 30, timeout=30)
        hang_up(sim, calls[30:])
        wait_for(lambda: f.all_final(db, task), timeout=30)
        # The events may settle the last calls before the reader stores their CDRs.
        wait_for(lambda: fresh("SELECT count(*) FROM call_cdr")[0][0] == 60, timeout=30)
        # Read every file again from its start: nothing is stored or applied twice.
        fresh_before = fresh("SELECT id, status, recovered, ended_at FROM call_attempt ORDER BY id")
        with db.transaction() as conn:
            conn.execute("DELETE FROM cdr_file")
        stored = reader.stored
        assert reader.catch_up(10)
        assert engine.reconcile(engine.links["fs1"]) == 0
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        engine.stop()
    assert reader.stored == stored and fresh("SELECT count(*) FROM call_cdr")[0][0] == 60
    assert fresh("SELECT id, status, recovered, ended_at FROM call_attempt ORDER BY id") == fresh_before
    assert_true_outcomes(db, task, unheard, calls[30:])
    outbox = fresh("SELECT attempt_id, count(*) FROM notification_outbox GROUP BY attempt_id")
    assert len(outbox) == 60 and all(n == 1 for _, n in outbox)
    # The notification tells the unheard calls from the heard ones.
    said = dict(fresh("SELECT payload->'data'->>'call_uuid', (payload->'data'->>'recovered')::bool FROM notification_outbox"))
    assert said == {**{u: True for u in unheard}, **{u: False for u in calls[30:]}}


def test_a_cdr_that_comes_twice_or_after_the_events_changes_nothing(db, sim, cdr_dir):
    line = f.line(db, call_line=20)
    task = f.task(db, line, phones(20), maximumcall=20, call_notify_url="http://127.0.0.1:9/hook", call_notify_type=2)
    engine = engine_for(db, sim, cdr_dir)
    try:
        wait_for(lambda: talking(db, task) == 20, timeout=30)
        hang_up(sim, [str(a["call_uuid"]) for a in f.attempts(db, task)])
        wait_for(lambda: f.all_final(db, task), timeout=30)
        reader = engine.cdr_readers["fs1"]
        assert reader.catch_up(10) and reader.stored == 20
        before = f.attempts(db, task)
        master = cdr_dir / "Master.csv"
        master.write_bytes(master.read_bytes() * 2)  # every CDR again
        with db.transaction() as conn:
            conn.execute("DELETE FROM cdr_file")
        assert reader.catch_up(10) and reader.stored == 20
        with db.connection() as conn:  # and the stored CDRs offered to the recorder once more
            found = cdrs.of_calls(conn, [str(a["call_uuid"]) for a in before])
        assert len(found) == 20
        engine.recorder.apply_facts([fact_from_cdr(c) for c in found.values()])
    finally:
        engine.stop()
    after = f.attempts(db, task)
    assert [(a["status"], a["recovered"], a["ended_at"]) for a in after] == [
        (a["status"], a["recovered"], a["ended_at"]) for a in before]
    assert all(a["status"] == Status.ANSWERED and not a["recovered"] for a in after)
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM notification_outbox").fetchone()["n"] == 20
        assert conn.execute("SELECT count(*) AS n FROM call_cdr").fetchone()["n"] == 20
