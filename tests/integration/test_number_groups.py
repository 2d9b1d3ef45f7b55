"""Caller-id number groups: the day's counters the engines share, the API's and apply's groups."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from eslbridge.cli import main
from eslbridge.store import number_groups as store
from tests import factories as f
from tests.helpers import wait_for
from tests.integration.test_api import LINE, must, setup_tenant, task_body
from tests.integration.test_cli import document, env  # noqa: F401 (a fixture)
from tests.integration.test_engine import engine_for
from tests.integration.test_seeds import originates_of

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "notification.schema.json").read_text())

pytestmark = pytest.mark.db


def test_picks_are_counted_per_day_and_refused_past_a_cap(db):
    g = f.number_group(db, {"01012345678": 2, "075588888888": None})
    with db.transaction() as conn:
        rows = {r["caller_id"]: r for r in store.use_caller_ids(conn, g, {"01012345678": 2, "075588888888": 5})}
    assert rows["01012345678"]["took"] and rows["01012345678"]["calls"] == 2 and rows["01012345678"]["cap"] == 2
    assert rows["075588888888"]["took"] and rows["075588888888"]["calls"] == 5
    with db.transaction() as conn:
        again = {r["caller_id"]: r for r in store.use_caller_ids(conn, g, {"01012345678": 1, "075588888888": 1,
                                                                           "02000000000": 1})}
    assert not again["01012345678"]["took"] and again["01012345678"]["calls"] == 2  # at its cap
    assert again["075588888888"]["took"] and again["075588888888"]["calls"] == 6  # no cap
    assert not again["02000000000"]["took"] and again["02000000000"]["day"] is None  # not in the group
    with db.connection() as conn:
        used = {r["caller_id"]: r["used_today"] for r in store.group_numbers(conn, [g])[g]}
    assert used == {"01012345678": 2, "075588888888": 6}


def test_a_cap_holds_between_two_engines_claiming_at_once(db):
    g = f.number_group(db, {"01012345678": 3})
    results: dict[str, bool] = {}
    a_in, release = threading.Event(), threading.Event()

    def claim(name: str, hold: bool) -> None:
        with db.transaction() as conn:
            results[name] = store.use_caller_ids(conn, g, {"01012345678": 2})[0]["took"]
            if hold:  # the counter row stays locked until the claim commits
                a_in.set()
                release.wait(20)

    a = threading.Thread(target=claim, args=("a", True))
    a.start()
    assert a_in.wait(20)
    b = threading.Thread(target=claim, args=("b", False))
    b.start()

    def b_waits_for_the_row() -> bool:
        with db.connection() as conn:
            return conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'").fetchone()["n"] == 1

    wait_for(b_waits_for_the_row)
    release.set()
    a.join(20)
    b.join(20)
    assert results == {"a": True, "b": False}  # b waited for a's commit, saw 2, and 2 + 2 > 3
    with db.connection() as conn:
        assert store.group_numbers(conn, [g])[g][0]["used_today"] == 2


def test_replacing_a_groups_numbers_keeps_the_days_counts(db):
    g = f.number_group(db, {"01012345678": 5, "02000000000": None})
    with db.transaction() as conn:
        store.use_caller_ids(conn, g, {"01012345678": 4})
        store.replace_group_numbers(conn, g, [{"caller_id": "01012345678", "daily_cap": 4}])
    with db.connection() as conn:
        rows = store.group_numbers(conn, [g])[g]
    assert [(r["caller_id"], r["daily_cap"], r["used_today"]) for r in rows] == [("01012345678", 4, 4)]


# -- the API: a tenant's own groups -------------------------------------------------------------
def test_a_number_group_is_created_read_updated_and_deleted_by_its_tenant_only(api, db):
    a, b = api.a, api.b
    world = setup_tenant(a)
    group = must(a.post("/v1/number_group", {"name": "深圳外显", "timezone": "Asia/Shanghai", "numbers": [
        "075588888888", {"caller_id": "01012345678", "daily_cap": "100"}]}))
    assert group["name"] == "深圳外显" and group["user_id"] == "tenant-a"
    assert group["numbers"] == [{"caller_id": "01012345678", "daily_cap": 100, "used_today": 0},
                                {"caller_id": "075588888888", "daily_cap": None, "used_today": 0}]
    gid = group["id"]
    assert must(a.get(f"/v1/number_group/{gid}"))["numbers"] == group["numbers"]
    assert [g["id"] for g in must(a.get("/v1/number_group"))["list"]] == [gid]
    # Another tenant neither sees nor touches it.
    assert must(b.get("/v1/number_group"))["total"] == 0
    for method, call in (("GET", lambda p: b.get(p)), ("PUT", lambda p: b.put(p, {"name": "mine"})),
                         ("DELETE", lambda p: b.delete(p))):
        status, resp = call(f"/v1/number_group/{gid}")
        assert status == 404 and resp["data"] is None, (method, resp)
    # Numbers given replace the group's; what is not given stays.
    updated = must(a.put(f"/v1/number_group/{gid}", {"numbers": [{"caller_id": "02088888888", "daily_cap": 5}]}))
    assert updated["name"] == "深圳外显" and updated["numbers"] == [
        {"caller_id": "02088888888", "daily_cap": 5, "used_today": 0}]
    # A's task may name it; B's task may not (another tenant's id names nothing).
    task = must(a.post("/v1/task", task_body(world, outbound_number_group_id=str(gid), strategy_display_switch=True)))
    assert (task["outbound_number_group_id"], task["strategy_display_switch"]) == (str(gid), True)
    b_line = must(b.post("/v1/caller_line", {**LINE, "name": "B"}))
    status, resp = b.post("/v1/task", {"name": "b", "caller_line_id": b_line["id"], "destination_extension": "9000",
                                       "disable_dial_timegroup": must(b.post("/v1/disable_dial_timegroup", {"name": "t"}))["uuid"],
                                       "maximumcall": 1, "random_assignment_number": 0, "recycle_limit": 0,
                                       "_originate_timeout": 30, "call_pause_second": 0, "outbound_number_group_id": gid})
    assert status == 400 and resp["message"] == "outbound_number_group_id: names no number group of this tenant", resp
    # A group a task names is not deleted from under it.
    status, resp = a.delete(f"/v1/number_group/{gid}")
    assert status == 409 and "still used by a task" in resp["message"]
    must(a.put(f"/v1/task/{task['uuid']}", {"outbound_number_group_id": None}))
    must(a.delete(f"/v1/number_group/{gid}"))
    assert must(a.get("/v1/number_group"))["total"] == 0
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM number_group_number").fetchone()["n"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "g", "numbers": ["0755-8888 8888"]}, "numbers.0.caller_id: must be digits with an optional leading '+'"),
        ({"name": "g", "numbers": ["${system(id)}"]}, "numbers.0.caller_id"),
        ({"name": "g", "numbers": ["01012345678", {"caller_id": "01012345678"}]}, "numbers: caller id 01012345678 appears twice"),
        ({"name": "g", "numbers": [{"caller_id": "01012345678", "daily_cap": 0}]}, "numbers.0.daily_cap"),
        ({"name": "g", "timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"numbers": []}, "name: Field required"),
        ({"name": "g", "colour": "red"}, "colour: unknown field"),
    ],
    ids=["separators", "expansion", "twice", "cap-0", "timezone", "no-name", "unknown"],
)
def test_a_bad_number_group_is_refused_naming_the_field(api, body, message):
    status, resp = api.a.post("/v1/number_group", body)
    assert status == 400 and resp["message"].startswith(message), resp


def test_a_task_naming_an_empty_group_or_on_a_line_without_caller_id_is_refused(api):
    world = setup_tenant(api.a)
    empty = must(api.a.post("/v1/number_group", {"name": "empty"}))
    status, resp = api.a.post("/v1/task", task_body(world, outbound_number_group_id=empty["id"]))
    assert status == 400 and resp["message"] == f"outbound_number_group_id: number group {empty['id']} has no numbers"
    full = must(api.a.post("/v1/number_group", {"name": "full", "numbers": ["01012345678"]}))
    hidden = must(api.a.post("/v1/caller_line", {**LINE, "name": "hidden", "is_call_number_enable": 0}))
    status, resp = api.a.post("/v1/task", task_body(world, caller_line_id=hidden["id"], outbound_number_group_id=full["id"]))
    assert status == 400 and "is_call_number_enable 0" in resp["message"]


# -- eslbridge apply ----------------------------------------------------------------------------
def test_apply_writes_number_groups_and_the_tasks_that_show_them(env, tmp_path, capsys, db):  # noqa: F811
    doc = document(outbound_number_group_id=1070678044124225, strategy_display_switch=True)
    doc["number_groups"] = [{"id": 1070678044124225, "user_id": "acme", "name": "外显", "numbers": [
        "075588888888", {"caller_id": "01012345678", "daily_cap": 300}]}]
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) == 0
    assert "number_group 1070678044124225 (2 numbers)" in capsys.readouterr().out
    with db.connection() as conn:
        task = conn.execute("SELECT outbound_number_group_id, strategy_display_switch FROM task").fetchone()
        numbers = conn.execute("SELECT caller_id, daily_cap FROM number_group_number ORDER BY caller_id").fetchall()
    assert task == {"outbound_number_group_id": "1070678044124225", "strategy_display_switch": True}
    assert numbers == [{"caller_id": "01012345678", "daily_cap": 300}, {"caller_id": "075588888888", "daily_cap": None}]
    # Applied again with fewer numbers: the group's numbers are the file's.
    doc["number_groups"][0]["numbers"] = ["075588888888"]
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) == 0
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM number_group_number").fetchone()["n"] == 1
        # An id a file chose is not handed out again.
        assert conn.execute("INSERT INTO number_group (user_id, name) VALUES ('acme', 'next') RETURNING id"
                            ).fetchone()["id"] > 1070678044124225


def test_apply_refuses_a_task_naming_a_group_it_does_not_have(env, tmp_path, capsys):  # noqa: F811
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document(outbound_number_group_id="42")))
    assert main(["apply", str(path)]) != 0
    assert capsys.readouterr().err.strip().endswith("tasks.0.outbound_number_group_id: names no number group of this tenant")


# -- the engine: the caller id on the originate, the attempt and the notification ----------------
SHENZHEN, BEIJING, LONDON, HANGZHOU = "075588880001", "01088880001", "+442079460001", "057188880001"


@pytest.fixture
def sim():
    from eslbridge.sim.server import SimConfig, Switch

    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def shown_by_phone(db, task: str) -> dict[str, str | None]:
    with db.connection() as conn:
        rows = conn.execute("SELECT n.phone, a.caller_id_shown FROM call_attempt a JOIN task_number n ON n.id = a.number_id "
                            "WHERE a.task_id = %s ORDER BY a.id", (task,)).fetchall()
    return {r["phone"]: r["caller_id_shown"] for r in rows}


def test_each_call_shows_the_groups_number_that_best_fits_the_callee(db, sim, env, capsys):  # noqa: F811
    seen = originates_of(sim)
    group = f.number_group(db, {SHENZHEN: None, BEIJING: 1, LONDON: None, HANGZHOU: None}, timezone="Asia/Shanghai")
    line = f.line(db, call_line=10, call_number="13530525008")
    callees = {
        "075512345679": SHENZHEN,  # Shenzhen: the same city
        "075712345679": SHENZHEN,  # Foshan: no number there, Guangdong's
        "+442071234569": LONDON,  # London: the same area code
        "01012345679": BEIJING,  # Beijing (its cap: 1 a day)
        "01012345689": HANGZHOU,  # Beijing again: at its cap, so the least used today
    }
    task = f.task(db, line, list(callees), maximumcall=10, call_notify_url="http://127.0.0.1:9/hook",
                  call_notify_type=2, outbound_number_group_id=str(group), strategy_display_switch=True)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
    # What FreeSWITCH received, what the attempts recorded, what the notifications say.
    on_the_wire = {v["eslbridge_number"]: v["origination_caller_id_number"] for v in seen}
    numbers = f.numbers(db, task)
    assert {phone: on_the_wire[str(numbers[phone]["id"])] for phone in callees} == callees
    assert shown_by_phone(db, task) == callees
    with db.connection() as conn:
        notes = [r["payload"] for r in conn.execute("SELECT payload FROM notification_outbox WHERE task_id = %s", (task,))]
        used = {r["caller_id"]: r["used_today"] for r in store.group_numbers(conn, [group])[group]}
    assert {n["data"]["phone"]: n["data"]["caller_id_shown"] for n in notes} == callees
    for note in notes:
        jsonschema.validate(note, SCHEMA)
    assert used == {SHENZHEN: 2, BEIJING: 1, LONDON: 1, HANGZHOU: 1}  # the day's counters, the cap held
    # `eslbridge numbers list` shows it too.
    assert main(["numbers", "list", task, "--json"]) == 0
    listed = {x["phone"]: x["caller_id_shown"] for x in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed == callees


def test_switched_off_the_groups_numbers_take_turns_after_the_lines_prefix_and_caps_end_the_day(db, sim):
    seen = originates_of(sim)
    group = f.number_group(db, {"01088880001": None, "02088880001": 2, "057188880001": None})
    with db.transaction() as conn:  # used most today already: turns, unlike the fitting pick, do not mind
        conn.execute("INSERT INTO caller_id_use (user_id, caller_id, day, calls) VALUES ('t1', '01088880001', current_date, 50)")
    line = f.line(db, call_line=10, call_number_prefix="9")
    task = f.task(db, line, [f"1380000000{i}9" for i in range(7)], maximumcall=1,
                  outbound_number_group_id=str(group), strategy_display_switch=False)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
    with db.connection() as conn:
        order = [r["caller_id_shown"] for r in conn.execute(
            "SELECT caller_id_shown FROM call_attempt WHERE task_id = %s ORDER BY id", (task,))]
    assert order == ["901088880001", "902088880001", "9057188880001", "901088880001", "902088880001",
                     "9057188880001", "901088880001"]  # the Guangzhou number's cap (2) is spent: skipped
    assert [v["origination_caller_id_number"] for v in seen] == order


def test_a_group_whose_numbers_are_all_at_their_cap_dials_nothing_more_today(db, sim):
    group = f.number_group(db, {"01088880001": 2})
    line = f.line(db, call_line=10)
    task = f.task(db, line, [f"1380000000{i}9" for i in range(4)], maximumcall=4,
                  outbound_number_group_id=str(group))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: sum(n["status"] >= 10 for n in f.numbers(db, task).values()) == 2, timeout=60)
        ticks = engine.dialer.ticks
        wait_for(lambda: engine.dialer.ticks > ticks + 20)  # it goes on, and claims nothing more
    finally:
        engine.stop()
    statuses = sorted(n["status"] for n in f.numbers(db, task).values())
    assert statuses == [0, 0, 10, 10] and all(n["attempts"] <= 1 for n in f.numbers(db, task).values())
    assert [a["caller_id_shown"] for a in f.attempts(db, task)] == ["01088880001"] * 2


def test_another_tenants_group_is_never_shown(db, sim):
    seen = originates_of(sim)
    theirs = f.number_group(db, {"01088880001": None}, user="t2")
    line = f.line(db)
    task = f.task(db, line, ["13800000009"], outbound_number_group_id=str(theirs))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.plan_error(db, task) is not None)
    finally:
        engine.stop()
    assert f.plan_error(db, task) == "outbound_number_group_id: names no number group of this tenant"
    assert seen == [] and f.attempts(db, task) == []


def test_an_originate_freeswitch_refused_is_taken_back_from_the_days_count(db):
    from eslbridge.sim.server import SimConfig, Switch

    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=5)).start("127.0.0.1", 0)  # refuses past 5 a second
    try:
        group = f.number_group(db, {"01088880001": None, "02088880001": None})
        line = f.line(db, call_line=30)
        task = f.task(db, line, [f"138000000{i:02d}9" for i in range(30)], maximumcall=30,
                      outbound_number_group_id=str(group))
        engine = engine_for(db, switch, cps=1000)
        try:
            wait_for(lambda: f.all_final(db, task), timeout=60)
        finally:
            engine.stop()
    finally:
        switch.stop()
    attempts = f.attempts(db, task)
    assert len(attempts) == 30 and switch.originates > 30  # some originates were refused, then sent again
    with db.connection() as conn:
        used = {r["caller_id"]: r["used_today"] for r in store.group_numbers(conn, [group])[group]}
    assert used == dict(Counter(a["caller_id_shown"] for a in attempts))  # what was refused is not counted
