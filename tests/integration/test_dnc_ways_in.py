"""Do-not-call lists and the tenant's policy through every way in: the API, the CLI, `apply`, files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from eslbridge.cli import main
from eslbridge.store import dnc
from tests import factories as f


def must(result, code=200):
    status, body = result
    assert status == code and body["code"] == code, body
    return body["data"]


def entries_of(db, list_id):
    with db.connection() as conn:
        return {r["phone"]: r for r in dnc.entries_page(conn, list_id)}


# -- API ---------------------------------------------------------------------------------------------
def test_api_lists_entries_upload_and_removal(api, db):
    lst = must(api.a.post("/v1/dnc", {"name": "complaints", "description": "asked not to be called"}))
    assert must(api.a.post("/v1/dnc", {"name": "complaints"}))["id"] == lst["id"]  # the same list again
    added = must(api.a.post(f"/v1/dnc/{lst['id']}/entries", {"entries": [
        {"phone": "138-0000-0001", "reason": "on the call"},
        {"phone": "+86 138 0000 0002", "expires_at": "2099-01-01T00:00:00+08:00"},
        {"phone": "not a phone"},
    ]}))
    assert (added["added"], added["rejected"], added["rejected_rows"][0]["index"]) == (2, 1, 2)
    # Kept as +E.164: the check matches whatever spelling a number came in, whatever form its line stores.
    assert set(entries_of(db, lst["id"])) == {"+8613800000001", "+8613800000002"}
    csv = ("phone,expires_at,reason\n" + "".join(f"1860000{i:04d},,bulk\n" for i in range(3000))
           + "13800000001,2099-06-01,changed\nbad,,\n").encode()
    up = must(api.a.request("POST", f"/v1/dnc/{lst['id']}/entries/csv", csv, "text/csv"))
    assert (up["entries"], up["added"], up["changed"], up["rejected"]) == (3001, 3000, 1, 1)
    assert up["rejected_rows"] == [{"line": 3003, "reason": "not a phone number: 'bad'"}]
    one = must(api.a.get(f"/v1/dnc/{lst['id']}"))
    assert (one["entries"], one["in_force"]) == (3002, 3002)
    page = must(api.a.get(f"/v1/dnc/{lst['id']}/entries?limit=2"))
    assert [e["phone"] for e in page["list"]] == ["+8613800000001", "+8613800000002"]
    assert page["next_after"] == "+8613800000002"
    held = must(api.a.get("/v1/dnc/check/13800000001"))
    assert held["listed"] and [x["name"] for x in held["lists"]] == ["complaints"] and held["phone"] == "+8613800000001"
    assert must(api.a.post(f"/v1/dnc/{lst['id']}/entries/remove", {"phones": ["13800000002", "13900000000"]}))["removed"] == 1
    assert must(api.a.delete(f"/v1/dnc/{lst['id']}/entries/13800000001"))["removed"] == 1
    assert not must(api.a.get("/v1/dnc/check/13800000001"))["listed"]
    must(api.a.delete(f"/v1/dnc/{lst['id']}/entries/13800000001"), 404)
    must(api.a.delete(f"/v1/dnc/{lst['id']}"))
    assert must(api.a.get("/v1/dnc"))["list"] == []


def test_api_tenants_never_see_each_others_lists_but_meet_the_global_ones(api, db):
    lst = must(api.a.post("/v1/dnc", {"name": "mine"}))
    must(api.a.post(f"/v1/dnc/{lst['id']}/entries", {"entries": [{"phone": "13800000001"}]}))
    for path in (f"/v1/dnc/{lst['id']}", f"/v1/dnc/{lst['id']}/entries"):
        must(api.b.get(path), 404)
    must(api.b.post(f"/v1/dnc/{lst['id']}/entries", {"entries": [{"phone": "13800000009"}]}), 404)
    assert must(api.b.get("/v1/dnc"))["list"] == []
    assert not must(api.b.get("/v1/dnc/check/13800000001"))["listed"]
    with db.transaction() as conn:
        operator = dnc.create_list(conn, None, "national register")
        dnc.add_entries(conn, operator["id"], [dnc.Entry("+8613800000001")])
    held = must(api.b.get("/v1/dnc/check/13800000001"))
    assert [(x["name"], x["global"]) for x in held["lists"]] == [("national register", True)]
    must(api.b.get(f"/v1/dnc/{operator['id']}"), 404)  # a tenant cannot change an operator's list


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entries": []}, "entries"),
        ({"entries": [{"phone": "13800000001", "colour": "red"}]}, "entries.0.colour"),
        ({"entries": [{"phone": "13800000001", "expires_at": "soon"}]}, "entries.0.expires_at"),
    ],
)
def test_api_bad_entries_are_refused_naming_the_field(api, body, field):
    lst = must(api.a.post("/v1/dnc", {"name": "x"}))
    status, resp = api.a.post(f"/v1/dnc/{lst['id']}/entries", body)
    assert status == 400 and resp["message"].startswith(field + ":"), resp


def test_api_policy_round_trip_and_checks(api):
    default = must(api.a.get("/v1/compliance"))
    assert (default["calling_hours"], default["max_attempts_day"], default["abandoned_rest_h"]) == (None, None, 72)
    set_ = must(api.a.put("/v1/compliance", {"calling_hours": ["08:00", "21:00"], "max_attempts_day": 2,
                                             "max_attempts_week": 5, "abandoned_rest_h": 0}))
    assert (set_["calling_hours"], set_["max_attempts_day"], set_["max_attempts_week"], set_["abandoned_rest_h"]) == (
        ["08:00", "21:00"], 2, 5, 0)
    assert must(api.a.get("/v1/compliance"))["calling_hours"] == ["08:00", "21:00"]
    assert must(api.b.get("/v1/compliance"))["calling_hours"] is None  # the other tenant's is its own
    for body, field in (({"max_attempts_day": 0}, "max_attempts_day"), ({"calling_hours": ["08:00", "08:00"]}, "calling_hours"),
                        ({"abandoned_rest_h": 1000}, "abandoned_rest_h")):
        status, resp = api.a.put("/v1/compliance", body)
        assert status == 400 and resp["message"].startswith(field), resp


def test_api_task_timezone_callee_and_its_fallback(api):
    line = must(api.a.post("/v1/caller_line", {"name": "l", "dial_string": "sofia/gateway/gw1/%s", "call_line": 5}))
    tg = must(api.a.post("/v1/disable_dial_timegroup", {"name": "none"}))
    rule = must(api.a.post("/v1/auto_recycle_rule", {"name": "r"}))
    body = {"caller_line_id": line["id"], "destination_extension": "9000", "disable_dial_timegroup": tg["uuid"],
            "maximumcall": 1, "name": "callee hours", "random_assignment_number": 0, "recycle_limit": 0,
            "_originate_timeout": 30, "call_pause_second": 0, "auto_recycle_rule_id": rule["id"],
            "timezone": "callee", "fallback_timezone": "Asia/Shanghai", "recall_abandoned": True}
    task = must(api.a.post("/v1/task", body))
    assert (task["timezone"], task["fallback_timezone"], task["recall_abandoned"]) == ("callee", "Asia/Shanghai", True)
    # Each imported number gets its zone from the number (the default region's, or its country code's).
    imported = must(api.a.post(f"/v1/task/import_task_customer/{task['uuid']}",
                               {"customer_info_list": [{"phone": "13800000001"}, {"phone": "+1 212 555 0123"}]}))
    assert imported["imported"] == 2
    page = must(api.a.get(f"/v1/task/{task['uuid']}/numbers"))
    assert {n["phone"]: n["tz"] for n in page["list"]} == {"13800000001": "Asia/Shanghai",
                                                           "+12125550123": "America/New_York"}
    status, resp = api.a.post("/v1/task", {**body, "name": "bad", "fallback_timezone": "callee"})
    assert status == 400 and resp["message"].startswith("fallback_timezone:"), resp
    status, resp = api.a.put(f"/v1/task/{task['uuid']}", {"timezone": "Mars/Olympus"})
    assert status == 400 and resp["message"].startswith("timezone:"), resp


# -- CLI ---------------------------------------------------------------------------------------------
@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    return db_url


def test_cli_add_remove_import_list(env, db, tmp_path, capsys):
    f.tenant(db, "acme")
    assert main(["dnc", "add", "complaints", "13800000001", "+8613800000002", "--tenant", "acme",
                 "--reason", "asked", "--expires", "2099-01-01"]) == 0
    assert capsys.readouterr().out.split() == ["entries=2", "added=2", "changed=0", "unchanged=0"]
    path = tmp_path / "register.csv"
    path.write_text("13900000001\n13900000002\nnope\n13900000001\n")
    assert main(["dnc", "import", "national", str(path), "--global", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["entries"], report["added"], report["unchanged"], report["rejected"]) == (3, 2, 1, 1)
    assert report["errors"] == [[3, "not a phone number: 'nope'"]]
    assert main(["dnc", "list", "--all", "--json"]) == 0
    lists = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["user_id"], x["name"], x["entries"]) for x in lists] == [(None, "national", 2), ("acme", "complaints", 2)]
    assert main(["dnc", "list", "complaints", "--tenant", "acme", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["phone"], r["reason"]) for r in rows] == [("+8613800000001", "asked"), ("+8613800000002", "asked")]
    assert rows[0]["expires_at"].startswith("2099-01-01")
    assert main(["dnc", "remove", "complaints", "13800000001", "--tenant", "acme"]) == 0
    assert capsys.readouterr().out.strip() == "removed=1"
    assert main(["dnc", "remove", "complaints", "13800000001", "--tenant", "acme"]) == 1  # nothing to remove


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dnc", "add", "l", "13800000001", "--tenant", "nobody"], "tenant 'nobody' not found"),
        (["dnc", "add", "l", "12ab", "--global"], "phone: '12ab' is not a phone number"),
        (["dnc", "add", "l", "13800000001", "--global", "--expires", "soon"], "--expires"),
        (["dnc", "remove", "missing", "13800000001", "--global"], "no do-not-call list 'missing'"),
        (["dnc", "import", "l", "/no/such/file", "--global"], "no such file"),
    ],
)
def test_cli_refuses_with_one_line(env, capsys, argv, message):
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_apply_writes_lists_entries_and_policies(env, db, tmp_path, capsys):
    doc = {
        "tenants": [{"id": "acme"}],
        "policies": [{"user_id": "acme", "calling_hours": ["08:00", "21:00"], "max_attempts_day": 3}],
        "dnc_lists": [
            {"name": "register", "entries": ["13800000001", {"phone": "13800000002", "reason": "court order",
                                                              "expires_at": "2099-01-01T00:00:00Z"}]},
            {"name": "own", "user_id": "acme", "entries": [13800000003]},
        ],
    }
    path = tmp_path / "compliance.json"
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) == 0
    out = capsys.readouterr().out
    assert "dnc_list (global)/register (+2 entries, 0 changed)" in out and "policy acme" in out
    assert main(["apply", str(path)]) == 0  # again: nothing new
    assert "(global)/register (+0 entries, 0 changed)" in capsys.readouterr().out
    with db.connection() as conn:
        register = dnc.list_by_name(conn, None, "register")
        pol = dnc.policy(conn, "acme")
    got = entries_of(db, register["id"])
    assert got["+8613800000002"]["reason"] == "court order"
    assert got["+8613800000002"]["expires_at"] == datetime(2099, 1, 1, tzinfo=UTC)
    assert (str(pol["calling_hours_start"]), pol["max_attempts_day"], pol["abandoned_rest_h"]) == ("08:00:00", 3, 72)
    doc["dnc_lists"][0]["entries"] = ["12ab"]
    path.write_text(json.dumps(doc))
    assert main(["apply", str(path)]) != 0
    assert "dnc_lists.0.entries.0: not a phone number" in capsys.readouterr().err


def test_an_expired_entry_stops_nothing_and_a_file_sets_expiry_on_the_servers_clock(db, tmp_path):
    from eslbridge.dnc_import import import_file

    f.tenant(db, "t1")
    with db.transaction() as conn:
        lst = dnc.create_list(conn, "t1", "l")
    soon = (datetime.now(UTC) + timedelta(days=1)).astimezone().replace(tzinfo=None)
    path = tmp_path / "e.csv"
    path.write_text(f"number,reason,expiry\n13800000001,x,{soon.isoformat()}\n13800000002,y,2000-01-01\n")
    report = import_file(db, lst["id"], path)
    assert (report["added"], report["rejected"]) == (2, 0)
    got = entries_of(db, lst["id"])
    assert got["+8613800000001"]["expires_at"] == soon.astimezone()
    with db.connection() as conn:
        assert dnc.count_entries(conn, lst["id"])["in_force"] == 1
        assert dnc.holding(conn, "t1", "+8613800000002") == []
