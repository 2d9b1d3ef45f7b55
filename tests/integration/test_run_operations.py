"""A real `eslbridge run` process: JSON log lines with the call's fields and no secret, /metrics on
ESLBRIDGE_METRICS_LISTEN, readiness naming the node whose password is wrong."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psycopg
import urllib3

from eslbridge.causes import Status
from eslbridge.sim.script import Rules
from eslbridge.sim.server import SimConfig, Switch
from tests import factories as f
from tests.helpers import wait_for

SIM_PASSWORD = "right-pass-5f1c"
WRONG_PASSWORD = "wrong-pass-9e2d"
DB_PASSWORD = "db-pass-77aa"


def test_run_logs_json_with_call_fields_never_a_secret_and_serves_metrics(db, db_url, free_port, tmp_path):
    config = SimConfig(password=SIM_PASSWORD, time_scale=1.0, heartbeat_s=0, sps=1000, rules=Rules(talk_s=60.0))
    good = Switch(config).start("127.0.0.1", 0)
    other = Switch(SimConfig(password="another-one-1234", heartbeat_s=0)).start("127.0.0.1", 0)
    port = good.address[1]
    line = f.line(db, call_line=3)
    task = f.task(db, line, [f"138000000{i}0" for i in range(3)], maximumcall=3)
    # The embedded server trusts local connections: the password in the URL is only there to be hidden.
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    url = psycopg.conninfo.make_conninfo(**{**info, "password": DB_PASSWORD})
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": url, "ESLBRIDGE_ENGINE_ID": "e-json", "ESLBRIDGE_NOTIFY": "false",
           "ESLBRIDGE_FS_NODES": f"fs1=127.0.0.1:{port}:{SIM_PASSWORD}:100,fs2=127.0.0.1:{other.address[1]}:{WRONG_PASSWORD}:100",
           "ESLBRIDGE_RECONCILE_AFTER_S": "1", "ESLBRIDGE_LOG_FORMAT": "json",
           "ESLBRIDGE_METRICS_LISTEN": f"127.0.0.1:{free_port}"}
    err = tmp_path / "engine.err"
    with open(err, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "run"], env=env, stdout=subprocess.DEVNULL, stderr=sink)
    http = urllib3.PoolManager(retries=False, timeout=5)
    try:
        wait_for(lambda: sum(1 for r in f.numbers(db, task).values() if r["status"] == Status.TALKING) == 3, timeout=60)
        metrics = http.request("GET", f"http://127.0.0.1:{free_port}/metrics").data.decode()
        ready = http.request("GET", f"http://127.0.0.1:{free_port}/readyz")
        # FreeSWITCH restarts: the calls vanish without a hangup; the engine reconnects and ends them as LOST.
        good.stop()
        good = Switch(config).start("127.0.0.1", port)
        wait_for(lambda: f.all_final(db, task), timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        good.stop()
        other.stop()
    assert 'eslbridge_esl_connected{node="fs1"} 1.0' in metrics
    assert 'eslbridge_esl_connected{node="fs2"} 0.0' in metrics
    assert ready.status == 503 and ready.json()["nodes"]["fs2"]["esl"] == "down"
    assert "ESL password" in ready.json()["nodes"]["fs2"]["error"]

    text = err.read_text()
    for secret in (SIM_PASSWORD, WRONG_PASSWORD, DB_PASSWORD):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= set(x) for x in lines)
    refused = [x for x in lines if x.get("node") == "fs2" and "refused the ESL password" in x["message"]]
    assert len(refused) == 1  # said once, not at every retry
    lost = [x for x in lines if "LOST" in x["message"] and "call_uuid" in x]
    attempts = {str(a["call_uuid"]): a for a in f.attempts(db, task)}
    assert len(lost) == 3 and {x["call_uuid"] for x in lost} == set(attempts)
    for x in lost:
        a = attempts[x["call_uuid"]]
        assert (x["task"], x["number"], x["node"]) == (task, a["number_id"], "fs1")
    assert all(a["status"] == Status.FAILED and a["hangup_cause"] == "LOST" for a in attempts.values())
