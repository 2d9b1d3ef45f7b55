"""Operating the engine: node drain, Prometheus metrics, health probes; real sockets, real PostgreSQL."""

from __future__ import annotations

import pytest
import urllib3
from prometheus_client.parser import text_string_to_metric_families

from eslbridge import cli
from eslbridge.causes import Status
from eslbridge.config import Settings
from eslbridge.esl.link import NodeConfig
from eslbridge.service import Engine
from eslbridge.sim.server import SimConfig, Switch
from tests import factories as f
from tests.helpers import wait_for

http = urllib3.PoolManager(retries=False, timeout=10)


def node(name: str, switch: Switch, **kw: object) -> NodeConfig:
    return NodeConfig(name=name, host=switch.address[0], port=switch.address[1], calls_per_second=200.0,
                      backoff_base_s=0.05, backoff_cap_s=0.2, **kw)  # type: ignore[arg-type]


def engine_with(db, nodes: list[NodeConfig], **settings: object) -> Engine:
    base: dict[str, object] = {"engine_id": "e1", "job_grace_s": 0.3, "reconcile_after_s": 0.5, "tick_s": 0.02,
                               "notify": False, "metrics_listen": "127.0.0.1:0"}
    base.update(settings)
    engine = Engine(db, Settings(**base), nodes).start()  # type: ignore[arg-type]
    for link in engine.links.values():
        link.wait_up(10)
    return engine


def ops_url(engine: Engine, path: str) -> str:
    return f"http://127.0.0.1:{engine.ops_server.server_port}{path}"


def scrape(engine: Engine) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    resp = http.request("GET", ops_url(engine, "/metrics"))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.data.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def phones(n: int, digit: str) -> list[str]:
    return [f"1380000{i:03d}{digit}" for i in range(n)]


@pytest.fixture
def two_switches():
    # Digit 0: answered, 0.15 s of talk; digit 8: answered, up for 6 s.
    config = SimConfig(time_scale=0.05, heartbeat_s=0, sps=1000)
    a, b = Switch(config).start("127.0.0.1", 0), Switch(config).start("127.0.0.1", 0)
    yield a, b
    a.stop()
    b.stop()


def on_node(db, name: str) -> list[dict]:
    return [a for a in f.attempts(db) if a["node"] == name]


def test_a_paused_node_gets_no_new_calls_its_calls_finish_and_the_other_node_carries_on(db, db_url, two_switches,
                                                                                          monkeypatch, capsys):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    sw1, sw2 = two_switches
    line1, line2 = f.line(db, call_line=5, node="fs1"), f.line(db, call_line=5, node="fs2")
    f.task(db, line1, phones(300, "8"), maximumcall=5)  # long calls: five are up when the drain starts
    f.task(db, line2, phones(300, "0"), maximumcall=5)
    engine = engine_with(db, [node("fs1", sw1), node("fs2", sw2)])
    try:
        wait_for(lambda: len(on_node(db, "fs1")) == 5 and len(on_node(db, "fs2")) >= 5, timeout=30)
        assert cli.main(["node", "pause", "fs1", "--reason", "kernel upgrade"]) == 0
        assert "node fs1 paused since" in capsys.readouterr().out
        wait_for(lambda: "fs1" in engine.dialer.paused)
        dialled_fs1 = len(on_node(db, "fs1"))
        assert dialled_fs1 == 5 and all(a["ended_at"] is None for a in on_node(db, "fs1"))  # up when paused
        # Calls up on fs1 finish and are recorded; fs2 goes on dialling meanwhile.
        wait_for(lambda: all(a["ended_at"] is not None for a in on_node(db, "fs1")), timeout=30)
        fs2_then = len(on_node(db, "fs2"))
        wait_for(lambda: len(on_node(db, "fs2")) >= fs2_then + 20, timeout=30)
        assert len(on_node(db, "fs1")) == dialled_fs1
        assert all(a["status"] == Status.ANSWERED for a in on_node(db, "fs1"))
        assert sw1.originates == dialled_fs1
        samples = scrape(engine)
        assert sample(samples, "eslbridge_node_paused", node="fs1") == 1.0
        assert sample(samples, "eslbridge_node_paused", node="fs2") == 0.0
        # A paused node down for maintenance does not make the engine unready.
        assert http.request("GET", ops_url(engine, "/readyz")).status == 200

        assert cli.main(["node", "list", "--json"]) == 0
        listed = {line.split('"node": "')[1].split('"')[0]: line for line in capsys.readouterr().out.splitlines()}
        assert '"paused": true' in listed["fs1"] and '"paused": false' in listed["fs2"]
        assert '"e1": "up"' in listed["fs1"]

        assert cli.main(["node", "resume", "fs1"]) == 0
        wait_for(lambda: len(on_node(db, "fs1")) == dialled_fs1 + 5, timeout=30)
    finally:
        engine.stop()
    assert len(on_node(db, "fs1")) == sw1.originates  # every originate is an attempt, none twice


def test_pausing_a_node_nobody_knows_is_refused_naming_the_node(db, db_url, monkeypatch, capsys):
    monkeypatch.setenv("ESLBRIDGE_DATABASE_URL", db_url)
    f.line(db, node="fs1")
    assert cli.main(["node", "pause", "fs9"]) == cli.EXIT_USAGE
    assert "node: 'fs9' is not a node any line or engine names" in capsys.readouterr().err
    assert cli.main(["node", "resume", "fs1"]) == 0
    assert "node fs1 was not paused" in capsys.readouterr().out


