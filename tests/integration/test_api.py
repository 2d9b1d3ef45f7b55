"""The task HTTP API over real HTTP and real PostgreSQL: seed shapes, validation, auth, tenants."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import urllib3

from eslbridge.api.auth import signed_headers

LINE = {"name": "尊享线路", "dial_string": "sofia/gateway/gw1/%s", "call_number": "13530525008", "call_line": 10}


def must(result, code=200):
    status, body = result
    assert status == code and body["code"] == code, body
    return body["data"]


def setup_tenant(client) -> dict:
    line = must(client.post("/v1/caller_line", LINE))
    tg = must(client.post("/v1/disable_dial_timegroup", {"name": "午休时间", "ranges": [{"start_time": "12:00", "end_time": "13:30"}]}))
    rule = must(client.post("/v1/auto_recycle_rule", {"name": "默认", "remark": "默认", "entries": [{"status": 12, "interval_min": 30, "times": 2}]}))
    scene = must(client.post("/v1/tag_scene", {"name": "标签场景2", "description": "我是描述2"}))
    group = must(client.post("/v1/outbound_group", {"name": "测试", "debug": True, "tag_scene_id": scene["id"]}))
    cs = must(client.post("/v1/customer_service", {"name": "组2", "caller_line_id": line["id"], "queue": "sales@default"}))
    tg1 = must(client.post("/v1/tag_group", {"name": "标签组1", "scene_id": scene["id"]}))
    tag = must(client.post("/v1/tag", {"name": "测试标签", "group_id": tg1["id"], "description": "33"}))
    return {"line": line, "tg": tg, "rule": rule, "group": group, "cs": cs, "scene": scene, "tag_group": tg1, "tag": tag}


def task_body(r: dict, **over) -> dict:
    body = {
        "caller_line_id": r["line"]["id"], "customer_service_id": r["cs"]["id"], "destination_extension": r["group"]["id"],
        "disable_dial_timegroup": r["tg"]["uuid"], "maximumcall": 1, "name": "测试任务", "random_assignment_number": 0,
        "recycle_limit": 0, "remark": "第一个任务", "_originate_timeout": 60, "call_pause_second": 10,
        "auto_recycle_rule_id": r["rule"]["id"],
    }
    body.update(over)
    return body


@pytest.fixture
def world(api):
    return setup_tenant(api.a)


def test_task_creation_options_list_only_usable_resources(api, world):
    full = must(api.a.post("/v1/caller_line", {**LINE, "name": "full", "call_line": 0}))
    must(api.a.post("/v1/customer_service", {"name": "no line"}))
    data = must(api.a.get("/v1/task/create"))
    assert [l["value"] for l in data["caller_line_list"]] == [world["line"]["id"]]
    assert full["id"] not in json.dumps(data)
    line = data["caller_line_list"][0]
    assert set(line) == {"name", "value", "residue", "call_line", "available_at", "call_number"}
    assert line["residue"] == 10 and line["call_number"] == "13530525008"
    assert data["enum_disable_dial_timegroup"] == [{"uuid": world["tg"]["uuid"], "name": "午休时间"}]
    assert data["max_recycle_limit"] == 50
    assert data["auto_recycle_rules"] == [{"id": world["rule"]["id"], "name": "默认", "remark": "默认", "status": True}]
    assert [c["name"] for c in data["customer_service"]] == ["组2"]
    assert data["outbound_group"][0]["id"] == world["group"]["id"] and data["outbound_group"][0]["debug"] is True


def test_create_task_fills_defaults_as_the_seed_entity(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    expected = {
        "start": 0, "destination_dialplan": "XML", "destination_context": "default",
        "originate_variables": "{execute_on_media=start_da2}", "maximumcall": 1, "recycle_limit": 0, "name": "测试任务",
        "remark": "第一个任务", "destination_extension": world["group"]["id"], "disable_dial_timegroup": world["tg"]["uuid"],
        "random_assignment_number": 0, "caller_line_id": world["line"]["id"], "call_pause_second": 10,
        "_originate_timeout": 60, "customer_service_id": world["cs"]["id"], "auto_recycle_rule_id": world["rule"]["id"],
        "_origination_caller_id_number": "13530525008", "dial_format": "sofia/gateway/gw1/%s", "call_notify_type": 2,
        "user_id": "tenant-a", "start_str": "暂停", "group_str": "测试",
        "progress_bar": {"total": 0, "progress": 0, "percent": 0},
    }
    for key, value in expected.items():
        assert t[key] == value, key
    uuid.UUID(t["uuid"])
    assert time.strptime(t["create_datetime"], "%Y-%m-%d %H:%M:%S") and t["alter_datetime"]
    assert set(t["group"]) >= {"id", "name", "user_id", "debug", "deleted_at", "created_at", "updated_at", "tag_scene_id", "default"}


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"maximumcall": 11}, "maximumcall"),
        ({"maximumcall": 0}, "maximumcall"),
        ({"recycle_limit": 1}, "recycle_limit"),
        ({"random_assignment_number": 2}, "random_assignment_number"),
        ({"name": ""}, "name"),
        ({"_originate_timeout": "sixty"}, "_originate_timeout"),
        ({"colour": "red"}, "colour"),
        ({"originate_variables": "{api_on_answer=system rm}"}, "originate_variables"),
        ({"originate_variables": "{execute_on_answer=bgsystem x}"}, "originate_variables"),
        ({"destination_context": "default evil"}, "destination_context"),
        ({"caller_line_id": str(uuid.uuid4())}, "caller_line_id"),
        ({"auto_recycle_rule_id": 999999}, "auto_recycle_rule_id"),
        ({"destination_extension": 999999}, "destination_extension"),
        ({"disable_dial_timegroup": "not-a-uuid"}, "disable_dial_timegroup"),
        ({"call_notify_url": "ftp://x"}, "call_notify_url"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_create_task_validation_names_the_field(api, world, over, field):
    status, body = api.a.post("/v1/task", task_body(world, **over))
    assert status == 400 and body["code"] == 400 and body["status"] == "error"
    assert body["message"].startswith(field), body["message"]


def test_missing_required_fields_are_named(api, world):
    body = task_body(world)
    del body["caller_line_id"]
    status, resp = api.a.post("/v1/task", body)
    assert status == 400 and resp["message"].startswith("caller_line_id")


def test_malformed_bodies_get_clear_errors(api, world):
    for raw, msg in ((b"{not json", "not valid JSON"), (b"[1,2]", "must be a JSON object"), (b"", "required")):
        status, body = api.a.request("POST", "/v1/task", raw)
        assert status == 400 and msg in body["message"]
    status, body = api.a.request("POST", "/v1/task", b"x" * (17 * 1024 * 1024))
    assert status == 413 and "larger" in body["message"]


def test_task_list_is_paged_filtered_and_nested(api, world):
    for i in range(3):
        must(api.a.post("/v1/task", task_body(world, name=f"任务{i}")))
    status, page = api.a.get("/v1/task?page=1&page_size=2")
    # The seed's shape: `data` is the array of tasks, the paging figures beside it.
    assert status == 200 and (page["total"], page["page"], page["page_size"]) == (3, 1, 2) and len(page["data"]) == 2
    item = page["data"][0]
    assert item["caller_line"]["id"] == world["line"]["id"] and item["caller_line"]["call_line_used"] == 0
    assert item["auto_recycle_rule"]["id"] == world["rule"]["id"] and item["auto_recycle_rule"]["status"] is True
    assert item["disable_time_group"]["uuid"] == world["tg"]["uuid"]
    assert item["group"]["name"] == "测试" and item["progress_bar"] == {"total": 0, "progress": 0, "percent": 0}
    assert api.a.get("/v1/task?name=%E4%BB%BB%E5%8A%A11")[1]["total"] == 1  # name contains 任务1
    assert api.a.get("/v1/task?start=1")[1] == {"code": 200, "status": "ok", "message": "获取任务列表成功", "data": [],
                                                 "total": 0, "page": 1, "page_size": 20}
    status, body = api.a.get("/v1/task?page_size=1000")
    assert status == 400 and body["message"].startswith("page_size")


def test_update_start_stop_import_progress_reset_delete(api, world, db):
    t = must(api.a.post("/v1/task", task_body(world)))
    tid = t["uuid"]
    u = must(api.a.put(f"/v1/task/{tid}", {"maximumcall": 5, "remark": "改"}))
    assert u["maximumcall"] == 5 and u["remark"] == "改" and u["name"] == "测试任务"
    status, body = api.a.put(f"/v1/task/{tid}", {"maximumcall": 50})
    assert status == 400 and body["message"].startswith("maximumcall")
    must(api.a.get(f"/v1/task/start/{tid}"))
    assert must(api.a.get(f"/v1/task/{tid}"))["start_str"] == "开启"
    must(api.a.get(f"/v1/task/stop/{tid}"))
    phones = [{"phone": "18611228822"}, {"phone": "186-1122-8811"}, {"phone": "18611228822"}, {"phone": "12"},
              {"phone": "+44 20 7946 0958"}, {"phone": "010-6552-9988"}]
    result = must(api.a.post(f"/v1/task/import_task_customer/{tid}", {"customer_info_list": phones}))
    assert result["imported"] == 4 and result["duplicates"] == 1 and result["rejected"] == 1
    assert result["rejected_rows"][0]["index"] == 3
    listed = must(api.a.get(f"/v1/task/{tid}/numbers"))
    # The Beijing landline keeps its trunk prefix: the national dialling form.
    assert [n["phone"] for n in listed["list"]] == ["18611228822", "18611228811", "+442079460958", "01065529988"]
    prog = must(api.a.get(f"/v1/task/task_progress/{tid}"))
    assert prog["task_id"] == tid and prog["progress"] == {"total": 4, "progress": 0, "percent": 0}
    with db.transaction() as conn:
        conn.execute("UPDATE task_number SET status = 12, attempts = 1 WHERE phone = '18611228822'")
    assert must(api.a.get(f"/v1/task/task_progress/{tid}"))["progress"]["percent"] == 25
    assert must(api.a.put(f"/v1/task/{tid}/number_reset", {"status": [12], "keyword": "8822"}))["reset"] == 0
    assert must(api.a.put(f"/v1/task/{tid}/number_reset", {"status": [12], "keyword": "186-1122-8822"}))["reset"] == 1
    status, body = api.a.put(f"/v1/task/{tid}/number_reset", {"status": [1]})
    assert status == 400 and body["message"].startswith("status")
    with db.transaction() as conn:
        num = conn.execute("SELECT id, task_id, line_id FROM task_number n, (SELECT %s::uuid AS line_id) l LIMIT 1", (world["line"]["id"],)).fetchone()
        conn.execute(
            "INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine) VALUES (%s, %s, %s, 1, %s, 'fs1', 'e')",
            (num["id"], num["task_id"], num["line_id"], uuid.uuid4()),
        )
    status, body = api.a.get(f"/v1/task/destroy/{tid}")
    assert status == 409 and "in flight" in body["message"]
    with db.transaction() as conn:
        conn.execute("UPDATE call_attempt SET ended_at = now()")
    must(api.a.delete(f"/v1/task/{tid}"))
    assert api.a.get(f"/v1/task/{tid}")[0] == 404


def test_task_tags_come_from_its_script_group(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    data = must(api.a.get(f"/v1/task/{t['uuid']}/tag"))
    assert data["tag_scene"] == {"id": world["scene"]["id"], "name": "标签场景2", "description": "我是描述2"}
    assert data["tag_groups"] == [{"id": world["tag_group"]["id"], "name": "标签组1"}]
    assert data["tags"] == [{"id": world["tag"]["id"], "name": "测试标签", "description": "33"}]


def test_resources_crud_and_in_use_refusal(api, world):
    rule = must(api.a.put(f"/v1/auto_recycle_rule/{world['rule']['id']}", {"entries": [{"status": 11, "interval_min": 5, "times": 1}]}))
    assert rule["entries"] == [{"status": 11, "interval_min": 5.0, "times": 1}] and rule["name"] == "默认"
    assert api.a.put(f"/v1/caller_line/{world['line']['id']}", {"call_line": -1})[0] == 400
    must(api.a.post("/v1/task", task_body(world)))
    status, body = api.a.delete(f"/v1/caller_line/{world['line']['id']}")
    assert status == 409 and "used by a task" in body["message"]
    assert must(api.a.get("/v1/disable_dial_timegroup"))["list"][0]["ranges"][0]["start_time"] == "12:00:00"


def test_streamed_csv_upload_and_forged_upload_leaves_nothing(api, world, db):
    t = must(api.a.post("/v1/task", task_body(world)))
    csv = ("name,phone\n" + "".join(f"n{i},1860000{i:04d}\n" for i in range(3000)) + "bad,12ab\n").encode()
    result = must(api.a.request("POST", f"/v1/task/{t['uuid']}/numbers/csv", csv, "text/csv"))
    assert result["imported"] == 3000 and result["rejected"] == 1 and result["rejected_rows"][0]["line"] == 3002
    # A valid signature for another body: the streamed import is rolled back.
    other = f"/v1/task/{t['uuid']}/numbers/csv"
    headers = signed_headers(api.private_a, "app-a", "POST", other, b"phone\n18600009999\n")
    resp = urllib3.request("POST", api.url + other, body=b"phone\n18700000000\n", headers={**headers, "Content-Type": "text/csv"})
    assert resp.status == 401 and json.loads(resp.data)["code"] == 10001
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM task_number WHERE phone = '18700000000'").fetchone()["n"] == 0


def call_raw(api, method, path, body=b"", **over):
    headers = signed_headers(api.private_a, over.pop("app", "app-a"), method, path, body, over.pop("ts", None))
    headers.update(over.pop("headers", {}))
    resp = urllib3.request(method, api.url + path, body=body or None, headers=headers)
    return resp.status, json.loads(resp.data)


def test_signature_failures(api, world):
    path = "/v1/task"
    assert call_raw(api, "GET", path)[1]["code"] == 200
    assert call_raw(api, "GET", path, app="nobody")[1]["code"] == 10001
    stale = int(time.time() * 1000) - 6 * 60 * 1000
    status, body = call_raw(api, "GET", path, ts=stale)
    assert status == 401 and body["code"] == 10001 and "window" in body["message"]
    status, body = call_raw(api, "GET", path, headers={"sign": "AAAA"})
    assert body["code"] == 10001 and "signature" in body["message"]
    status, body = call_raw(api, "GET", "/v1/task?page=2")
    assert body["code"] == 200  # the query string is part of what is signed
    headers = signed_headers(api.private_a, "app-a", "GET", path, b"")
    assert json.loads(urllib3.request("GET", api.url + path + "?page=2", headers=headers).data)["code"] == 10001
    # Replay: the same signed request twice.
    headers = signed_headers(api.private_a, "app-a", "GET", path, b"")
    first = urllib3.request("GET", api.url + path, headers=headers)
    again = urllib3.request("GET", api.url + path, headers=headers)
    assert first.status == 200 and again.status == 401 and "already used" in json.loads(again.data)["message"]
    # Signed for another path.
    headers = signed_headers(api.private_a, "app-a", "GET", "/v1/caller_line", b"")
    assert json.loads(urllib3.request("GET", api.url + path, headers=headers).data)["code"] == 10001
    assert api.nokey.get(path)[1]["code"] == 10002
    assert json.loads(urllib3.request("GET", api.url + path).data)["code"] == 10001


def test_a_signature_sent_many_times_at_once_is_served_once(api, world):
    """Concurrent requests are recorded by the replay guard in shared batches."""
    import gevent

    path = "/v1/task"
    replayed = signed_headers(api.private_a, "app-a", "GET", path, b"")
    others = [signed_headers(api.private_a, "app-a", "GET", f"{path}?page={i}", b"") for i in range(1, 21)]
    jobs = [gevent.spawn(urllib3.request, "GET", api.url + path, headers=replayed) for _ in range(20)]
    jobs += [gevent.spawn(urllib3.request, "GET", api.url + f"{path}?page={i}", headers=h) for i, h in enumerate(others, 1)]
    gevent.joinall(jobs, raise_error=True)
    codes = [json.loads(j.value.data)["code"] for j in jobs]
    assert codes[:20].count(200) == 1 and codes[:20].count(10001) == 19
    assert codes[20:] == [200] * 20


def test_tenants_never_see_each_other(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    tid = t["uuid"]
    b = api.b
    for method, path in [
        ("GET", f"/v1/task/{tid}"), ("PUT", f"/v1/task/{tid}"), ("DELETE", f"/v1/task/{tid}"),
        ("GET", f"/v1/task/destroy/{tid}"), ("GET", f"/v1/task/start/{tid}"), ("GET", f"/v1/task/stop/{tid}"),
        ("POST", f"/v1/task/import_task_customer/{tid}"), ("GET", f"/v1/task/task_progress/{tid}"),
        ("PUT", f"/v1/task/{tid}/number_reset"), ("GET", f"/v1/task/{tid}/tag"), ("GET", f"/v1/task/{tid}/numbers"),
        ("GET", f"/v1/caller_line/{world['line']['id']}"), ("PUT", f"/v1/caller_line/{world['line']['id']}"),
        ("DELETE", f"/v1/caller_line/{world['line']['id']}"),
        ("GET", f"/v1/disable_dial_timegroup/{world['tg']['uuid']}"), ("DELETE", f"/v1/disable_dial_timegroup/{world['tg']['uuid']}"),
        ("GET", f"/v1/auto_recycle_rule/{world['rule']['id']}"), ("DELETE", f"/v1/auto_recycle_rule/{world['rule']['id']}"),
        ("GET", f"/v1/outbound_group/{world['group']['id']}"), ("DELETE", f"/v1/outbound_group/{world['group']['id']}"),
        ("GET", f"/v1/customer_service/{world['cs']['id']}"), ("DELETE", f"/v1/customer_service/{world['cs']['id']}"),
        ("GET", f"/v1/tag_scene/{world['scene']['id']}"), ("DELETE", f"/v1/tag_scene/{world['scene']['id']}"),
        ("GET", f"/v1/tag_group/{world['tag_group']['id']}"), ("DELETE", f"/v1/tag_group/{world['tag_group']['id']}"),
        ("GET", f"/v1/tag/{world['tag']['id']}"), ("DELETE", f"/v1/tag/{world['tag']['id']}"),
    ]:
        payload = {"customer_info_list": [{"phone": "18611228822"}]} if "import" in path else ({"status": [12]} if "reset" in path else ({} if method in ("PUT",) else None))
        body = json.dumps(payload).encode() if payload is not None else b""
        if method == "PUT" and not payload:
            body = b'{"name": "stolen"}'
        status, resp = b.request(method, path, body)
        assert status == 404 and resp["data"] is None, (method, path, resp)
        assert "tenant-a" not in json.dumps(resp)
    # Lists are empty, references to A's resources are refused.
    assert b.get("/v1/task")[1]["data"] == []
    for path in ("/v1/caller_line", "/v1/auto_recycle_rule", "/v1/outbound_group", "/v1/tag", "/v1/tag_group"):
        assert must(b.get(path))["total"] == 0, path
    status, resp = b.post("/v1/task", task_body(world))
    assert status == 400 and resp["message"].startswith("caller_line_id")
    status, resp = b.post("/v1/tag_group", {"name": "x", "scene_id": world["scene"]["id"]})
    assert status == 400 and resp["message"].startswith("scene_id")
    assert must(api.a.get(f"/v1/task/{tid}"))["name"] == "测试任务"  # untouched


EDIT = {
    "taskName": "自动外呼任务名称", "taskExecStartDate": "2026-11-27", "taskExecEndDate": "2026-12-27",
    "taskExecTimes": [{"taskExecTimeStartStr": "09:00:00", "taskExecTimeEndStr": "12:00:00"}], "taskDesc": "自动外呼描述",
    "skillSetId": "1462016331580064", "outboundNumberGroupId": "1070678044124225", "strategyDisplaySwitch": True,
    "sendNumberStrategy": 0, "abandonmentRate": 2, "multiplyPower": 2, "maxRingingDuration": 20, "acw": 10,
    "outboundPhoneGroups": [{"name": "本人", "identify": "default", "autoOutboundSwitch": 1, "autoOutboundInterval": 5, "autoOutboundTimes": 1}],
}
EDIT_PATH = "/speech/openapi/v1/task/outbound/edit"


@pytest.fixture
def seed_group(db) -> int:
    """The seed's number group id (outboundNumberGroupId "1070678044124225"), tenant A's."""
    from tests import factories as f

    return f.number_group(db, {"01012345678": None}, user="tenant-a", group_id=1070678044124225)


def test_outbound_edit_before_start_changes_everything(api, world, db, seed_group):
    t = must(api.a.post("/v1/task", task_body(world)))
    status, body = api.a.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"])})
    assert status == 200 and body == {"code": "10000", "message": "请求成功", "data": True}
    with db.connection() as conn:
        row = conn.execute("SELECT * FROM task WHERE uuid = %s", (t["uuid"],)).fetchone()
    assert row["name"] == "自动外呼任务名称" and str(row["date_start"]) == "2026-11-27" and row["acw"] == 10
    assert row["_originate_timeout"] == 20 and row["daily_windows"] == [["09:00:00", "12:00:00"]]
    assert row["phone_groups"][0]["autoOutboundInterval"] == 5 and row["multiply_power"] == 2
    assert row["skill_set_id"] == str(world["cs"]["id"])  # the tenant's group, whose queue is sales@default
    assert (row["outbound_number_group_id"], row["strategy_display_switch"]) == ("1070678044124225", True)


def test_outbound_edit_refuses_a_number_group_the_tenant_does_not_have(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    _, body = api.a.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"])})
    assert body["code"] == "29002" and body["message"] == "outboundNumberGroupId: names no number group of this tenant"


def test_outbound_edit_refuses_a_skill_group_the_tenant_does_not_have(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    _, body = api.a.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT})  # the seed's example id: not this tenant's
    assert body["code"] == "29002" and body["message"].startswith("skillSetId: names no usable skill group"), body


@pytest.mark.parametrize(
    ("over", "code", "text"),
    [
        ({"maxRingingDuration": 51}, "29002", "maxRingingDuration"),
        ({"acw": 0}, "29002", "acw"),
        ({"taskName": "x" * 51}, "29002", "taskName"),
        ({"sendNumberStrategy": 1, "abandonmentRate": None}, "29002", "abandonmentRate"),
        ({"sendNumberStrategy": 0, "multiplyPower": None}, "29002", "multiplyPower"),
        ({"outboundPhoneGroups": [{"name": "a", "autoOutboundSwitch": 1, "autoOutboundInterval": 4, "autoOutboundTimes": 1}]}, "29002", "autoOutboundInterval"),
        ({"outboundPhoneGroups": [{"name": "a", "autoOutboundSwitch": 1, "autoOutboundInterval": 5, "autoOutboundTimes": 4}]}, "29002", "autoOutboundTimes"),
        ({"outboundPhoneGroups": []}, "29002", "outboundPhoneGroups"),
        ({"taskId": 999999}, "20001", "taskId"),
    ],
)
def test_outbound_edit_ranges_and_codes(api, world, over, code, text):
    t = must(api.a.post("/v1/task", task_body(world)))
    body = {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"]), **over}
    body = {k: v for k, v in body.items() if v is not None}
    _, resp = api.a.post(EDIT_PATH, body)
    assert resp["code"] == code and resp["data"] is False and text in resp["message"], resp


def test_outbound_edit_after_start_allows_only_the_running_fields(api, world, seed_group):
    t = must(api.a.post("/v1/task", task_body(world)))
    must(api.a.get(f"/v1/task/start/{t['uuid']}"))
    must(api.a.get(f"/v1/task/stop/{t['uuid']}"))  # paused counts as started
    _, resp = api.a.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"])})
    assert resp["code"] == "29002" and "taskName" in resp["message"]
    running = {k: EDIT[k] for k in ("outboundNumberGroupId", "strategyDisplaySwitch", "sendNumberStrategy", "multiplyPower", "outboundPhoneGroups")}
    assert api.a.post(EDIT_PATH, {"taskId": t["taskId"], **running})[1]["code"] == "10000"
    _, resp = api.a.post(EDIT_PATH, {"taskId": t["taskId"], **{k: v for k, v in running.items() if k != "multiplyPower"}, "taskExecTimes": EDIT["taskExecTimes"]})
    assert resp["code"] == "29002"


def test_outbound_edit_auth_codes(api, world):
    t = must(api.a.post("/v1/task", task_body(world)))
    assert api.nokey.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"])})[1]["code"] == "10002"
    _, resp = call_raw(api, "POST", EDIT_PATH, json.dumps({"taskId": 1}).encode(), headers={"sign": "bad"})
    assert resp["code"] == "10001"
    # Another tenant's taskId is unknown.
    assert api.b.post(EDIT_PATH, {"taskId": t["taskId"], **EDIT, "skillSetId": str(world["cs"]["id"])})[1]["code"] == "20001"


def test_openapi_and_docs_are_served_without_auth(api):
    spec = json.loads(urllib3.request("GET", api.url + "/openapi.json").data)
    assert spec["openapi"].startswith("3.") and "/v1/task" in spec["paths"] and EDIT_PATH in spec["paths"]
    assert "TaskIn" in spec["components"]["schemas"]
    assert "_originate_timeout" in spec["components"]["schemas"]["TaskIn"]["properties"]
    assert b"eslbridge task API" in urllib3.request("GET", api.url + "/docs").data


def test_unknown_route_and_method_answer_the_envelope(api):
    status, body = api.a.get("/v1/nothing")
    assert status == 404 and body["status"] == "error"
    status, body = api.a.request("PATCH", "/v1/task")
    assert status == 405 and body["status"] == "error"


def test_rule_with_a_status_twice_is_a_bad_parameter(api):
    status, body = api.a.post("/v1/auto_recycle_rule", {"name": "r", "entries": [
        {"status": 12, "interval_min": 1, "times": 1}, {"status": 12, "interval_min": 2, "times": 1}]})
    assert status == 400 and body["message"].startswith("entries") and "twice" in body["message"]


def test_api_command_with_two_workers_serves_and_stops(db, db_url, keys, free_port):
    import os
    import signal
    import subprocess
    import sys

    from eslbridge.api.client import Client
    from eslbridge.store import apps
    from tests.helpers import wait_for

    (priv, pub), _ = keys
    with db.transaction() as conn:
        apps.create_app(conn, "app-w", "tenant-w", "w", pub.decode())
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "api", "--listen", f"127.0.0.1:{free_port}", "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = Client(f"http://127.0.0.1:{free_port}", "app-w", priv)

        def answered():
            try:
                return client.get("/v1/task")[0] == 200
            except Exception:
                return False

        wait_for(answered, timeout=30, interval=0.2)
        statuses = {client.get("/v1/task")[0] for _ in range(20)}
        assert statuses == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
