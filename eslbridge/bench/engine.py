"""`eslbridge bench --json`: the engine end to end against the simulator.

* ``calls_per_s``: completed calls per second (claim → originate → events →
  status and outbox committed), simulator at time scale 0 in its own process;
  ``calls_per_s_with_metrics``: the same with ESLBRIDGE_METRICS_LISTEN set and
  /metrics scraped every second (Prometheus' usual interval is 15 s), runs
  alternating with the former so that both see the same machine;
* ``engine_cpu_us_per_call``: the engine process's user + system CPU over the
  same window, per completed call (PostgreSQL's and the simulator's not counted);
* ``refill_p50_ms`` / ``refill_p99_ms``: from a hangup's commit to the next
  originate on that slot (one slot, pause 0);
* ``import_numbers_per_s``: 1,000,000 numbers from a file;
* ``peak_rss_mb``: engine process with 10,000 calls in flight and 1,000,000
  numbers queued;
* ``caller_id_pick_us``: choosing the caller id of one call from a 1,000-number
  group by the callee's place (``caller_id_turn_us``: in turn), a
  micro-benchmark of the dialer's pick (:mod:`eslbridge.bench.caller_ids`).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import gevent

from ..config import Settings
from ..esl.link import NodeConfig
from ..importer import import_file
from ..service import Engine
from ..store import apps, fixtures, imports, tasks
from ..store.db import Database, embedded_url, recreate_database
from .caller_ids import bench_pick


def _serve(port_queue: Any, stop: Any, talk_s: float | None, time_scale: float) -> None:
    from gevent import monkey

    monkey.patch_all()
    from ..sim.script import Rules
    from ..sim.server import SimConfig, Switch

    config = SimConfig(time_scale=time_scale, heartbeat_s=0, sps=100_000, max_sessions=100_000, rules=Rules(talk_s=talk_s))
    switch = Switch(config).start("127.0.0.1", 0)
    port_queue.put(switch.address[1])
    while not stop.is_set():
        gevent.sleep(0.2)


class SimProcess:
    def __init__(self, talk_s: float | None = None, time_scale: float = 0.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port_queue = ctx.Queue()
        self.stop_event = ctx.Event()
        self.proc = ctx.Process(target=_serve, args=(self.port_queue, self.stop_event, talk_s, time_scale), daemon=True)

    def __enter__(self) -> int:
        self.proc.start()
        return int(self.port_queue.get(timeout=60))

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


def _seed(db: Database, phones: list[str], maximumcall: int, line_cap: int) -> str:
    with db.transaction() as conn:
        apps.add_tenant(conn, "bench")
        line = fixtures.add_line(conn, "bench", "l", "loopback/%s/lab", line_cap, node="fs1")
        task = tasks.insert_task(conn, "bench", {
            "name": "bench", "start": 0, "maximumcall": maximumcall, "destination_extension": "9000",
            "caller_line_id": line, "call_notify_url": "http://127.0.0.1:9/hook", "call_notify_type": 2,
        })
        imports.import_numbers(conn, task, phones)
        tasks.set_task_start(conn, task, 1)
    return str(task)


SCRAPE_S = 1.0  # seconds between two scrapes of /metrics in the metrics-enabled runs


def _engine(db: Database, port: int, cps: float, metrics: bool = False) -> Engine:
    settings = Settings(engine_id="bench", tick_s=0.01, claim_batch=500, job_grace_s=1.0, reconcile_after_s=3600, notify=False,
                        metrics_listen="127.0.0.1:0" if metrics else "")
    node = NodeConfig(name="fs1", host="127.0.0.1", port=port, calls_per_second=cps)
    engine = Engine(db, settings, [node]).start()
    for link in engine.links.values():
        link.wait_up(10)
    return engine


def _finished(db: Database, task: str) -> int:
    with db.connection() as conn:
        return fixtures.final_numbers(conn, [task])


def _cpu_s() -> float:
    """This process's user + system CPU seconds (the simulator runs in its own)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _scrape(port: int, scrapes: list[int]) -> None:
    """Scrape /metrics every SCRAPE_S, as Prometheus would (more often than it usually does)."""
    import urllib3

    pool = urllib3.PoolManager(retries=False, timeout=10)
    while True:
        resp = pool.request("GET", f"http://127.0.0.1:{port}/metrics")
        if resp.status != 200 or b"eslbridge_originates_total" not in resp.data:
            raise RuntimeError(f"scrape failed: HTTP {resp.status}")
        scrapes.append(len(resp.data))
        gevent.sleep(SCRAPE_S)


def bench_calls(server_url: str, numbers: int = 30_000, metrics: bool = False) -> tuple[float, float]:
    """(completed calls per second, engine CPU microseconds per completed call) over one window;
    ``metrics``: with the metrics endpoint on and scraped every SCRAPE_S."""
    db = Database(recreate_database(server_url, "bench_calls"), max_size=10).open()
    task = _seed(db, [f"1380{i:07d}9" for i in range(numbers)], 300, 300)
    scrapes: list[int] = []
    with SimProcess() as port:
        engine = _engine(db, port, cps=100_000, metrics=metrics)
        scraper = gevent.spawn(_scrape, engine.ops_server.server_port, scrapes) if metrics else None
        warm = numbers // 10
        while _finished(db, task) < warm:
            gevent.sleep(0.05)
        t0, n0, cpu0 = time.perf_counter(), _finished(db, task), _cpu_s()
        while (n := _finished(db, task)) < numbers * 0.9:
            gevent.sleep(0.05)
        elapsed, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        if scraper is not None:
            scraper.kill()
            if not scrapes:
                raise RuntimeError("no scrape of /metrics succeeded")
        engine.stop()
    db.close()
    return (n - n0) / elapsed, cpu * 1e6 / max(1, n - n0)


