"""The two vendor documents taken to the letter, with their own example values (SPEC §2–§7).

A client written against seed 000 or seed 001 must work unchanged: the numbers
it imports are dialled as a dialler needs them, the shapes it reads are the
seed's, what it reads it can send back, and the fields it sets do what they say
(or are documented as informational).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from eslbridge.causes import Status
from eslbridge.cli import main
from eslbridge.sim.script import parse_originate
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import claims
from eslbridge.store import tasks as task_store
from tests import factories as f
from tests.helpers import wait_for
from tests.integration.test_api import LINE, must, setup_tenant, task_body
from tests.integration.test_cli import document, env  # noqa: F401 (a fixture)
from tests.integration.test_engine import engine_for, phones, run_until_final

SEED_IMPORT = [{"phone": 18611228822}, {"phone": 18611228811}, {"phone": 18611228800}, {"phone": 18611228899}]


@pytest.fixture
def world(api):
    return setup_tenant(api.a)


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


def new_task(api, world, line=None, **over) -> str:
    body = task_body(world, **over)
    if line is not None:
        body["caller_line_id"] = line["id"]
    return must(api.a.post("/v1/task", body))["uuid"]


def imported(api, tid: str, raw: list) -> dict:
    return must(api.a.post(f"/v1/task/import_task_customer/{tid}", {"customer_info_list": [{"phone": p} for p in raw]}))


def stored(api, tid: str) -> list[str]:
    return [n["phone"] for n in must(api.a.get(f"/v1/task/{tid}/numbers"))["list"]]


# -- phone numbers as a dialler needs them ----------------------------------------------------
def test_national_numbers_keep_their_trunk_prefix(api, world):
    tid = new_task(api, world)
    result = imported(api, tid, ["010-12345678", "0755-8888 8888", "+86 10 1234 5678", "+44 20 7946 0958"])
    assert result["imported"] == 3 and result["duplicates"] == 1  # +86 10… is the Beijing number again
    assert stored(api, tid) == ["01012345678", "075588888888", "+442079460958"]


def test_the_seeds_import_sends_phones_as_json_numbers(api, world):
    tid = new_task(api, world)
    result = must(api.a.post(f"/v1/task/import_task_customer/{tid}", {"customer_info_list": SEED_IMPORT}))
    assert result == {"imported": 4, "duplicates": 0, "rejected": 0, "rejected_rows": []}
    assert stored(api, tid) == ["18611228822", "18611228811", "18611228800", "18611228899"]
    for bad, message in ((True, "valid string"), (1.5, "valid string"), (-1, "negative")):
        status, body = api.a.post(f"/v1/task/import_task_customer/{tid}", {"customer_info_list": [{"phone": bad}]})
        assert status == 400 and body["message"].startswith("customer_info_list.0.phone") and message in body["message"]


def test_a_digits_line_takes_service_numbers_short_codes_and_extensions(api, world):
    # The seed's test tasks dial extensions with a `user/…` dial format.
    line = must(api.a.post("/v1/caller_line", {**LINE, "name": "分机", "dial_string": "user/%s", "number_format": "digits"}))
    assert line["number_format"] == "digits"
    tid = new_task(api, world, line=line, name="分机任务")
    result = imported(api, tid, ["95588", "10086", "1001", "12345678901", "12ab", "1001;x=y", "1001/evil", "12"])
    assert result["imported"] == 4 and result["rejected"] == 4
    assert [r["index"] for r in result["rejected_rows"]] == [4, 5, 6, 7]
    assert result["rejected_rows"][0]["reason"] == "not a phone number (digits)"
    assert stored(api, tid) == ["95588", "10086", "1001", "12345678901"]
    # The national line refuses them: they are no national numbers.
    national = new_task(api, world, name="全国")
    assert imported(api, national, ["95588", "10086", "1001", "12345678901"])["rejected"] == 4


def test_an_e164_line_stores_every_number_in_e164(api, world):
    line = must(api.a.post("/v1/caller_line", {**LINE, "name": "e164", "number_format": "e164"}))
    tid = new_task(api, world, line=line, name="e164")
    imported(api, tid, ["010-12345678", "18611228822"])
    assert stored(api, tid) == ["+861012345678", "+8618611228822"]


def test_a_line_with_an_unknown_number_format_is_refused(api, world):
    status, body = api.a.post("/v1/caller_line", {**LINE, "number_format": "local"})
    assert status == 400 and body["message"].startswith("number_format")


def test_the_phone_check_accepts_every_form_and_refuses_the_rest(db):
    import psycopg

    line = f.line(db)
    task = f.task(db, line, ["01012345678", "95588", "1001", "+442079460958"], start=0)
    assert set(f.numbers(db, task)) == {"01012345678", "95588", "1001", "+442079460958"}
    with pytest.raises(psycopg.errors.CheckViolation), db.transaction() as conn:
        conn.execute("INSERT INTO task_number (task_id, phone) VALUES (%s, '1001;x=y')", (task,))


def set_status(db, task: str, phone: str, status: int) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE task_number SET status = %s, attempts = 1 WHERE task_id = %s AND phone = %s",
                     (status, task, phone))


def test_number_reset_keyword_is_one_given_number(api, world, db):
    tid = new_task(api, world)
    imported(api, tid, ["13800138000", "13812345678", "010-12345678"])
    for phone in ("13800138000", "13812345678", "01012345678"):
        set_status(db, tid, phone, Status.BUSY)
    reset = f"/v1/task/{tid}/number_reset"
    assert must(api.a.put(reset, {"keyword": "138"}))["reset"] == 0  # not every number containing 138
    assert must(api.a.put(reset, {"keyword": "+86 138 0013 8000"}))["reset"] == 1  # normalised as imported
    assert must(api.a.put(reset, {"keyword": "010-12345678"}))["reset"] == 1
    assert f.numbers(db, tid)["13812345678"]["status"] == Status.BUSY
    status, body = api.a.put(reset, {"keyword": "abc"})
    assert status == 400 and body["message"] == "keyword: not a phone number"


def test_number_reset_keyword_uses_the_seeds_example_on_a_digits_line(api, world, db):
    line = must(api.a.post("/v1/caller_line", {**LINE, "name": "测试", "number_format": "digits"}))
    tid = new_task(api, world, line=line)
    imported(api, tid, ["12345678901", "1234567890"])
    set_status(db, tid, "12345678901", Status.BUSY)
    set_status(db, tid, "1234567890", Status.BUSY)
    # seed 000: keyword "12345678901", sent as the string it shows or as a JSON number
    assert must(api.a.put(f"/v1/task/{tid}/number_reset", {"keyword": "12345678901"}))["reset"] == 1
    set_status(db, tid, "12345678901", Status.BUSY)
    assert must(api.a.put(f"/v1/task/{tid}/number_reset", {"keyword": 12345678901}))["reset"] == 1
    assert f.numbers(db, tid)["1234567890"]["status"] == Status.BUSY


def test_number_reset_takes_the_seeds_unpadded_dates_as_a_whole_day(api, world, db):
    tid = new_task(api, world)
    imported(api, tid, ["18611228822", "18611228811", "18611228800", "18611228899"])
    when = {
        "18611228822": datetime(2020, 3, 10).astimezone(),  # the first instant of the day
        "18611228811": datetime(2020, 3, 10, 23, 59, 59, 999999).astimezone(),  # the last
        "18611228800": datetime(2020, 3, 11).astimezone(),  # the next day
        "18611228899": datetime(2020, 3, 9, 23, 59, 59).astimezone(),  # the day before
    }
    with db.transaction() as conn:
        for phone, at in when.items():
            conn.execute("UPDATE task_number SET status = 12, attempts = 1, imported_at = %s WHERE phone = %s",
                         (at, phone))
    # seed 000's own request: created_at ["2020-3-10", "2020-3-10"]
    body = {"status": [12], "created_at": ["2020-3-10", "2020-3-10"], "keyword": None}
    assert must(api.a.put(f"/v1/task/{tid}/number_reset", body))["reset"] == 2
    nums = f.numbers(db, tid)
    assert [p for p in when if nums[p]["status"] == Status.PENDING] == ["18611228822", "18611228811"]
    for dates, message in ((["2020-3-11", "2020-3-10"], "before the first"), (["2020-2-30", "2020-3-1"], "not a date"),
                           (["2020-3-10"], "at least 2")):
        status, resp = api.a.put(f"/v1/task/{tid}/number_reset", {"created_at": dates})
        assert status == 400 and resp["message"].startswith("created_at") and message in resp["message"], resp


# -- the seeds' own examples -----------------------------------------------------------------------
SEED_TASK_KEYS = {
    "uuid", "name", "create_datetime", "alter_datetime", "start", "maximumcall", "call_per_second", "recycle_limit",
    "random_assignment_number", "disable_dial_timegroup", "destination_extension", "destination_dialplan",
    "destination_context", "scheduling_policy_ratio", "scheduling_queue", "dial_format", "domain", "remark", "sort",
    "originate_variables", "_originate_timeout", "_origination_caller_id_number", "user_id", "caller_line_id",
    "customer_service_id", "auto_recycle_rule_id", "call_notify_url", "call_notify_type", "call_pause_second",
    "start_str", "group_str", "progress_bar", "caller_line", "auto_recycle_rule", "disable_time_group", "group",
}
SEED_LINE_KEYS = {
    "id", "name", "user_id", "description", "deadline_at", "available_time", "begin_at", "call_line", "call_line_used",
    "call_number_prefix", "is_call_number_enable", "is_call_number_prefix_editable", "dial_string", "dial_string_mode",
    "db_public_id", "db_private_id", "node_ip", "node_status", "created_at", "updated_at", "feature",
}
SEED_LINE = {"call_number_prefix": "17361984317", "is_call_number_enable": 1, "is_call_number_prefix_editable": 0,
             "dial_string_mode": 1, "available_time": 31536000, "feature": 7}


def test_the_task_list_is_the_seeds_array_with_every_field_it_shows(api, world, db):
    line = must(api.a.post("/v1/caller_line", {**LINE, "name": "南京-云蝠智能-17361984317", **SEED_LINE}))
    tid = new_task(api, world, line=line, call_per_second=10, sort=1, domain=None, scheduling_policy_ratio=None,
                   scheduling_queue=None)
    status, body = api.a.get("/v1/task")
    assert status == 200 and isinstance(body["data"], list) and body["total"] == 1
    item = body["data"][0]  # what a seed client reads
    assert SEED_TASK_KEYS <= set(item)
    assert (item["uuid"], item["call_per_second"], item["sort"], item["domain"]) == (tid, 10.0, 1, None)
    assert (item["scheduling_policy_ratio"], item["scheduling_queue"]) == (None, None)
    nested = item["caller_line"]
    assert SEED_LINE_KEYS <= set(nested)
    assert {k: nested[k] for k in SEED_LINE} == SEED_LINE
    assert (nested["call_line_used"], nested["node_status"], nested["node_ip"]) == (0, 0, "fs1")
    assert set(item["auto_recycle_rule"]) >= {"id", "user_id", "name", "remark", "status", "created_at", "updated_at",
                                              "is_default"}
    assert set(item["disable_time_group"]) >= {"uuid", "name", "domain", "user_id", "created_at", "updated_at"}
    # The line on its own shows the same live figures.
    assert {k: must(api.a.get(f"/v1/caller_line/{line['id']}"))[k] for k in ("call_line_used", "node_status")} == {
        "call_line_used": 0, "node_status": 0}


def test_node_status_is_what_a_live_engine_says_of_the_lines_node(api, world, db):
    def node_status() -> int:
        return must(api.a.get(f"/v1/caller_line/{world['line']['id']}"))["node_status"]

    with db.transaction() as conn:
        claims.heartbeat(conn, "e1")
        claims.node_states(conn, "e1", {"fs1": False, "fs2": True})
    assert node_status() == 0
    with db.transaction() as conn:
        claims.node_states(conn, "e1", {"fs1": True})
    assert node_status() == 1
    with db.transaction() as conn:  # the engine stopped sending heartbeats
        conn.execute("UPDATE engine SET heartbeat = now() - interval '1 minute'")
    assert node_status() == 0


def test_a_url_with_no_type_notifies_every_call(api, world, db):
    url = "https://hooks.example/api/hangup_notify"
    t = must(api.a.post("/v1/task", task_body(world, call_notify_url=url)))
    assert (t["call_notify_url"], t["call_notify_type"]) == (url, 2)
    assert must(api.a.post("/v1/task", task_body(world, name="只失败", call_notify_url=url,
                                                 call_notify_type=1)))["call_notify_type"] == 1
    # A row another system writes with only the URL notifies every call too.
    sql_task = f.task(db, f.line(db), [], start=0, call_notify_url=url)
    with db.connection() as conn:
        assert conn.execute("SELECT call_notify_type FROM task WHERE uuid = %s", (sql_task,)).fetchone() == {
            "call_notify_type": 2}


def test_put_takes_a_task_back_exactly_as_get_returned_it(api, world, db):
    tid = new_task(api, world, call_per_second=10, sort=1)
    got = must(api.a.get(f"/v1/task/{tid}"))
    assert got["dial_format"] == LINE["dial_string"]  # shown from the line
    echoed = must(api.a.put(f"/v1/task/{tid}", got))
    assert {k: v for k, v in echoed.items() if k != "alter_datetime"} == {
        k: v for k, v in got.items() if k not in ("alter_datetime", "caller_line", "auto_recycle_rule", "disable_time_group")}
    with db.connection() as conn:  # what GET took from the line stays the line's
        row = conn.execute("SELECT dial_format, _origination_caller_id_number FROM task WHERE uuid = %s", (tid,)).fetchone()
    assert row == {"dial_format": None, "_origination_caller_id_number": None}
    changed = must(api.a.put(f"/v1/task/{tid}", {**got, "name": "改名", "maximumcall": "2"}))
    assert (changed["name"], changed["maximumcall"]) == ("改名", 2)
    status, body = api.a.put(f"/v1/task/{tid}", {**got, "colour": "red"})
    assert status == 400 and body["message"] == "colour: unknown field"
    status, body = api.a.put(f"/v1/task/{tid}", {**got, "name": None})
    assert status == 400 and body["message"] == "name: may not be null"


def test_a_digit_extension_shown_as_a_number_can_be_sent_back(api, world):
    # A dialplan extension "9000" (a string) is shown as 9000, like the seed's script group ids.
    tid = new_task(api, world, destination_extension="9000")
    got = must(api.a.get(f"/v1/task/{tid}"))
    assert got["destination_extension"] == 9000
    assert must(api.a.put(f"/v1/task/{tid}", got))["destination_extension"] == 9000
    status, body = api.a.put(f"/v1/task/{tid}", {"destination_extension": 9001})  # a change is checked
    assert status == 400 and body["message"] == "destination_extension: no such outbound group"


def test_integer_fields_take_numeric_strings(api, world):
    body = task_body(world, maximumcall="1", random_assignment_number="0", recycle_limit="0", _originate_timeout="60",
                     call_pause_second="10", auto_recycle_rule_id=str(world["rule"]["id"]), call_notify_type="2",
                     customer_service_id=str(world["cs"]["id"]), sort="1")
    t = must(api.a.post("/v1/task", body))
    assert (t["maximumcall"], t["random_assignment_number"], t["recycle_limit"], t["_originate_timeout"]) == (1, 0, 0, 60)
    assert (t["call_notify_type"], t["auto_recycle_rule_id"], t["sort"]) == (2, world["rule"]["id"], 1)
    for field, value in (("random_assignment_number", "2"), ("recycle_limit", "1"), ("maximumcall", "one")):
        status, resp = api.a.post("/v1/task", task_body(world, name="x", **{field: value}))
        assert status == 400 and resp["message"].startswith(field), resp


def test_a_task_needs_no_recycle_rule(api, world):
    body = task_body(world)
    del body["auto_recycle_rule_id"]
    assert must(api.a.post("/v1/task", body))["auto_recycle_rule_id"] is None


# -- what the engine does with them ------------------------------------------------------------------
def busy_task(db, **kw) -> str:
    return f.task(db, f.line(db), ["13800000001"], **kw)  # the simulator's outcome for a final 1: busy


def test_the_tenants_default_rule_retries_a_task_that_names_none(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.005, 2)}, max_attempts=3)
    f.rule(db, {int(Status.BUSY): (0.005, 1)}, user="t2")  # another tenant's default is not ours
    with db.transaction() as conn:
        conn.execute("UPDATE auto_recycle_rule SET is_default = 1")
    task = busy_task(db)
    run_until_final(db, sim, task)
    assert rule and f.numbers(db, task)["13800000001"]["attempts"] == 3 and f.numbers(db, task)["13800000001"][
        "retries"] == {"12": 2}


def test_a_recycle_rule_switched_off_retries_nothing(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.005, 2)}, max_attempts=3)
    with db.transaction() as conn:
        conn.execute("UPDATE auto_recycle_rule SET status = 0 WHERE id = %s", (rule,))
    task = busy_task(db, auto_recycle_rule_id=rule)
    run_until_final(db, sim, task)
    number = f.numbers(db, task)["13800000001"]
    assert (number["status"], number["attempts"], number["next_attempt_at"]) == (Status.BUSY, 1, None)


# seed 001's own example batch
BATCH = {"name": "外呼任务号码批次名称,如:本人、亲属、朋友", "identify": "default", "autoOutboundSwitch": 1,
         "autoOutboundInterval": 5, "autoOutboundTimes": 1}


def test_seed_001_number_batches_are_the_retry_rule_beside_a_recycle_rule(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.005, 2)}, max_attempts=3)
    task = busy_task(db, auto_recycle_rule_id=rule, phone_groups=Jsonb([BATCH]))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.numbers(db, task)["13800000001"]["next_attempt_at"] is not None, timeout=30)
    finally:
        engine.stop()
    number = f.numbers(db, task)["13800000001"]
    ended = f.attempts(db, task)[0]["ended_at"]
    assert number["retries"] == {"12": 1} and number["attempts"] == 1
    assert timedelta(minutes=4.9) < number["next_attempt_at"] - ended < timedelta(minutes=5.1)  # not the rule's 0.3 s


def test_a_number_batch_switched_off_retries_nothing_beside_a_recycle_rule(db, sim):
    rule = f.rule(db, {int(Status.BUSY): (0.005, 2)}, max_attempts=3)
    task = busy_task(db, auto_recycle_rule_id=rule, phone_groups=Jsonb([{**BATCH, "autoOutboundSwitch": 0}]))
    run_until_final(db, sim, task)
    number = f.numbers(db, task)["13800000001"]
    assert (number["status"], number["attempts"], number["retries"]) == (Status.BUSY, 1, {})


def test_the_tasks_calls_per_second_cap_is_honoured(db, sim):
    line = f.line(db, call_line=50)
    capped = f.task(db, line, phones(20, "9"), maximumcall=50, call_per_second=5)
    free = f.task(db, line, phones(20, "9"), maximumcall=50)  # the line itself has no cap
    run_until_final(db, sim, capped, free, cps=1000)

    def busiest(task: str) -> int:
        starts = sorted(a["originated_at"] for a in f.attempts(db, task))
        return max(sum(1 for t in starts if s <= t < s + timedelta(seconds=1)) for s in starts)

    assert busiest(capped) <= 6  # 5 a second, plus the bucket's single burst token
    assert busiest(free) > 6


def originates_of(sim) -> list[dict[str, str]]:
    """Every originate's variables, as the simulated FreeSWITCH received them."""
    seen: list[dict[str, str]] = []
    received = sim.bgapi

    def bgapi(command: str, job_uuid: str) -> None:
        if command.startswith("originate "):
            seen.append(parse_originate(command[len("originate "):]).variables)
        received(command, job_uuid)

    sim.bgapi = bgapi
    return seen


