"""Do-not-call lists: checked inside the claim statement, every time a number is about to be dialled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import claims, dnc
from eslbridge.store.dnc import Entry
from eslbridge.store.statements import SQL
from eslbridge.zones import e164
from tests import factories as f
from tests.helpers import wait_for


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def engine_for(db, switch, **settings):
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=200,
                      backoff_base_s=0.05, backoff_cap_s=0.2)
    base = {"engine_id": "e1", "job_grace_s": 0.3, "reconcile_after_s": 0.5, "tick_s": 0.02, "notify": False}
    return Engine(db, Settings(**{**base, **settings}), [node]).start()


def listed(db, user, name, *phones, **entry):
    """A list holding ``phones`` (stored forms, kept as +E.164 as every way in keeps them)."""
    with db.transaction() as conn:
        lst = dnc.create_list(conn, user, name)
        dnc.add_entries(conn, lst["id"], [Entry(e164(p, "CN"), **entry) for p in phones])
    return lst["id"]


def claim(db, task, n=100, user="t1"):
    with db.transaction() as conn:
        return claims.claim_numbers(conn, task, n, False, user)


def test_a_listed_number_is_claimed_with_the_list_that_refuses_it(db):
    # A landline stored with its trunk prefix and a number stored as +E.164 meet entries of the same numbers.
    task = f.task(db, f.line(db), ["13800000000", "13800000001", "13800000002", "13800000003", "01012345678",
                                   "+8613900000009"], start=0)
    f.tenant(db, "t2")
    own = listed(db, "t1", "own", "13800000001")
    operator = listed(db, None, "operator", "13800000002", "13800000001")
    listed(db, "t2", "another tenant's", "13800000003")
    listed(db, "t1", "expired", "13800000000", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    landline = listed(db, "t1", "by hand", "+861012345678", "13900000009")
    got = {r.phone: r.dnc_list_id for r in claim(db, task)}
    # Another tenant's list and an expired entry stop nothing.
    assert got == {"13800000000": None, "13800000001": min(own, operator), "13800000002": operator,
                   "13800000003": None, "01012345678": landline, "+8613900000009": landline}


def test_the_claim_checks_the_lists_with_an_index_probe_per_number(db):
    """10,000,000 entries cost a claim what 100,000 do: one probe of the entries' primary key per
    claimed number, never a scan of a list (the plan of the statement the dialer runs)."""
    task = f.task(db, f.line(db), [f"1390000{i:04d}" for i in range(500)], start=0)
    with db.transaction() as conn:
        lst = dnc.create_list(conn, "t1", "big")
        dnc.fill(conn, lst["id"], 13_000_000_000, 100_000)  # +8613000000000 …
        conn.execute("ANALYZE dnc_entry")
    with db.connection() as conn, conn.transaction(force_rollback=True):
        picked = conn.execute(SQL["pick_pending_in_zone"],
                              {"task": task, "zone": "Asia/Shanghai", "from": 0, "n": 500}).fetchall()
        params = {"ids": [r["id"] for r in picked], "phones": [r["phone"] for r in picked], "user": "t1",
                  "cc": "86", "trunk": "0", "capped": True, "counted": True, "window_h": 168, "per_day": 3,
                  "per_week": 5, "rest_h": 72}
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + SQL["take_numbers"], params).fetchone()
    nodes = list(plan_nodes(plan["QUERY PLAN"][0]["Plan"]))
    on_entries = [n for n in nodes if n.get("Relation Name") == "dnc_entry"]
    assert [n["Node Type"] for n in on_entries] == ["Index Scan"]
    assert on_entries[0]["Index Name"] == "dnc_entry_pkey" and on_entries[0]["Actual Loops"] == 500
    assert "phone" in on_entries[0]["Index Cond"]
    # The contact caps read the tenant's recent attempts of each number through their index, too.
    on_attempts = [(n["Node Type"], n["Index Name"], n["Actual Loops"]) for n in nodes
                   if n.get("Relation Name") == "call_attempt"]
    assert on_attempts == [("Index Scan", "call_attempt_contacts", 500)]
    # (The 500-number task_number of this test may be read whole; a task's table of millions is not.)
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in ("dnc_entry", "call_attempt")]
    # With the 72-hour rest alone (no cap per day or week), a tenant that had no abandoned call lately
    # costs the claim one probe of the abandoned calls' index, and none per number.
    with db.connection() as conn, conn.transaction(force_rollback=True):
        rest_only = {**params, "counted": False, "per_day": None, "per_week": None, "window_h": 72}
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + SQL["take_numbers"], rest_only).fetchone()
    on_attempts = sorted((n["Index Name"], n["Actual Loops"]) for n in plan_nodes(plan["QUERY PLAN"][0]["Plan"])
                         if n.get("Relation Name") == "call_attempt")
    assert on_attempts == [("call_attempt_abandoned", 1), ("call_attempt_contacts", 0)]


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def test_an_entry_added_while_the_task_runs_stops_the_next_call(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.05, 3)}, max_attempts=4)  # a busy number is called again after 3 s
    task = f.task(db, f.line(db), ["13800000001", "13800000000"], auto_recycle_rule_id=rule,
                  call_notify_url="http://127.0.0.1:9/hook", call_notify_type=2)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.numbers(db, task)["13800000001"]["next_attempt_at"] is not None, timeout=30)
        list_id = listed(db, "t1", "complaints", "13800000001", reason="asked on the call")
        wait_for(lambda: f.all_final(db, task), timeout=30)
    finally:
        engine.stop()
    busy = f.numbers(db, task)["13800000001"]
    assert (busy["status"], busy["last_cause"], busy["next_attempt_at"]) == (Status.BLOCKED, "DNC", None)
    first, second = [a for a in f.attempts(db, task) if a["number_id"] == busy["id"]]
    assert (first["status"], first["dnc_checked"], first["dnc_list_id"]) == (Status.BUSY, True, None)
    assert (second["status"], second["hangup_cause"], second["dnc_list_id"]) == (Status.BLOCKED, "DNC", list_id)
    assert second["ended_at"] is not None and second["answered_at"] is None
    # Two originates reached the switch: the first call of each number. The refused claim never did.
    assert sim.originates == 2
    with db.connection() as conn:
        notes = conn.execute("SELECT payload FROM notification_outbox WHERE attempt_id = %s", (second["id"],)).fetchall()
    [note] = [n["payload"]["data"] for n in notes]
    assert (note["status"], note["status_name"], note["hangup_cause"], note["originated_at"], note["retry"]) == (
        18, "blocked", "DNC", None, False)


def test_a_listed_number_is_never_originated_and_every_outcome_is_notified(db, sim):
    phones = [f"1380000{i:04d}" for i in range(40)]
    task = f.task(db, f.line(db, call_line=20), phones, maximumcall=20, call_notify_url="http://127.0.0.1:9/hook",
                  call_notify_type=2)
    listed(db, None, "operator", *phones[::4])
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
    nums = f.numbers(db, task)
    assert {p for p, r in nums.items() if r["status"] == Status.BLOCKED} == set(phones[::4])
    assert sim.originates == 30
    with db.connection() as conn:
        notified = conn.execute("SELECT count(*) AS n FROM notification_outbox WHERE task_id = %s", (task,)).fetchone()
    assert notified["n"] == 40