def bench_refill(server_url: str, calls: int = 400) -> tuple[float, float]:
    db = Database(recreate_database(server_url, "bench_refill"), max_size=10).open()
    task = _seed(db, [f"1390{i:07d}9" for i in range(calls)], 1, 1)
    with SimProcess() as port:
        engine = _engine(db, port, cps=100_000)
        while _finished(db, task) < calls:
            gevent.sleep(0.05)
        engine.stop()
    with db.connection() as conn:
        times = fixtures.attempt_times(conn, task)
    db.close()
    # From one call's end to the next call's origination on the one slot.
    gaps = [(nxt[0] - prev[1]).total_seconds() * 1000 for prev, nxt in pairwise(times) if prev[1] is not None]
    gaps.sort()
    return statistics.median(gaps), gaps[int(len(gaps) * 0.99) - 1]


def bench_import(server_url: str, numbers: int = 1_000_000) -> float:
    db = Database(recreate_database(server_url, "bench_import"), max_size=4).open()
    task = _seed(db, [], 1, 1)
    with db.transaction() as conn:
        tasks.set_task_start(conn, task, 0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numbers.txt"
        with path.open("w") as fh:
            for i in range(numbers):
                fh.write(f"1{3 + i % 7}{i:09d}\n")
        t0 = time.perf_counter()
        report = import_file(db, task, path)
        elapsed = time.perf_counter() - t0
    db.close()
    assert report["imported"] == numbers, report
    return numbers / elapsed


def _rss_child(url: str, port: int, in_flight: int, out: Any) -> None:
    """The engine alone in a fresh process, so its peak RSS is not the seeding's."""
    from gevent import monkey

    monkey.patch_all()
    db = Database(url, max_size=10).open()
    engine = _engine(db, port, cps=5000)
    deadline = time.monotonic() + 180
    while engine.in_flight() < in_flight and time.monotonic() < deadline:
        gevent.sleep(0.2)
    # Let the events of every call in flight arrive and be recorded.
    mark = engine.recorder.enqueued
    engine.recorder.caught_up(mark, timeout=30)
    gevent.sleep(1)
    out.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, engine.in_flight()))
    engine.stop()
    db.close()


def bench_rss(server_url: str, in_flight: int = 10_000, queued: int = 1_000_000) -> tuple[float, int]:
    url = recreate_database(server_url, "bench_rss")
    db = Database(url, max_size=4).open()
    task = _seed(db, [], in_flight, in_flight)
    with db.transaction() as conn:
        tasks.set_task_start(conn, task, 0)
    for start in range(0, queued, 50_000):
        with db.transaction() as conn:
            imports.import_numbers(conn, task, [f"1{3 + i % 7}{i:09d}" for i in range(start, min(queued, start + 50_000))])
    with db.transaction() as conn:
        tasks.set_task_start(conn, task, 1)
    db.close()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    with SimProcess(talk_s=600, time_scale=1.0) as port:
        child = ctx.Process(target=_rss_child, args=(url, port, in_flight, out))
        child.start()
        rss, reached = out.get(timeout=300)
        child.join(timeout=30)
    return rss, reached


def run(as_json: bool, quick: bool = False) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="eslbridge-bench-"))
    server = embedded_url(data_dir)
    size = 5_000 if quick else 30_000
    calls, with_metrics = [], []
    for _ in range(1 if quick else 3):  # alternating, so that both see the same machine
        calls.append(bench_calls(server, size))
        with_metrics.append(bench_calls(server, size, metrics=True))
    rates = [rate for rate, _ in calls]
    cpu_us = [cpu for _, cpu in calls]
    rates_m = [rate for rate, _ in with_metrics]
    cpu_us_m = [cpu for _, cpu in with_metrics]
    p50, p99 = bench_refill(server, 100 if quick else 400)
    imp = bench_import(server, 100_000 if quick else 1_000_000)
    rss, reached = bench_rss(server, 1_000 if quick else 10_000, 100_000 if quick else 1_000_000)
    picks = bench_pick(calls=20_000 if quick else 100_000, passes=3 if quick else 5)
    result = {
        "calls_per_s": round(statistics.median(rates), 1),
        "calls_per_s_runs": [round(r, 1) for r in rates],
        "engine_cpu_us_per_call": round(statistics.median(cpu_us), 1),
        "engine_cpu_us_per_call_runs": [round(c, 1) for c in cpu_us],
        "calls_per_s_with_metrics": round(statistics.median(rates_m), 1),
        "calls_per_s_with_metrics_runs": [round(r, 1) for r in rates_m],
        "engine_cpu_us_per_call_with_metrics": round(statistics.median(cpu_us_m), 1),
        "metrics_cost_pct": round(100 * (statistics.median(rates) - statistics.median(rates_m)) / statistics.median(rates), 1),
        "refill_p50_ms": round(p50, 2),
        "refill_p99_ms": round(p99, 2),
        "import_numbers_per_s": round(imp),
        "peak_rss_mb": round(rss, 1),
        "rss_calls_in_flight": reached,
        **picks,
    }
    print(json.dumps(result) if as_json else "\n".join(f"{k:24} {v}" for k, v in result.items()))
    return result
