"""`eslbridge api --workers 2`: a scrape of /metrics, whichever worker answers it, counts every worker's requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import urllib3
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for


def healthz_count(text: str) -> float:
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == "eslbridge_api_requests_total" and s.labels["route"] == "/healthz")


def test_metrics_of_forked_workers_are_added_up(db_url, free_port, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": db_url, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "api", "--listen", f"127.0.0.1:{free_port}",
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{free_port}"
    try:
        wait_for(lambda: _listening(free_port), timeout=60)
        for _ in range(60):  # a new connection each: the two workers take turns accepting
            pool = urllib3.PoolManager(retries=False, timeout=10)
            assert pool.request("GET", base + "/healthz").status == 200
            pool.clear()
        wait_for(lambda: len({p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}) == 2, timeout=20)
        counts = []
        for _ in range(10):
            pool = urllib3.PoolManager(retries=False, timeout=10)
            counts.append(healthz_count(pool.request("GET", base + "/metrics").data.decode()))
            pool.clear()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert counts == [60.0] * 10
    assert proc.returncode == 0


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
