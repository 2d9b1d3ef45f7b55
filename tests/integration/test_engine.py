"""The engine end to end: real PostgreSQL, real sockets, the simulator playing FreeSWITCH."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC

import pytest

from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.script import Rules
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import tasks
from tests import factories as f
from tests.helpers import wait_for

EXPECTED_BY_DIGIT = {
    "0": Status.ANSWERED, "1": Status.BUSY, "2": Status.NO_ANSWER, "3": Status.INVALID, "4": Status.ANSWERED,
    "5": Status.REJECTED, "6": Status.ANSWERED, "7": Status.ANSWERED, "9": Status.ANSWERED,
}


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def engine_for(db, switch, engine_id="e1", cps=200.0, **settings):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=cps,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    base = {"engine_id": engine_id, "job_grace_s": 0.3, "reconcile_after_s": 0.5, "tick_s": 0.02, "notify": False}
    base.update(settings)
    return Engine(db, Settings(**base), [node]).start()


def run_until_final(db, switch, *tasks, timeout: float = 60, **settings) -> None:
    """Run an engine against ``switch`` until every number of ``tasks`` is final, then stop it."""
    engine = engine_for(db, switch, **settings)
    try:
        wait_for(lambda: all(f.all_final(db, t) for t in tasks), timeout=timeout)
    finally:
        engine.stop()


def phones(n: int, digits: str = "012345679") -> list[str]:
    return [f"1380000{i:03d}{digits[i % len(digits)]}" for i in range(n)]


def test_every_number_ends_in_the_status_its_outcome_gives(db, sim):
    line = f.line(db, call_line=20)
    task = f.task(db, line, phones(45), maximumcall=20)
    run_until_final(db, sim, task)
    nums = f.numbers(db, task)
    for phone, row in nums.items():
        assert row["status"] == EXPECTED_BY_DIGIT[phone[-1]], phone
        assert row["attempts"] == 1
    attempts = f.attempts(db, task)
    assert len(attempts) == 45 and all(a["ended_at"] is not None for a in attempts)
    busy = next(a for a in attempts if a["hangup_cause"] == "USER_BUSY")
    assert busy["status"] == Status.BUSY and busy["answered_at"] is None
    answered = [a for a in attempts if a["status"] == Status.ANSWERED]
    assert all(a["answered_at"] is not None for a in answered)


def test_shuffled_event_order_gives_the_same_outcomes(db):
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000, shuffle=True)).start("127.0.0.1", 0)
    line = f.line(db, call_line=20)
    task = f.task(db, line, phones(45), maximumcall=20)
    try:
        run_until_final(db, switch, task)
    finally:
        switch.stop()
    for phone, row in f.numbers(db, task).items():
        assert row["status"] == EXPECTED_BY_DIGIT[phone[-1]], phone


def test_task_and_line_limits_hold_across_two_tasks(db):
    switch = Switch(SimConfig(time_scale=0.05, heartbeat_s=0, sps=1000, rules=Rules(talk_s=2.0))).start("127.0.0.1", 0)
    line = f.line(db, call_line=6)
    t1 = f.task(db, line, phones(20, "0"), maximumcall=4)
    t2 = f.task(db, line, [p[:-1] + "9" for p in phones(20, "0")], maximumcall=4)
    engine = engine_for(db, switch)
    try:
        wait_for(lambda: f.all_final(db, t1) and f.all_final(db, t2), timeout=60)
    finally:
        engine.stop()
        switch.stop()
    a1, a2 = f.attempts(db, t1), f.attempts(db, t2)
    assert f.max_overlap([(a["originated_at"], a["ended_at"]) for a in a1]) <= 4
    assert f.max_overlap([(a["originated_at"], a["ended_at"]) for a in a2]) <= 4
    assert f.max_overlap([(a["originated_at"], a["ended_at"]) for a in a1 + a2]) <= 6
    # The limit was actually reached (the test could fail).
    assert f.max_overlap([(a["originated_at"], a["ended_at"]) for a in a1 + a2]) == 6


def test_busy_number_is_retried_after_its_interval(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.005, 2)}, max_attempts=3)
    line = f.line(db)
    task = f.task(db, line, ["13800000001", "13800000000"], auto_recycle_rule_id=rule)
    run_until_final(db, sim, task)
    nums = f.numbers(db, task)
    assert nums["13800000001"]["attempts"] == 3  # first try + 2 retries
    assert nums["13800000001"]["status"] == Status.BUSY
    assert nums["13800000001"]["retries"] == {"12": 2}
    assert nums["13800000000"]["attempts"] == 1
    tries = [a for a in f.attempts(db, task) if a["number_id"] == nums["13800000001"]["id"]]
    assert [a["attempt_no"] for a in tries] == [1, 2, 3]
    assert all((b["originated_at"] - a["ended_at"]).total_seconds() >= 0.25 for a, b in itertools.pairwise(tries))


def test_throttled_originates_are_not_attempts(db):
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=5)).start("127.0.0.1", 0)
    line = f.line(db, call_line=50)
    task = f.task(db, line, phones(40, "9"), maximumcall=50)
    engine = engine_for(db, switch, cps=500.0)  # faster than the switch allows, on purpose
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
        switch.stop()
    nums = f.numbers(db, task)
    assert all(r["attempts"] == 1 and r["status"] == Status.ANSWERED for r in nums.values())
    assert engine.recorder.requeued > 0  # the switch did refuse some
    assert len(f.attempts(db, task)) == 40


def test_originates_refused_in_their_reply_are_undone_and_dialled_again(db, sim, monkeypatch):
    """Batches are sent beside the dialer loop: a batch whose replies say -ERR is still
    undone (not attempts), and its numbers are claimed again."""
    from eslbridge.esl.client import CommandError
    from eslbridge.esl.link import NodeLink

    real = NodeLink.bgapi_many
    refused: list[str] = []

    def refuse_first(self, commands):
        if not refused:
            refused.extend(job for _, job in commands)
            return [CommandError("fs1: bgapi refused: -ERR test") for _ in commands]
        return real(self, commands)

    monkeypatch.setattr(NodeLink, "bgapi_many", refuse_first)
    line = f.line(db, call_line=10)
    task = f.task(db, line, phones(30, "0"), maximumcall=10)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
    assert refused  # the first batch was refused
    nums = f.numbers(db, task)
    assert all(r["attempts"] == 1 and r["status"] == Status.ANSWERED for r in nums.values())
    attempts = f.attempts(db, task)
    assert len(attempts) == 30
    assert not {a["call_uuid"] for a in attempts} & set(refused)
    assert engine.dialer.originated == 30


def test_two_engines_never_dial_one_number_twice_at_once(db, sim):
    line = f.line(db, call_line=8)
    task = f.task(db, line, phones(80, "09"), maximumcall=8)
    e1 = engine_for(db, sim, "e1")
    e2 = engine_for(db, sim, "e2")
    try:
        wait_for(lambda: f.all_final(db, task), timeout=90)
    finally:
        e1.stop()
        e2.stop()
    attempts = f.attempts(db, task)
    assert len(attempts) == 80 and {a["engine"] for a in attempts} == {"e1", "e2"}
    assert len({a["number_id"] for a in attempts}) == 80
    assert f.max_overlap([(a["originated_at"], a["ended_at"]) for a in attempts]) <= 8


def test_two_engines_share_a_nodes_calls_per_second(db, sim):
    """Each of n live engines paces itself at 1/n of the node's limit; a clean stop hands its share back."""
    line = f.line(db, call_line=50)
    task = f.task(db, line, phones(40, "09"), maximumcall=50, start=0)
    e1 = engine_for(db, sim, "e1", cps=10.0)
    e2 = engine_for(db, sim, "e2", cps=10.0)
    try:
        wait_for(lambda: e1.dialer.engines == 2 and e2.dialer.engines == 2)
        with db.transaction() as conn:
            tasks.set_task_start(conn, task, 1)
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        e2.stop()
    try:
        wait_for(lambda: e1.dialer.engines == 1)  # e2 retired: e1 takes the whole node again
    finally:
        e1.stop()
    times = sorted(a["originated_at"].timestamp() for a in f.attempts(db, task))
    assert len(times) == 40
    busiest = max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times))
    assert busiest <= 10 + 2  # the node's 10/s, plus each engine's one-call start burst


