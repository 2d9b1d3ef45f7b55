"""`eslbridge bench notify --json`: webhook deliveries per second and commit→delivery latency.

The receiver runs in its own process; the dispatcher is the production one.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import gevent

from ..notify.dispatcher import Dispatcher
from ..notify.target import parse_nets
from ..store import apps, fixtures, recording
from ..store.db import Database, embedded_url, recreate_database


def _receive(port_queue: Any, stop: Any, results: Any) -> None:
    from gevent import monkey

    monkey.patch_all()
    from ..notify.receiver import VerifyingReceiver

    receiver = VerifyingReceiver().start()
    port_queue.put(receiver.server.server_port)
    while not stop.is_set():
        gevent.sleep(0.1)
    results.put(dict(receiver.arrivals))
    receiver.stop()


class ReceiverProcess:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ports, self.stop_event, self.results = ctx.Queue(), ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=_receive, args=(self.ports, self.stop_event, self.results), daemon=True)

    def __enter__(self) -> ReceiverProcess:  # noqa: PYI034 - a process handle, not subclassed
        self.proc.start()
        self.port = int(self.ports.get(timeout=60))
        return self

    def arrivals(self) -> dict[str, float]:
        self.stop_event.set()
        got: dict[str, float] = self.results.get(timeout=60)
        return got

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


def _insert(db: Database, url: str, n: int) -> list[tuple[str, float]]:
    rows: list[dict[str, Any]] = []
    for _ in range(n):
        event_id = str(uuid.uuid4())
        rows.append({"event_id": event_id, "user_id": "bench", "task_id": str(uuid.uuid4()), "attempt_id": 1,
                     "url": url, "payload": {"type": "call.hangup", "id": event_id, "data": {"phone": "13800000000"}}})
    with db.transaction() as conn:
        recording.add_notifications(conn, rows)
    committed = time.time()
    return [(r["event_id"], committed) for r in rows]


def run(as_json: bool, quick: bool = False) -> dict[str, Any]:
    server = embedded_url(Path(tempfile.mkdtemp(prefix="eslbridge-bench-")))
    db = Database(recreate_database(server, "bench_notify"), max_size=8).open()
    with db.transaction() as conn:
        apps.add_tenant(conn, "bench")
    total = 5_000 if quick else 20_000
    rates = []
    # Two receiver processes (two consumers' endpoints): one pure-Python
    # receiver tops out near 1,300 requests/s on this machine.
    with ReceiverProcess() as rx, ReceiverProcess() as rx2:
        urls = [f"http://127.0.0.1:{rx.port}/hooks/bench", f"http://127.0.0.1:{rx2.port}/hooks/bench"]
        dispatcher = Dispatcher(db, "bench", allow_nets=parse_nets("127.0.0.0/8"), concurrency=128, per_endpoint=64)
        runner = gevent.spawn(dispatcher.run)
        # Throughput: a backlog drained as fast as possible.
        for _ in range(1 if quick else 3):
            before = dispatcher.delivered
            for url in urls:
                _insert(db, url, total // 2)
            t0 = time.perf_counter()
            while dispatcher.delivered - before < total:
                gevent.sleep(0.01)
            rates.append(total / (time.perf_counter() - t0))
        # Latency at 1,000 notifications/s: commit → first arrival at the receiver.
        sent: list[tuple[str, float]] = []
        seconds = 3 if quick else 10
        start = time.perf_counter()
        for tick in range(seconds * 10):
            sent += _insert(db, urls[tick % 2], 100)
            dispatcher.wake.set()
            gevent.sleep(max(0.0, start + (tick + 1) * 0.1 - time.perf_counter()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.connection() as conn:
                left = fixtures.undelivered_notifications(conn, include_dead=True)
            if left == 0:
                break
            gevent.sleep(0.1)
        dispatcher.stopping = True
        dispatcher.wake.set()
        runner.join(timeout=30)
        arrivals = {**rx.arrivals(), **rx2.arrivals()}
    db.close()
    lat = sorted((arrivals[e] - c) * 1000 for e, c in sent if e in arrivals)
    result = {
        "deliveries_per_s": round(statistics.median(rates)),
        "deliveries_per_s_runs": [round(r) for r in rates],
        "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
        "latency_rate_per_s": 1000,
        "latency_samples": len(lat),
        "lost": len(sent) - len(lat),
    }
    print(json.dumps(result) if as_json else "\n".join(f"{k:24} {v}" for k, v in result.items()))
    return result
