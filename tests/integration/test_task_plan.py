"""A task is judged by one rule wherever it comes from: API, `apply`, or SQL written by other systems.

The two holes a tenant could use against the shared switch — a destination of
`undef` (FreeSWITCH 1.10.12 aborts) and `:_:` in a dial format (several calls
for one number) — are refused by the API and `apply` with the same message, and
a row written straight into PostgreSQL claims nothing, carries the reason and
never reaches the simulated FreeSWITCH, while other tenants' tasks dial on.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from eslbridge.causes import Status
from eslbridge.cli import main
from eslbridge.esl.originate import OriginateError
from eslbridge.notify.target import parse_nets
from eslbridge.plan import plan_task
from eslbridge.sim.server import SimConfig, Switch
from eslbridge.store import plans
from tests import factories as f
from tests.helpers import wait_for
from tests.integration.test_engine import engine_for, phones

ENTERPRISE = "loopback/%s/lab:_:loopback/13800000009/lab"
HOLES = [
    pytest.param({"destination_extension": "undef"}, "destination_extension: 'undef' means a missing argument to FreeSWITCH", id="undef-extension"),
    pytest.param({"destination_context": "UNDEF"}, "destination_context: 'undef' means a missing argument to FreeSWITCH", id="undef-context"),
    pytest.param({"destination_dialplan": "Undef"}, "destination_dialplan: 'undef' means a missing argument to FreeSWITCH", id="undef-dialplan"),
    pytest.param({"dial_format": ENTERPRISE}, "dial_format: ':_:' would split it into several calls", id="enterprise-split"),
    pytest.param({"dial_format": "loopback/%s/lab|loopback/13800000009/lab"}, "dial_format: contains forbidden character '|'", id="sequential-legs"),
    pytest.param({"_origination_caller_id_number": "1000\x00"}, "_origination_caller_id_number: contains a NUL character", id="nul-caller-id"),
]


@pytest.fixture
def sim():
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000)).start("127.0.0.1", 0)
    yield switch
    switch.stop()


@pytest.mark.parametrize(("over", "message"), [p for p in HOLES if "NUL" not in str(p.values[1])])
def test_a_row_written_with_sql_that_cannot_be_dialled_claims_nothing_and_says_why(db, sim, over, message):
    line = f.line(db, call_line=20)
    good = f.task(db, f.line(db, user="t2", call_line=20), phones(9), user="t2", maximumcall=9)
    bad = f.task(db, line, phones(9), maximumcall=9, **over)
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, good), timeout=60)
        wait_for(lambda: f.plan_error(db, bad))
    finally:
        engine.stop()
    assert f.plan_error(db, bad) == message
    assert f.attempts(db, bad) == []  # never claimed (and so never claimed and undone)
    assert all(r["status"] == Status.PENDING for r in f.numbers(db, bad).values())
    assert sim.aborts == 0 and sim.extra_legs == 0  # the shared switch saw nothing of it
    assert len(f.attempts(db, good)) == 9 and sim.originates == 9


def test_fixing_the_row_clears_the_error_and_the_task_dials(db, sim):
    line = f.line(db, call_line=20)
    task = f.task(db, line, phones(5, "9"), destination_extension="undef")
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.plan_error(db, task))
        with db.transaction() as conn:
            conn.execute("UPDATE task SET destination_extension = '9000' WHERE uuid = %s", (task,))
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        engine.stop()
    assert f.plan_error(db, task) is None
    assert all(r["status"] == Status.ANSWERED for r in f.numbers(db, task).values())


def test_a_malformed_row_of_one_tenant_never_stops_another_tenants_calls(db, sim):
    bad = f.task(db, f.line(db), phones(3), timezone="Mars/Olympus", daily_windows=json.dumps([["nine", "five"]]))
    good = f.task(db, f.line(db, user="t2"), phones(5, "9"), user="t2")
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.all_final(db, good), timeout=60)
        wait_for(lambda: f.plan_error(db, bad))
    finally:
        engine.stop()
    assert f.plan_error(db, bad).startswith(("timezone:", "daily_windows:"))


def test_without_the_plan_the_simulator_plays_what_freeswitch_does_with_these_lines(sim):
    """The oracle: the simulated switch aborts on a missing extension and counts extra legs."""
    from eslbridge.esl.client import ConnectionLost, ESLConnection

    conn = ESLConnection(*sim.address, "ClueCon")
    conn.connect()
    try:
        conn.bgapi("originate {origination_uuid=5ce8c3a8-7639-4141-a860-a983f3b0a5c4}" + ENTERPRISE.replace("%s", "13800000001")
                   + " 9000 XML default", "5ce8c3a8-7639-4141-a860-a983f3b0a5c5")
        wait_for(lambda: sim.extra_legs == 1)
        with contextlib.suppress(ConnectionLost):  # the reply may not make it out before the abort
            conn.bgapi("originate {origination_uuid=5ce8c3a8-7639-4141-a860-a983f3b0a5c6}loopback/13800000001/lab "
                       "undef XML default", "5ce8c3a8-7639-4141-a860-a983f3b0a5c7")
        wait_for(lambda: sim.aborts == 1)
        assert conn.wait_closed(5)  # every connection of every tenant went with it
    finally:
        conn.close()


# -- every way in refuses the same settings with the same message --------------------------
@pytest.mark.parametrize(("over", "message"), HOLES)
def test_api_refuses_the_holes_with_the_same_message(api, over, message):
    from tests.integration.test_api import setup_tenant, task_body

    status, body = api.a.post("/v1/task", task_body(setup_tenant(api.a), **over))
    assert status == 400 and body["message"] == message


def apply_document(line_id: str, task_id: str, **task_over: object) -> dict[str, object]:
    task = {"uuid": task_id, "user_id": "acme", "name": "spring", "caller_line_id": line_id,
            "destination_extension": "9000", "maximumcall": 5, "numbers": ["13800000001"], **task_over}
    return {"tenants": [{"id": "acme", "name": "Acme"}],
            "lines": [{"id": line_id, "user_id": "acme", "name": "trunk", "dial_string": "loopback/%s/lab", "call_line": 10}],
            "tasks": [task]}


@pytest.mark.parametrize(("over", "message"), HOLES)
def test_apply_refuses_the_holes_naming_the_field(db_url, monkeypatch, tmp_path, capsys, over, message):
    import uuid

    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(apply_document(str(uuid.uuid4()), str(uuid.uuid4()), **over)))
    assert main(["apply", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_plan_of_a_row_names_the_line_when_the_line_is_at_fault(db):
    line = f.line(db, dial_string="loopback/%s/lab")
    task = f.task(db, line, [], start=0)
    with db.transaction() as conn:
        # A line written by another system, bypassing the API's check of `dial_string`.
        conn.execute("UPDATE caller_line SET dial_string = %s WHERE id = %s", (ENTERPRISE, line))
        row = plans.plan_rows(conn, [task])[0]
    with pytest.raises(OriginateError) as err:
        plan_task(row)
    assert err.value.field == "dial_string"


def test_progress_in_the_cli_and_the_api_says_why_a_task_cannot_be_dialled(db, sim, api, db_url, monkeypatch, capsys):
    from tests.integration.test_api import must, setup_tenant, task_body

    task = must(api.a.post("/v1/task", task_body(setup_tenant(api.a))))["uuid"]
    with db.transaction() as conn:  # another system rewrites the row, bypassing the API
        conn.execute("UPDATE task SET destination_extension = 'undef', start = 1 WHERE uuid = %s", (task,))
    engine = engine_for(db, sim)
    try:
        wait_for(lambda: f.plan_error(db, task))
    finally:
        engine.stop()
    message = "destination_extension: 'undef' means a missing argument to FreeSWITCH"
    assert must(api.a.get(f"/v1/task/task_progress/{task}"))["error"] == message
    assert must(api.a.get(f"/v1/task/{task}"))["plan_error"] == message
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    assert main(["task", "progress", task, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["error"] == message


# -- call_notify_url: one reading, in the API, `apply` and the notifier -----------------------
LOOPBACK_REFUSED = ("targets 127.0.0.1, a private, loopback or reserved address; "
                    "not allowed unless ESLBRIDGE_WEBHOOK_ALLOW_NETS lists it")
NOTIFY_URLS = [
    pytest.param("ftp://hooks.example/h", "scheme 'ftp' is not http(s)", id="other-scheme"),
    pytest.param("hooks.example/h", "must be an http(s) URL", id="no-scheme"),
    pytest.param("http://hooks.example/" + "a" * 4000, "String should have at most 2000 characters", id="4000-chars"),
    pytest.param("http://user:secret@hooks.example/h", "must not hold credentials (user:password@): they are never sent; "
                 "deliveries are signed", id="credentials"),
    pytest.param("http://hooks.example/h\x07", "contains a space or control character", id="control-character"),
    pytest.param("http://hooks.example/\r\nX-Evil: 1", "contains a space or control character", id="crlf"),
    pytest.param("http://127.0.0.1:81/api/hangup_notify", LOOPBACK_REFUSED, id="seed-example"),
    pytest.param("http://①②⑦.0.0.1:81/", LOOPBACK_REFUSED, id="idna-digits"),
    pytest.param("http://0x7f.1/", LOOPBACK_REFUSED, id="hex-ipv4"),
    pytest.param("http://[::127.0.0.1]:81/", "targets ::7f00:1, which embeds 127.0.0.1, a private, loopback or reserved "
                 "address; not allowed unless ESLBRIDGE_WEBHOOK_ALLOW_NETS lists it", id="ipv4-compatible"),
    pytest.param("http://localhost:81/h", "localhost is a loopback name; not allowed unless ESLBRIDGE_WEBHOOK_ALLOW_NETS "
                 "lists it", id="localhost"),
    pytest.param("http://\u202eevil.example/", "host '\\u202eevil.example' is not a valid internationalised domain name",
                 id="bad-idn"),
]


@pytest.mark.parametrize(("url", "reason"), NOTIFY_URLS)
def test_api_and_apply_refuse_the_same_notify_urls_with_the_same_message(api, db_url, monkeypatch, tmp_path, capsys, url, reason):
    import uuid

    from tests.integration.test_api import must, setup_tenant, task_body

    world = setup_tenant(api.a)
    status, body = api.a.post("/v1/task", task_body(world, call_notify_url=url))
    assert status == 400 and body["message"] == f"call_notify_url: {reason}"
    task = must(api.a.post("/v1/task", task_body(world)))
    status, body = api.a.put(f"/v1/task/{task['uuid']}", {"call_notify_url": url})
    assert status == 400 and body["message"] == f"call_notify_url: {reason}"
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(apply_document(str(uuid.uuid4()), str(uuid.uuid4()), call_notify_url=url)))
    assert main(["apply", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"tasks.0.call_notify_url: {reason}" in err and "Traceback" not in err


def test_a_notify_url_the_notifier_may_call_is_accepted_everywhere(api, db_url, monkeypatch, tmp_path, capsys):
    import uuid

    from eslbridge.api import models
    from tests.integration.test_api import must, setup_tenant, task_body

    world = setup_tenant(api.a)
    names = "https://hooks.example/a?b=1"  # a name: its DNS answer is judged at each delivery
    assert must(api.a.post("/v1/task", task_body(world, name="n", call_notify_url=names)))["call_notify_url"] == names
    monkeypatch.setattr(models, "WEBHOOK_ALLOW_NETS", parse_nets("127.0.0.0/8"))  # ESLBRIDGE_WEBHOOK_ALLOW_NETS
    seed = "http://127.0.0.1:81/api/hangup_notify"
    assert must(api.a.post("/v1/task", task_body(world, name="seed", call_notify_url=seed)))["call_notify_url"] == seed
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(apply_document(str(uuid.uuid4()), str(uuid.uuid4()), call_notify_url=seed)))
    assert main(["apply", str(path)]) == 0, capsys.readouterr().err