def test_a_full_task_is_not_claimed_for_until_a_call_ends(db, monkeypatch):
    """A claim that used the task's last free slot marks it full: ticks run no claim transaction
    for it (they could only find the slots taken) until a call ends, which frees one."""
    from eslbridge.dialer import loop

    switch = Switch(SimConfig(time_scale=1.0, heartbeat_s=0, sps=1000, rules=Rules(talk_s=600.0))).start("127.0.0.1", 0)
    line = f.line(db)
    task = f.task(db, line, phones(5, "0"), maximumcall=2)
    engine = engine_for(db, switch)
    claims = []
    engine.dialer.observe_claim = claims.append
    try:
        wait_for(lambda: len(f.attempts(db, task)) == 2 and engine.dialer.full.get(task) == engine.dialer.freed)
        monkeypatch.setattr(loop, "TASK_REFRESH_S", 3600.0)  # no task-list refresh from here on
        before, ticks = len(claims), engine.dialer.ticks
        wait_for(lambda: engine.dialer.ticks >= ticks + 20)
        assert len(claims) == before  # twenty ticks, no claim
        assert len(f.attempts(db, task)) == 2
        first = f.attempts(db, task)[0]["call_uuid"]
        engine.links["fs1"].api(f"uuid_kill {first}")
        wait_for(lambda: len(f.attempts(db, task)) == 3)  # the ended call's slot went to the next number
        assert len(claims) > before
        assert sum(1 for a in f.attempts(db, task) if a["ended_at"] is None) == 2
    finally:
        engine.stop()
        switch.stop()


