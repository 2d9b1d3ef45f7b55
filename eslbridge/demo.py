"""`eslbridge demo`: the real engine on an embedded PostgreSQL and the simulator.

Two tasks share one line (concurrency 30), a lunch-break time group blocks
nothing at demo time but is attached, and a retry rule recalls busy and
unanswered numbers once after a short interval. Outcomes come from the
simulator's default digit table with talk times scaled down.
"""

from __future__ import annotations

import json
import random
import secrets
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event

from .api.app import serve
from .api.auth import keygen
from .api.client import Client
from .causes import Status
from .config import Settings
from .esl.link import NodeConfig
from .notify.receiver import VerifyingReceiver
from .notify.signing import new_secret
from .service import Engine
from .sim.server import SimConfig, Switch
from .store import apps, board, fixtures, imports, outbox, tasks
from .store.db import Database, embedded_url, recreate_database


def seed(db: Database, numbers: int, rng: random.Random, notify_url: str = "") -> list[str]:
    with db.transaction() as conn:
        apps.add_tenant(conn, "demo", "Demo tenant")
        line = fixtures.add_line(conn, "demo", "trunk-1", "loopback/%s/lab", 30, node="fs1", call_number="13530525008")
        group = fixtures.add_time_group(conn, "demo", "lunch break")
        fixtures.add_time_range(conn, group, "03:00", "03:01")
        rule = fixtures.add_recycle_rule(conn, "demo", "recall busy", 2)
        for status in (Status.BUSY, Status.NO_ANSWER):
            fixtures.add_recycle_entry(conn, rule, int(status), 0.02, 1)
        task_ids = []
        for name, maxcall in (("robot campaign", 20), ("agent campaign", 20)):
            task_ids.append(str(tasks.insert_task(conn, "demo", {
                "name": name, "start": 0, "maximumcall": maxcall, "_originate_timeout": 2,
                "destination_extension": "9000", "destination_context": "robot",
                "originate_variables": "{execute_on_answer=playback}", "caller_line_id": line,
                "disable_dial_timegroup": group, "auto_recycle_rule_id": rule, "random_assignment_number": 0,
                "call_notify_url": notify_url, "call_notify_type": 2,
            })))
        for i, task in enumerate(task_ids):
            phones = [f"138{rng.randrange(10**8):08d}" for _ in range(numbers // 2 + (numbers % 2 if i == 0 else 0))]
            imports.import_numbers(conn, task, phones)
        for task in task_ids:
            tasks.set_task_start(conn, task, 1)
    return task_ids


def run(numbers: int = 200, as_json: bool = False, data_dir: Path | None = None, linger: bool = False) -> dict[str, Any]:
    """Dial ``numbers`` numbers and summarise. ``linger``: once every number is final, keep the engine,
    the API and its wallboard up until SIGINT or SIGTERM."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    console = Console(stderr=as_json)
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="eslbridge-demo-"))
    console.print(f"[bold]eslbridge demo[/]: {numbers} numbers, embedded PostgreSQL, FreeSWITCH simulator")
    demo_url = recreate_database(embedded_url(data_dir), "eslbridge_demo")
    db = Database(demo_url, min_size=2, max_size=8).open()
    switch = Switch(SimConfig(time_scale=0.02, heartbeat_s=5, sps=200)).start("127.0.0.1", 0)
    settings = Settings(engine_id="demo", job_grace_s=0.5, webhook_allow_nets="127.0.0.0/8")
    node = NodeConfig(name="fs1", host=switch.address[0], port=switch.address[1], calls_per_second=100)
    secret = new_secret()
    receiver = VerifyingReceiver({"demo": secret}).start()
    task_ids = seed(db, numbers, random.Random(42), receiver.url("demo"))
    with db.transaction() as conn:
        outbox.add_secret(conn, "demo", secret, None)
    engine = Engine(db, settings, [node]).start()
    private_key, public_key = keygen()
    with db.transaction() as conn:
        apps.create_app(conn, "demo-app", "demo", "demo", public_key.decode())
    api_db = Database(demo_url, min_size=1, max_size=4, autocommit=True, application_name="eslbridge-api").open()
    api_server = serve(api_db, "127.0.0.1", 0)
    api_url = f"http://127.0.0.1:{api_server.server_port}"
    token = "ebt_" + secrets.token_urlsafe(24)
    with db.transaction() as conn:
        board.create_token(conn, token, None, "demo")
    console.print(f"task API at {api_url} (appId demo-app; OpenAPI at {api_url}/openapi.json)", soft_wrap=True)
    console.print(f"wallboard at {api_url}/ui#token={token}", soft_wrap=True, markup=False, highlight=False)
    started = time.monotonic()

    def snapshot() -> tuple[dict[int, int], int, int]:
        with db.connection() as conn:
            counts = tasks.status_counts(conn, task_ids)
            final = fixtures.final_numbers(conn, task_ids)
            pending = fixtures.undelivered_notifications(conn, include_dead=False)
        return counts, final, pending

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
    status, body = Client(api_url, "demo-app", private_key).get(f"/v1/task/task_progress/{task_ids[0]}")
    api_progress = body["data"]["progress"] if status == 200 else None
    if linger:
        console.print(f"every number is final; the wallboard stays at {api_url}/ui#token={token} until Ctrl-C",
                      soft_wrap=True, markup=False, highlight=False)
        stop = gevent.event.Event()
        gevent.signal_handler(signal.SIGTERM, stop.set)
        gevent.signal_handler(signal.SIGINT, stop.set)
        stop.wait()
    api_server.stop(timeout=2)
    api_db.close()
    engine.stop()
    with db.connection() as conn:
        calls = fixtures.ended_calls(conn)
        delivered, failed = fixtures.notification_outcomes(conn)
    switch.stop()
    receiver.stop()
    db.close()
    summary = {
        "numbers": numbers,
        "final": final,
        "by_status": {Status(k).name.lower(): v for k, v in sorted(counts.items())},
        "calls": calls,
        "calls_per_s": round(calls / elapsed, 1) if elapsed else 0.0,
        "seconds": round(elapsed, 2),
        "api_progress_of_first_task": api_progress,
        "notifications": {"delivered": delivered, "failed": failed,
                          "verified_by_receiver": receiver.verified, "rejected_by_receiver": receiver.rejected},
    }
    if as_json:
        print(json.dumps(summary))
    return summary