def test_metrics_count_originates_outcomes_and_link_state_without_phones_or_call_uuids(db, two_switches):
    sw1, _ = two_switches
    line = f.line(db, call_line=10)
    phones_ = [f"1380000{i:03d}{'0' if i % 3 else '1'}" for i in range(30)]  # answered and busy
    task = f.task(db, line, phones_, maximumcall=10)
    engine = engine_with(db, [node("fs1", sw1)])
    try:
        wait_for(lambda: f.all_final(db, task), timeout=60)
        wait_for(lambda: sum(engine.recorder.outcomes.values()) == 30)
        text = http.request("GET", ops_url(engine, "/metrics")).data.decode()
        samples = scrape(engine)
    finally:
        engine.stop()
    assert sample(samples, "eslbridge_originates_total", node="fs1") == 30
    assert sample(samples, "eslbridge_originates_refused_total", node="fs1") == 0
    assert sample(samples, "eslbridge_call_outcomes_total", status="answered") == 20
    assert sample(samples, "eslbridge_call_outcomes_total", status="busy") == 10
    assert sample(samples, "eslbridge_esl_connected", node="fs1") == 1.0
    assert sample(samples, "eslbridge_esl_reconnects_total", node="fs1") == 0
    # 30 job results, plus answer and hangup of both loopback legs of the answered calls.
    assert sample(samples, "eslbridge_esl_events_total", node="fs1") >= 30 + 20 * 2
    lag = sample(samples, "eslbridge_esl_event_lag_seconds", node="fs1")
    assert lag is not None and 0 <= lag < 30
    assert sample(samples, "eslbridge_claim_batch_seconds_count") >= 1
    assert sample(samples, "eslbridge_recorder_batch_seconds_count") >= 1
    assert sample(samples, "eslbridge_recorder_batch_seconds_bucket", le="+Inf") == \
        sample(samples, "eslbridge_recorder_batch_seconds_count")
    assert sample(samples, "eslbridge_postgres_errors_total") == 0
    # Notifications are queued for the outbox (the task has no URL: none).
    assert sample(samples, "eslbridge_webhook_outbox", state="pending") == 0
    assert sample(samples, "process_cpu_seconds_total") is not None
    # Bounded labels: no phone number and no call uuid anywhere in the exposition.
    for a in f.attempts(db, task):
        assert str(a["call_uuid"]) not in text
    assert not any(p in text for p in phones_)


def test_calls_in_flight_by_node_line_and_task_are_read_on_scrape(db, two_switches):
    sw1, _ = two_switches
    line = f.line(db, call_line=4)
    task = f.task(db, line, phones(8, "8"), maximumcall=4)  # digit 8: answered, stays up
    engine = engine_with(db, [node("fs1", sw1)])
    try:
        wait_for(lambda: sum(1 for r in f.numbers(db, task).values() if r["status"] == Status.TALKING) == 4, timeout=30)
        samples = scrape(engine)
    finally:
        engine.stop()
    assert sample(samples, "eslbridge_calls_in_flight", node="fs1", line=line, task=task) == 4


def test_readiness_fails_while_a_node_is_down_and_health_stays_alive(db, free_port, two_switches):
    sw1, _ = two_switches
    down = NodeConfig(name="fs2", host="127.0.0.1", port=free_port, backoff_base_s=0.05, backoff_cap_s=0.2)
    engine = engine_with(db, [node("fs1", sw1), down])
    try:
        wait_for(lambda: engine.links["fs2"].last_error is not None)
        ready = http.request("GET", ops_url(engine, "/readyz"))
        alive = http.request("GET", ops_url(engine, "/healthz"))
        missing = http.request("GET", ops_url(engine, "/nope"))
    finally:
        engine.stop()
    assert alive.status == 200 and alive.json()["alive"] is True
    assert ready.status == 503
    body = ready.json()
    assert body["database"] == "ok" and body["ready"] is False
    assert body["nodes"]["fs1"] == {"esl": "up", "paused": False}
    assert body["nodes"]["fs2"]["esl"] == "down" and "cannot connect" in body["nodes"]["fs2"]["error"]
    assert missing.status == 404


def test_readiness_fails_when_postgresql_is_away(db, pg_server_url, two_switches):
    import psycopg

    sw1, _ = two_switches
    engine = engine_with(db, [node("fs1", sw1)])
    name = psycopg.conninfo.conninfo_to_dict(db.url)["dbname"]
    try:
        assert http.request("GET", ops_url(engine, "/readyz")).status == 200
        # Every connection of the database is cut, and new ones are refused.
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            resp = wait_for(lambda: (r := http.request("GET", ops_url(engine, "/readyz"))).status == 503 and r, timeout=20)
            assert resp.json()["database"].startswith("error: ")
            samples = scrape(engine)  # the scrape still answers, without its PostgreSQL figures
            assert sample(samples, "eslbridge_esl_connected", node="fs1") == 1.0
            assert sample(samples, "eslbridge_calls_in_flight") is None
            assert sample(samples, "eslbridge_postgres_errors_total") >= 1  # the scrape's own, at least
        finally:
            with psycopg.connect(pg_server_url, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        wait_for(lambda: http.request("GET", ops_url(engine, "/readyz")).status == 200, timeout=20)
    finally:
        engine.stop()


def test_metrics_listen_must_be_host_and_port():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="metrics_listen"):
        Settings(metrics_listen="9400")
    assert Settings(metrics_listen="0.0.0.0:9400").metrics_address() == ("0.0.0.0", 9400)
    assert Settings().metrics_address() is None