def customer_service(db, user: str, queue: str | None, line: str) -> int:
    with db.transaction() as conn:
        return int(conn.execute(
            "INSERT INTO customer_service (user_id, name, caller_line_id, queue) VALUES (%s, '组2', %s, %s) RETURNING id",
            (user, line, queue)).fetchone()["id"])


def test_customer_service_id_and_the_lines_caller_id_settings_reach_freeswitch(db, sim):
    seen = originates_of(sim)
    line = f.line(db)
    cs = customer_service(db, "t1", "support@default", line)
    handoff = f.task(db, line, phones(2, "9"), customer_service_id=cs)
    prefixed = f.task(db, f.line(db, call_number="13530525008", call_number_prefix="0"), phones(2, "9"))
    hidden = f.task(db, f.line(db, is_call_number_enable=0), phones(2, "9"))
    other = f.line(db, user="t2")
    foreign = f.task(db, line, phones(2, "9"), customer_service_id=customer_service(db, "t2", "theirs@default", other))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: all(f.all_final(db, t) for t in (handoff, prefixed, hidden)), timeout=30)
        wait_for(lambda: f.plan_error(db, foreign))
    finally:
        engine.stop()
    by_task: dict[str, list[dict[str, str]]] = {}
    for variables in seen:
        by_task.setdefault(variables["eslbridge_task"], []).append(variables)
    assert [v["eslbridge_customer_service"] for v in by_task[handoff]] == [str(cs)] * 2
    assert {v["eslbridge_handoff_queue"] for v in by_task[handoff]} == {"support@default"}
    assert {v["origination_caller_id_number"] for v in by_task[prefixed]} == {"013530525008"}
    assert all("origination_caller_id_number" not in v for v in by_task[hidden]) and len(by_task[hidden]) == 2
    assert foreign not in by_task  # another tenant's group is never named on the shared switch
    assert f.plan_error(db, foreign) == "customer_service_id: names no customer service group of this tenant"


