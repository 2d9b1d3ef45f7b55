"""`eslbridge bench api --json`: signed requests per second, the wallboard, and a 1,000,000-number CSV upload.

The API runs as `eslbridge api` in its own process; requests are signed
before the clock starts (an RSA signature costs the client ~1 ms).
``wallboard_requests_per_s``: ``GET /ui/data`` with an operator's token, the
1,000 tasks running (each answer lists all of them); ``wallboard_bytes`` is
one answer's size, ``wallboard_compute_ms`` the time to compute it uncached.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
import urllib3

from ..api.auth import keygen, signed_headers
from ..api.wallboard import Wallboard
from ..store import apps, board, fixtures
from ..store import tasks as task_store
from ..store.db import Database, embedded_url, recreate_database

CONCURRENCY = 32
WORKERS = 2  # API processes (`eslbridge api --workers`)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


WALLBOARD_TOKEN = "ebt_bench-wallboard-operator-token"


def _seed(db: Database, tasks: int, public_pem: bytes) -> list[str]:
    with db.transaction() as conn:
        apps.create_app(conn, "bench-app", "bench", "bench", public_pem.decode())
        line = fixtures.add_line(conn, "bench", "l", "sofia/gateway/gw/%s", 100)
        ids = fixtures.add_numbered_tasks(conn, "bench", line, tasks)
        fixtures.add_sample_numbers(conn, ids, 20)
        for task in ids:  # running, so that the wallboard shows every one (no engine dials them here)
            task_store.set_task_start(conn, task, 1)
        board.create_token(conn, WALLBOARD_TOKEN, None, "bench")
    return [str(i) for i in ids]


def _load(base: str, requests: list[tuple[str, dict[str, str]]]) -> float:
    """Send pre-signed GETs over CONCURRENCY keep-alive connections; returns requests/s.

    A bare HTTP/1.1 client (bytes prepared in advance) so the load generator,
    which shares the two cores, costs as little as possible.
    """
    port = int(base.rsplit(":", 1)[1])
    raw = [
        (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
        for path, headers in requests
    ]
    failures = 0

    def worker(items: list[bytes]) -> None:
        nonlocal failures
        sock = socket.create_connection(("127.0.0.1", port))
        buf = b""
        for req in items:
            sock.sendall(req)
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, _, buf = buf.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                failures += 1
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(buf) < length:
                buf += sock.recv(65536)
            buf = buf[length:]
        sock.close()

    start = time.perf_counter()
    greenlets = [gevent.spawn(worker, raw[i::CONCURRENCY]) for i in range(CONCURRENCY)]
    gevent.joinall(greenlets)
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{failures} requests failed")
    return len(requests) / elapsed


def run(as_json: bool, quick: bool = False) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="eslbridge-bench-"))
    server = embedded_url(data_dir)
    url = recreate_database(server, "bench_api")
    private, public = keygen()
    db = Database(url, max_size=4).open()
    tasks = _seed(db, 1000, public)
    port = _free_port()
    env = {**os.environ, "ESLBRIDGE_DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "api", "--listen", f"127.0.0.1:{port}", "--workers", str(WORKERS)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("API did not start") from None
                gevent.sleep(0.2)
        n = 1000 if quick else 5000

        def signed(paths: list[str]) -> list[tuple[str, dict[str, str]]]:
            # RSA PKCS#1 v1.5 is deterministic: the same request signed in the same
            # millisecond is the same `sign`, which the server refuses as a replay.
            base_ms = int(time.time() * 1000)
            return [(p, signed_headers(private, "bench-app", "GET", p, b"", base_ms + i)) for i, p in enumerate(paths)]

        _load(base, signed([f"/v1/task/task_progress/{tasks[i % len(tasks)]}" for i in range(200)]))  # warm-up
        progress = [_load(base, signed([f"/v1/task/task_progress/{tasks[i % len(tasks)]}" for i in range(n)])) for _ in range(3)]
        listing = [_load(base, signed([f"/v1/task?page={1 + i % 50}&page_size=20" for i in range(n // 5)])) for _ in range(3)]
        bearer = {"Authorization": f"Bearer {WALLBOARD_TOKEN}"}
        wallboard = [_load(base, [("/ui/data", bearer)] * (n // 2)) for _ in range(3)]
        shown = json.loads(urllib3.request("GET", base + "/ui/data", headers=bearer, timeout=30).data)
        wallboard_bytes = len(json.dumps(shown))
        compute_ms = []  # one uncached computation of the figures (what the cache saves each poll)
        for _ in range(3):
            t0 = time.perf_counter()
            Wallboard(db).figures(None)
            compute_ms.append((time.perf_counter() - t0) * 1000)
        if len(shown["tasks"]) != len(tasks):
            raise RuntimeError(f"the wallboard shows {len(shown['tasks'])} tasks, not {len(tasks)}")
        # 1,000,000 numbers as one CSV upload, streamed into COPY by the server.
        count = 100_000 if quick else 1_000_000
        body = ("phone\n" + "".join(f"1{3 + i % 7}{i:09d}\n" for i in range(count))).encode()
        path = f"/v1/task/{tasks[0]}/numbers/csv"
        headers = signed_headers(private, "bench-app", "POST", path, body)
        headers["Content-Type"] = "text/csv"
        t0 = time.perf_counter()
        resp = urllib3.request("POST", base + path, body=body, headers=headers, timeout=600)
        upload_s = time.perf_counter() - t0
        result = json.loads(resp.data)
        if resp.status != 200 or result["data"]["imported"] != count:
            raise RuntimeError(f"upload failed: {resp.status} {str(result)[:200]}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        db.close()
    out = {
        "progress_requests_per_s": round(statistics.median(progress)),
        "progress_runs": [round(r) for r in progress],
        "task_list_requests_per_s": round(statistics.median(listing)),
        "wallboard_requests_per_s": round(statistics.median(wallboard)),
        "wallboard_runs": [round(r) for r in wallboard],
        "wallboard_bytes": wallboard_bytes,
        "wallboard_compute_ms": round(statistics.median(compute_ms), 1),
        "tasks": len(tasks),
        "import_1m_s": round(upload_s * (1_000_000 / count), 2),
        "import_numbers": count,
    }
    print(json.dumps(out) if as_json else "\n".join(f"{k:26} {v}" for k, v in out.items()))
    return out
