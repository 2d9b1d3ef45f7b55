"""`eslbridge demo`: the real engine on an embedded PostgreSQL and the simulator.

Two tasks share one line (concurrency 30), a lunch-break time group blocks
nothing at demo time but is attached, and a retry rule recalls busy and
unanswered numbers once after a short interval. Outcomes come from the
simulator's default digit table with talk times scaled down.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent

from .causes import Status
from .config import Settings
from .esl.link import NodeConfig
from .service import Engine
from .sim.server import SimConfig, Switch
from .store import api_queries as aq
from .store import queries as q
from .api.app import serve
from .api.auth import keygen
from .api.client import Client
from .notify.receiver import VerifyingReceiver
from .notify.signing import new_secret
from .store.db import Database, embedded_url, migrate


def seed(db: Database, numbers: int, rng: random.Random, notify_url: str = "") -> list[str]:
    with db.transaction() as conn:
        conn.execute("INSERT INTO tenant (id, name) VALUES ('demo', 'Demo tenant') ON CONFLICT DO NOTHING")
        line = conn.execute(
            """INSERT INTO caller_line (user_id, name, dial_string, call_number, call_line, node)
               VALUES ('demo', 'trunk-1', 'loopback/%s/lab', '13530525008', 30, 'fs1') RETURNING id"""
        ).fetchone()["id"]
        group = conn.execute(
            "INSERT INTO disable_dial_timegroup (user_id, name) VALUES ('demo', 'lunch break') RETURNING id"
        ).fetchone()["id"]
        conn.execute(
            "INSERT INTO disable_dial_timerange (group_id, start_time, end_time) VALUES (%s, '03:00', '03:01')", (group,)
        )
        rule = conn.execute(
            "INSERT INTO auto_recycle_rule (user_id, name, max_attempts) VALUES ('demo', 'recall busy', 2) RETURNING id"
        ).fetchone()["id"]
        for status in (Status.BUSY, Status.NO_ANSWER):
            conn.execute(
                "INSERT INTO auto_recycle_rule_entry (rule_id, status, interval_min, times) VALUES (%s, %s, 0.02, 1)",
                (rule, int(status)),
            )
        tasks = []
        for name, maxcall in (("robot campaign", 20), ("agent campaign", 20)):
            tasks.append(str(conn.execute(
                """INSERT INTO task (user_id, name, start, maximumcall, _originate_timeout, destination_extension,
                       destination_context, originate_variables, caller_line_id, disable_dial_timegroup,
                       auto_recycle_rule_id, random_assignment_number, call_notify_url, call_notify_type)
                   VALUES ('demo', %s, 0, %s, 2, '9000', 'robot', '{execute_on_answer=playback}', %s, %s, %s, 0, %s, 2)
                   RETURNING uuid""",
                (name, maxcall, line, group, rule, notify_url),
            ).fetchone()["uuid"]))
        for i, task in enumerate(tasks):
            phones = [f"138{rng.randrange(10**8):08d}" for _ in range(numbers // 2 + (numbers % 2 if i == 0 else 0))]
            q.import_numbers(conn, task, phones)
        for task in tasks:
            q.set_task_start(conn, task, 1)
    return tasks


def run(numbers: int = 200, as_json: bool = False, data_dir: Path | None = None) -> dict[str, Any]:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    console = Console(stderr=as_json)
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="eslbridge-demo-"))
    console.print(f"[bold]eslbridge demo[/]: {numbers} numbers, embedded PostgreSQL, FreeSWITCH simulator")
    url = embedded_url(data_dir)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS eslbridge_demo WITH (FORCE)")
        conn.execute("CREATE DATABASE eslbridge_demo")
    demo_url = url.replace("/postgres?", "/eslbridge_demo?")
    migrate(demo_url)
    db = Database(demo_url, min_size=2, max_size=8).open()
    switch = Switch(SimConfig(time_scale=0.02, heartbeat_s=5, sps=200)).start("127.0.0.1", 0)
    settings = Settings(engine_id="demo", job_grace_s=0.5, webhook_allow_nets="127.0.0.0/8")
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=100)
    secret = new_secret()
    receiver = VerifyingReceiver({"demo": secret}).start()
    tasks = seed(db, numbers, random.Random(42), receiver.url("demo"))
    with db.transaction() as conn:
        q.add_secret(conn, "demo", secret, None)
    engine = Engine(db, settings, [node]).start()
    private_key, public_key = keygen()
    with db.transaction() as conn:
        aq.create_app(conn, "demo-app", "demo", "demo", public_key.decode())
    api_db = Database(demo_url, min_size=1, max_size=4, autocommit=True, application_name="eslbridge-api").open()
    api_server = serve(api_db, "127.0.0.1", 0)
    api_url = f"http://127.0.0.1:{api_server.server_port}"
    console.print(f"task API at {api_url} (appId demo-app; OpenAPI at {api_url}/openapi.json)")
    started = time.monotonic()

    def snapshot() -> tuple[dict[int, int], int, int]:
        with db.connection() as conn:
            counts = q.status_counts(conn, tasks)
            row = conn.execute(
                "SELECT count(*) AS n FROM task_number WHERE task_id = ANY(%s) AND status >= 10 AND next_attempt_at IS NULL",
                (tasks,),
            ).fetchone()
            pending = conn.execute(
                "SELECT count(*) AS n FROM notification_outbox WHERE delivered_at IS NULL AND dead_at IS NULL"
            ).fetchone()
        return counts, int(row["n"]), int(pending["n"])

    def table(counts: dict[int, int], final: int) -> Table:
        t = Table(title=f"{final}/{numbers} final · {time.monotonic() - started:.1f}s",
                  caption=f"webhooks verified: {receiver.verified}")
        t.add_column("status")
        t.add_column("numbers", justify="right")
        for code in sorted(counts):
            t.add_row(f"{code} {Status(code).name.lower()}", str(counts[code]))
        return t

    counts, final, undelivered = snapshot()
    with Live(table(counts, final), console=console, refresh_per_second=4) as live:
        while (final < numbers or undelivered) and time.monotonic() - started < 300:
            gevent.sleep(0.25)
            counts, final, undelivered = snapshot()
            live.update(table(counts, final))
    elapsed = time.monotonic() - started
    status, body = Client(api_url, "demo-app", private_key).get(f"/v1/task/task_progress/{tasks[0]}")
    api_progress = body["data"]["progress"] if status == 200 else None
    api_server.stop(timeout=2)
    api_db.close()
    engine.stop()
    with db.connection() as conn:
        calls = conn.execute("SELECT count(*) AS n FROM call_attempt WHERE ended_at IS NOT NULL").fetchone()["n"]
        notes = conn.execute(
            """SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
                      count(*) FILTER (WHERE dead_at IS NOT NULL) AS failed FROM notification_outbox"""
        ).fetchone()
    switch.stop()
    receiver.stop()
    db.close()
    summary = {
        "numbers": numbers,
        "final": final,
        "by_status": {Status(k).name.lower(): v for k, v in sorted(counts.items())},
        "calls": int(calls),
        "calls_per_s": round(calls / elapsed, 1) if elapsed else 0.0,
        "seconds": round(elapsed, 2),
        "api_progress_of_first_task": api_progress,
        "notifications": {"delivered": int(notes["delivered"]), "failed": int(notes["failed"]),
                          "verified_by_receiver": receiver.verified, "rejected_by_receiver": receiver.rejected},
    }
    if as_json:
        print(json.dumps(summary))
    return summary
