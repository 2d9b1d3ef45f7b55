"""Contact caps of a tenant, counted from its attempts: a number over a cap waits, it is not blocked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.rows import ContactCaps
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import claims, dnc
from tests import factories as f
from tests.helpers import wait_for


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def engine_for(db, switch):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=200,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    settings = Settings(engine_id="e1", job_grace_s=0.3, reconcile_after_s=0.5, tick_s=0.02, notify=False)
    return Engine(db, settings, [node]).start()


def policy(db, **values):
    f.tenant(db, "t1")
    with db.transaction() as conn:
        dnc.set_policy(conn, "t1", values)


def test_a_cap_reached_moves_the_next_attempt(db, sim):
    policy(db, max_attempts_day=2)
    rule = f.rule(db, {int(Status.BUSY): (0.001, 5)}, max_attempts=6)  # busy: again after 60 ms, 5 times
    task = f.task(db, f.line(db), ["13800000001"], auto_recycle_rule_id=rule)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: (n := f.numbers(db, task)["13800000001"])["attempts"] == 2 and n["next_attempt_at"] is not None
                 and n["next_attempt_at"] > datetime.now(UTC) + timedelta(hours=23), timeout=30)
        before = engine.dialer.ticks
        wait_for(lambda: engine.dialer.ticks > before + 30, timeout=30)
    finally:
        engine.stop()
    number = f.numbers(db, task)["13800000001"]
    first, second = f.attempts(db, task)
    # Two calls in 24 hours: the third waits until the first is a day old; the number keeps its status.
    assert (number["status"], number["attempts"]) == (Status.BUSY, 2)
    assert number["next_attempt_at"] == first["originated_at"] + timedelta(days=1)
    assert sim.originates == 2 and second["attempt_no"] == 2


def test_the_caps_count_every_task_of_the_tenant(db, sim):
    policy(db, max_attempts_week=1)
    line = f.line(db)
    first = f.task(db, line, ["13800000009", "13800000019"])
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, first), timeout=30)
        second = f.task(db, line, ["13800000009", "13800000029"])  # the same number, in another task
        wait_for(lambda: f.numbers(db, second)["13800000029"]["status"] == Status.ANSWERED
                 and f.numbers(db, second)["13800000009"]["next_attempt_at"] is not None, timeout=30)
    finally:
        engine.stop()
    again = f.numbers(db, second)["13800000009"]
    [earlier] = [a for a in f.attempts(db, first) if a["phone"] == "13800000009"]
    assert (again["status"], again["attempts"]) == (Status.PENDING, 0)
    assert again["next_attempt_at"] == earlier["originated_at"] + timedelta(days=7)
    assert [a["phone"] for a in f.attempts(db, second)] == ["13800000029"]


def abandoned_call(db, task, phone, hours_ago):
    """An attempt of ``phone`` abandoned ``hours_ago`` (as the recorder leaves one); returns its time."""
    with db.transaction() as conn:
        at = datetime.now(UTC) - timedelta(hours=hours_ago)
        conn.execute(
            """INSERT INTO call_attempt (task_id, line_id, attempt_no, call_uuid, node, engine, status, originated_at,
                                         answered_at, ended_at, abandoned, user_id, phone)
               SELECT %s, caller_line_id, 1, %s, 'fs1', 'e0', 17, %s, %s, %s, true, 't1', %s FROM task WHERE uuid = %s""",
            (task, uuid.uuid4(), at, at, at, phone, task))
    return at


def test_an_abandoned_calls_number_rests_72_hours_unless_the_task_may_recall_it(db):
    task = f.task(db, f.line(db), ["13800000001", "13800000002"], start=0)
    at = abandoned_call(db, task, "13800000001", hours_ago=10)
    abandoned_call(db, task, "13800000002", hours_ago=80)  # its rest is over
    with db.transaction() as conn:
        got = {r.phone: r for r in claims.claim_numbers(conn, task, 10, False, "t1", caps=ContactCaps())}
    assert got["13800000001"].waits and not got["13800000002"].waits
    assert f.numbers(db, task)["13800000001"]["next_attempt_at"] == at + timedelta(hours=72)
    # A task that may recall abandoned numbers (recall_abandoned: its caps carry no rest) calls it.
    with db.transaction() as conn:
        conn.execute("UPDATE task_number SET next_attempt_at = NULL")
        again = claims.claim_numbers(conn, task, 10, False, "t1", caps=ContactCaps(rest_h=None))
    assert [(r.phone, r.waits) for r in again] == [("13800000001", False)]


def test_a_number_on_a_list_is_refused_before_any_cap_makes_it_wait(db):
    task = f.task(db, f.line(db), ["13800000001"], start=0)
    abandoned_call(db, task, "13800000001", hours_ago=1)
    with db.transaction() as conn:
        lst = dnc.create_list(conn, None, "register")
        dnc.add_entries(conn, lst["id"], [dnc.Entry("+8613800000001")])
        [row] = claims.claim_numbers(conn, task, 10, False, "t1", caps=ContactCaps())
    assert (row.dnc_list_id, row.waits) == (lst["id"], False)