def test_stopping_a_task_stops_new_calls_but_records_calls_in_flight(db):
    switch = Switch(SimConfig(time_scale=0.1, heartbeat_s=0, sps=1000, rules=Rules(talk_s=3.0))).start("127.0.0.1", 0)
    line = f.line(db)
    task = f.task(db, line, phones(30, "0"), maximumcall=3)
    engine = engine_for(db, switch)
    try:
        wait_for(lambda: len(f.attempts(db, task)) >= 3)
        with db.transaction() as conn:
            conn.execute("UPDATE task SET start = 0 WHERE uuid = %s", (task,))
        wait_for(lambda: all(a["ended_at"] for a in f.attempts(db, task)), timeout=30)
        dialled = len(f.attempts(db, task))
        assert dialled < 30
        assert all(a["status"] == Status.ANSWERED for a in f.attempts(db, task))
    finally:
        engine.stop()
        switch.stop()
    assert sum(1 for r in f.numbers(db, task).values() if r["status"] == Status.PENDING) == 30 - dialled


def test_hostile_originate_variables_never_reach_freeswitch(db, sim, caplog):
    line = f.line(db)
    task = f.task(db, line, phones(3), originate_variables="{api_on_answer=system rm -rf /}")
    engine = engine_for(db, sim)
    try:
        with caplog.at_level(logging.ERROR, logger="eslbridge.dialer.loop"):
            wait_for(lambda: f.plan_error(db, task))
    finally:
        engine.stop()
    assert sim.originates == 0
    assert f.plan_error(db, task) == "originate_variables: variable 'api_on_answer' is not allowed"
    logged = [r.getMessage() for r in caplog.records if task in r.getMessage()]
    assert len(logged) == 1 and "api_on_answer" in logged[0]  # said once, not on every refresh
    assert all(r["status"] == Status.PENDING and r["attempts"] == 0 for r in f.numbers(db, task).values())
    assert f.attempts(db, task) == []  # nothing claimed and undone


def test_engine_started_while_freeswitch_is_down_dials_once_it_is_up(db, free_port):
    line = f.line(db)
    task = f.task(db, line, phones(5, "9"))
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000))
    engine = engine_for(db, type("Down", (), {"address": ("127.0.0.1", free_port)})())
    try:
        wait_for(lambda: engine.links["fs1"].backoff.attempts >= 2)
        assert f.attempts(db, task) == []  # nothing claimed while the node is down
        switch.start("127.0.0.1", free_port)
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
        switch.stop()
    assert all(r["status"] == Status.ANSWERED and r["attempts"] == 1 for r in f.numbers(db, task).values())


def test_expired_line_does_not_dial(db, sim):
    from datetime import datetime, timedelta

    line = f.line(db, deadline_at=datetime.now(UTC) - timedelta(minutes=1))
    task = f.task(db, line, phones(3, "9"))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: any(p.task_id == task for p in engine.dialer.tasks))  # planned, not refused
        wait_for(lambda: engine.dialer.ticks > 5)
        plan = next(p for p in engine.dialer.tasks if p.task_id == task)
        assert plan.schedule.why_not(datetime.now(UTC)) == "line expired"
    finally:
        engine.stop()
    assert sim.originates == 0 and f.attempts(db, task) == []