def test_node_status_follows_the_engines_esl_link(db):
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    line = f.line(db)

    def node_status() -> int:
        with db.connection() as conn:
            return int(task_store.lines_with_residue(conn, "t1", line)[0]["node_status"])

    engine = engine_for(db, switch)
    try:
        wait_for(lambda: node_status() == 1)
        switch.stop()
        wait_for(lambda: node_status() == 0)
    finally:
        engine.stop()
    with db.connection() as conn:  # a cleanly stopped engine leaves nothing behind
        assert conn.execute("SELECT count(*) AS n FROM engine_node").fetchone()["n"] == 0


def test_a_prefix_that_breaks_the_caller_id_is_refused_when_the_task_is_written(api, world):
    line = must(api.a.post("/v1/caller_line", {**LINE, "name": "前缀", "call_number_prefix": "9" * 16,
                                               "call_number": "9" * 17}))
    status, body = api.a.post("/v1/task", task_body(world, caller_line_id=line["id"]))
    assert status == 400 and body["message"].startswith("call_number_prefix"), body
    status, body = api.a.post("/v1/caller_line", {**LINE, "call_number_prefix": "9,x=y"})
    assert status == 400 and body["message"].startswith("call_number_prefix")


# -- eslbridge apply -----------------------------------------------------------------------------
def test_apply_takes_destination_extension_as_the_seeds_integer(env, tmp_path, capsys, db):  # noqa: F811
    doc = document(destination_extension=297)  # seed 000's example script group id
    doc["outbound_groups"] = [{"id": 297, "user_id": "acme", "name": "测试话术【复制】", "debug": True}]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) == 0
    with db.connection() as conn:
        assert conn.execute("SELECT destination_extension FROM task").fetchone() == {"destination_extension": "297"}
    capsys.readouterr()
    path.write_text(json.dumps(document(destination_extension=447)))  # no such script group
    assert main(["apply", str(path)]) != 0
    assert capsys.readouterr().err.strip().endswith("tasks.0.destination_extension: no such outbound group")


def test_apply_stores_numbers_in_the_lines_format(env, tmp_path, capsys, db):  # noqa: F811
    doc = document(numbers=[95588, "1001", "010-12345678"])
    doc["lines"][0]["number_format"] = "digits"
    path = tmp_path / "digits.json"
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) == 0
    with db.connection() as conn:
        rows = conn.execute("SELECT phone FROM task_number ORDER BY id").fetchall()
    assert [r["phone"] for r in rows] == ["95588", "1001", "01012345678"]
    doc["lines"][0]["number_format"] = "national"
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) != 0
    assert "2 invalid phone number(s) for the line's number_format national" in capsys.readouterr().err
