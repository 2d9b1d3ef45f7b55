"""The wallboard's figures (/ui/data, /v1/wallboard) and the API's metrics and probes, over real HTTP."""

from __future__ import annotations

import uuid

import pytest
import urllib3
from prometheus_client.parser import text_string_to_metric_families

from eslbridge.causes import Status
from eslbridge.store import board, claims, nodes
from tests import factories as f
from tests.helpers import wait_for

http = urllib3.PoolManager(retries=False, timeout=10)


def add_attempt(conn, number_id: int, task: str, line: str, status: int, *, ended: bool = True,
                answered: bool = False, abandoned: bool = False, node: str = "fs1") -> None:
    conn.execute(
        "INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, status, "
        "answered_at, hangup_at, ended_at, abandoned) VALUES (%s, %s, %s, 1, %s, %s, 'e1', %s, "
        "CASE WHEN %s THEN now() END, CASE WHEN %s THEN now() END, CASE WHEN %s THEN now() END, %s)",
        (number_id, task, line, uuid.uuid4(), node, status, answered, ended, ended, abandoned))
    conn.execute("UPDATE task_number SET status = %s, attempts = 1 WHERE id = %s", (status, number_id))


def seed_board(db) -> dict[str, str]:
    """Two tenants: t1 has a robot task (4 answered, 2 up) and an agent task (4 answered, 1 of them
    abandoned; 3 agents ready, 2 busy, 1 in wrap-up) on fs1; t2 has a task on fs2, which is paused."""
    line1 = f.line(db, "t1", call_line=10, node="fs1", name="trunk-a")
    line2 = f.line(db, "t2", call_line=5, node="fs2", name="trunk-b")
    robot = f.task(db, line1, [f"1380000{i:04d}" for i in range(10)], name="robot one", maximumcall=5)
    with db.transaction() as conn:
        cs = conn.execute("INSERT INTO customer_service (user_id, name, status, caller_line_id, queue) "
                          "VALUES ('t1', 'sales', 1, %s, 'sales@default') RETURNING id", (line1,)).fetchone()["id"]
    agents = f.task(db, line1, [f"1390000{i:04d}" for i in range(8)], name="agents one", skill_set_id=str(cs),
                    send_number_strategy=1, abandonment_rate=3, maximumcall=5)
    other = f.task(db, line2, [f"1370000{i:04d}" for i in range(5)], user="t2", name="other tenant")
    with db.transaction() as conn:
        ids = {t: [r["id"] for r in conn.execute("SELECT id FROM task_number WHERE task_id = %s ORDER BY id", (t,))]
               for t in (robot, agents, other)}
        for n in ids[robot][:4]:
            add_attempt(conn, n, robot, line1, Status.ANSWERED, answered=True)
        for n in ids[robot][4:6]:
            add_attempt(conn, n, robot, line1, Status.TALKING, ended=False, answered=True)
        for n in ids[agents][:3]:
            add_attempt(conn, n, agents, line1, Status.ANSWERED, answered=True)
        add_attempt(conn, ids[agents][3], agents, line1, Status.ABANDONED, answered=True, abandoned=True)
        add_attempt(conn, ids[other][0], other, line2, Status.BUSY, node="fs2")
        conn.execute("INSERT INTO task_pacing (task_id, engine, agents_ready, agents_busy, agents_wrap_up, "
                     "agents_logged_in) VALUES (%s, 'e1', 3, 2, 1, 6)", (agents,))
        attempt = conn.execute("SELECT id FROM call_attempt LIMIT 1").fetchone()["id"]
        for user, task, dead in (("t1", robot, False), ("t2", other, True)):
            conn.execute("INSERT INTO notification_outbox (user_id, task_id, attempt_id, url, payload, dead_at) "
                         "VALUES (%s, %s, %s, 'http://example.invalid/h', '{}', CASE WHEN %s THEN now() END)",
                         (user, task, attempt, dead))
        nodes.pause(conn, "fs2", "ops@host", "upgrade")
        conn.execute("INSERT INTO engine (id) VALUES ('e1')")
        claims.node_states(conn, "e1", {"fs1": True, "fs2": False})
        operator = "ebt_operator-" + uuid.uuid4().hex
        tenant = "ebt_tenant-" + uuid.uuid4().hex
        board.create_token(conn, operator, None, "wall")
        board.create_token(conn, tenant, "t1", "t1 wall")
    return {"robot": robot, "agents": agents, "other": other, "line1": line1, "line2": line2,
            "operator": operator, "tenant": tenant}


def data(api, token: str | None) -> urllib3.BaseHTTPResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.request("GET", api.url + "/ui/data", headers=headers)