def test_engine_process_sigkilled_with_100_calls_up_and_restarted(db, db_url, tmp_path):
    """A real `eslbridge run` is killed with SIGKILL while 100 calls are up; a new one with the
    same engine id takes over: every call is recorded once, none is dialled twice."""
    import os
    import signal
    import subprocess
    import sys

    switch = Switch(SimConfig(time_scale=1.0, heartbeat_s=0, sps=1000, max_sessions=1000, rules=Rules(talk_s=8.0))).start("127.0.0.1", 0)
    line = f.line(db, call_line=100)
    task = f.task(db, line, phones(100, "0"), maximumcall=100)
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": db_url, "ESLBRIDGE_FS_HOST": "127.0.0.1",
           "ESLBRIDGE_FS_PORT": str(switch.address[1]), "ESLBRIDGE_FS_CPS": "500", "ESLBRIDGE_ENGINE_ID": "e-kill",
           "ESLBRIDGE_NOTIFY": "false", "ESLBRIDGE_RECONCILE_AFTER_S": "1", "ESLBRIDGE_JOB_GRACE_S": "0.5"}

    log = open(tmp_path / "engine.log", "ab")  # noqa: SIM115 - closed in finally

    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "eslbridge", "run"], env=env, stdout=subprocess.DEVNULL, stderr=log)

    first = start()
    second = None
    try:
        wait_for(lambda: sum(1 for r in f.numbers(db, task).values() if r["status"] == Status.TALKING) == 100, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert switch.session_count() == 200  # the calls are still up on FreeSWITCH
        second = start()
        wait_for(lambda: f.all_final(db, task), timeout=90)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        switch.stop()
        log.close()
    attempts = f.attempts(db, task)
    assert len(attempts) == 100 and switch.originates == 100
    assert all(a["status"] == Status.ANSWERED and a["hangup_cause"] == "NORMAL_CLEARING" and a["billsec"] >= 7 for a in attempts)
    assert all(r["attempts"] == 1 for r in f.numbers(db, task).values())


def test_line_calls_per_second_cap_is_honoured(db, sim):
    line = f.line(db, call_line=50, cps=5)
    task = f.task(db, line, phones(20, "9"), maximumcall=50)
    run_until_final(db, sim, task, cps=1000)
    starts = sorted(a["originated_at"] for a in f.attempts(db, task))
    # In any one-second window, at most 5 new calls (plus the bucket's single burst token).
    from datetime import timedelta

    busiest = max(sum(1 for t in starts if s <= t < s + timedelta(seconds=1)) for s in starts)
    assert busiest <= 6


def test_a_task_paced_by_calls_per_second_claims_a_quantum_of_calls_at_a_time(db):
    """At 200 calls a second a claim waits for 50 ms of tokens (10 calls), not one transaction a
    token: 300 calls take a few dozen claims, every number dialled once."""
    from eslbridge.dialer import loop

    switch = Switch(SimConfig(time_scale=0, heartbeat_s=0, sps=100_000, max_sessions=100_000)).start("127.0.0.1", 0)
    line = f.line(db, call_line=100)
    task = f.task(db, line, phones(300, "0"), maximumcall=100)
    engine = engine_for(db, switch, cps=200.0)
    claims, reads = [], []
    engine.dialer.observe_claim = claims.append
    plan = engine.dialer.plan
    engine.dialer.plan = lambda rows: (reads.append(1), plan(rows))[1]  # each task-list read
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
        switch.stop()
    quantum = int(200 * loop.CLAIM_QUANTUM_S)
    assert quantum == 10
    assert len(f.attempts(db, task)) == 300
    assert all(r["status"] == Status.ANSWERED for r in f.numbers(db, task).values())
    # Every claim takes a quantum or more, but the first after each task-list read (which drops
    # the floor) and the last ones (fewer numbers left).
    assert len(claims) <= 300 // quantum + len(reads) + 2
    assert len(claims) < 100  # a claim a token or two would take a hundred or more


def test_a_task_with_nothing_to_call_is_claimed_for_once_per_task_list_read(db, sim, monkeypatch):
    """A claim that found fewer numbers than it asked for marks the task dry: no claim transaction
    for it until the task list is read again, which then finds numbers imported meanwhile."""
    from eslbridge.dialer import loop
    from eslbridge.store import imports

    line = f.line(db)
    task = f.task(db, line, [], maximumcall=5)
    engine = engine_for(db, sim)
    claims = []
    engine.dialer.observe_claim = claims.append
    try:
        wait_for(lambda: task in engine.dialer.dry)  # read and claimed for once
        monkeypatch.setattr(loop, "TASK_REFRESH_S", 3600.0)  # no task-list read from here on
        # Two ticks on, a read that was under way has ended (it forgets which tasks are dry).
        ticks = engine.dialer.ticks
        wait_for(lambda: engine.dialer.ticks >= ticks + 2 and task in engine.dialer.dry)
        before, ticks = len(claims), engine.dialer.ticks
        with db.transaction() as conn:
            imports.import_numbers(conn, task, phones(3, "0"))
        wait_for(lambda: engine.dialer.ticks >= ticks + 20)
        assert len(claims) == before and f.attempts(db, task) == []  # twenty ticks, no claim
        monkeypatch.setattr(loop, "TASK_REFRESH_S", 0.0)  # the next tick reads the task list
        wait_for(lambda: f.all_final(db, task))
        assert len(f.attempts(db, task)) == 3 and len(claims) > before
    finally:
        engine.stop()