def test_an_operator_token_shows_every_tenant_with_progress_calls_outcomes_agents_and_webhooks(db, api):
    s = seed_board(db)
    resp = data(api, s["operator"])
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    d = resp.json()
    assert d["scope"] == {"tenant": None}
    tasks = {t["name"]: t for t in d["tasks"]}
    assert set(tasks) == {"robot one", "agents one", "other tenant"}
    robot = tasks["robot one"]
    assert (robot["total"], robot["dialled"], robot["percent"], robot["finished"], robot["in_flight"],
            robot["answered"]) == (10, 6, 60, 4, 2, 4)
    assert robot["call_centre"] is None
    centre = tasks["agents one"]["call_centre"]
    assert (centre["answered_1h"], centre["abandoned_1h"], centre["abandonment_1h_pct"]) == (4, 1, 25.0)
    assert centre["agents"] == {"ready": 3, "busy": 2, "wrap_up": 1, "logged_in": 6}
    lines = {x["name"]: x for x in d["lines"]}
    assert (lines["trunk-a"]["in_flight"], lines["trunk-a"]["call_line"], lines["trunk-a"]["node"]) == (2, 10, "fs1")
    by_node = {n["name"]: n for n in d["nodes"]}
    assert by_node["fs2"]["paused"] is True and by_node["fs2"]["paused_by"] == "ops@host"
    assert by_node["fs1"]["paused"] is False and by_node["fs1"]["in_flight"] == 2
    assert by_node["fs1"]["links"][0]["engine"] == "e1" and by_node["fs1"]["links"][0]["connected"] is True
    assert {o["name"]: o["calls"] for o in d["outcomes_last_hour"]} == {"answered": 7, "busy": 1, "abandoned": 1}
    assert d["webhooks"]["pending"] == 1 and d["webhooks"]["dead"] == 1
    assert d["totals"] == {"tasks": 3, "in_flight": 2, "ended_last_hour": 9}


def test_a_tenant_token_and_a_signed_request_see_only_that_tenant(db, api):
    s = seed_board(db)
    d = data(api, s["tenant"]).json()
    assert d["scope"] == {"tenant": "t1"}
    assert {t["name"] for t in d["tasks"]} == {"robot one", "agents one"}
    assert [x["name"] for x in d["lines"]] == ["trunk-a"]
    assert [n["name"] for n in d["nodes"]] == ["fs1"]
    assert d["webhooks"]["dead"] == 0 and d["webhooks"]["pending"] == 1
    assert all(n["paused_by"] is None for n in d["nodes"])  # who paused a node is the operator's business
    # tenant-a's app (tests/integration/conftest.py) signs; its tenant has none of these tasks.
    status, body = api.a.get("/v1/wallboard")
    assert status == 200 and body["data"]["scope"] == {"tenant": "tenant-a"} and body["data"]["tasks"] == []


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ebt_nope"], ids=["missing", "not-bearer", "unknown"])
def test_the_figures_need_a_known_bearer_token(db, api, header):
    seed_board(db)
    resp = http.request("GET", api.url + "/ui/data", headers={"Authorization": header} if header else {})
    assert resp.status == 401 and resp.json()["message"].startswith("authentication failed")


def test_a_revoked_token_is_refused_once_its_cached_scope_expires(db, api):
    s = seed_board(db)
    assert data(api, s["tenant"]).status == 200
    with db.transaction() as conn:
        token_id = next(r["id"] for r in board.list_tokens(conn) if r["user_id"] == "t1")
        assert board.revoke_token(conn, token_id)
    wait_for(lambda: data(api, s["tenant"]).status == 401, timeout=10)


def test_figures_are_computed_once_per_scope_while_they_are_fresh(db):
    from eslbridge.api.wallboard import Wallboard

    s = seed_board(db)
    clock = [100.0]
    computed: list[str] = []
    wall = Wallboard(db, on_compute=computed.append, clock=lambda: clock[0])
    first = wall.figures(None)
    assert wall.figures(None) == first and wall.figures("t1") != first
    assert computed == ["operator", "tenant"]
    with db.transaction() as conn:
        conn.execute("UPDATE task SET start = 0 WHERE uuid = %s", (s["other"],))
    clock[0] += 1.01  # 23 numbers: reused for just over one second
    assert b"other tenant" not in wall.figures(None)
    assert computed == ["operator", "tenant", "operator"]


def test_the_page_and_its_files_are_served_with_a_strict_content_policy(api):
    page = http.request("GET", api.url + "/ui")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b'src="/ui/wallboard.js"' in page.data
    for name, kind in (("wallboard.js", "text/javascript"), ("wallboard.css", "text/css")):
        resp = http.request("GET", f"{api.url}/ui/{name}")
        assert resp.status == 200 and resp.headers["Content-Type"].startswith(kind) and len(resp.data) > 500
    assert http.request("GET", api.url + "/ui/secrets.txt").status == 404


def test_the_api_serves_its_metrics_and_probes(db, api):
    seed_board(db)
    for _ in range(3):
        api.a.get("/v1/task")
    api.nokey.get("/v1/task")  # refused: 401
    alive = http.request("GET", api.url + "/healthz")
    ready = http.request("GET", api.url + "/readyz")
    text = http.request("GET", api.url + "/metrics").data.decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert alive.status == 200 and alive.json() == {"alive": True}
    assert ready.status == 200 and ready.json()["database"] == "ok"
    assert ready.json()["nodes"]["fs2"] == {"paused": True, "esl": {"e1": "down"}}
    ok = (("method", "GET"), ("route", "/v1/task"), ("status", "200"))
    assert samples[("eslbridge_api_requests_total", ok)] == 3
    assert samples[("eslbridge_api_requests_total", (("method", "GET"), ("route", "/v1/task"), ("status", "401")))] == 1
    assert samples[("eslbridge_api_request_seconds_count", (("route", "/v1/task"),))] == 4
    assert ("eslbridge_api_postgres_errors_total", ()) in samples


def test_api_readiness_fails_when_postgresql_is_away(db, api, pg_server_url):
    import psycopg

    name = psycopg.conninfo.conninfo_to_dict(db.url)["dbname"]
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        resp = wait_for(lambda: (r := http.request("GET", api.url + "/readyz")).status == 503 and r, timeout=20)
        assert resp.json()["ready"] is False and resp.json()["database"].startswith("error: ")
        assert http.request("GET", api.url + "/healthz").status == 200
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
