"""`eslbridge bench esl`: ESL ingest rate over a real socket, parse cost, bgapi round trips.

The simulator runs in a child process (its own core) and floods realistic
~10 KB / ~300-header CHANNEL_HANGUP_COMPLETE events; the client is the
production :class:`~eslbridge.esl.client.ESLConnection`, set up as the engine
sets it up (its fields parsed up front), and the handler turns every event into
the tracker's fact, as the engine does.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import time
import uuid
from typing import Any

import gevent
import gevent.event

from ..esl.client import ESLConnection
from ..esl.protocol import FrameReader, JsonEventReader, parse_event
from ..tracker import EVENT_FIELDS, fact_from_event


def _serve(port_queue: Any, stop: Any) -> None:
    from gevent import monkey

    monkey.patch_all()
    from ..sim.server import SimConfig, Switch

    switch = Switch(SimConfig(heartbeat_s=0)).start("127.0.0.1", 0)
    port_queue.put(switch.address[1])
    while not stop.is_set():
        gevent.sleep(0.2)


def _ingest(port: int, count: int) -> float:
    conn = ESLConnection("127.0.0.1", port, "ClueCon", fields=EVENT_FIELDS)
    conn.connect()
    done = gevent.event.Event()
    seen = 0

    def on_event(event: Any) -> None:
        nonlocal seen
        fact_from_event(event)
        seen += 1
        if seen == count:
            done.set()

    conn.on("CHANNEL_HANGUP_COMPLETE", on_event)
    conn.command("event json CHANNEL_HANGUP_COMPLETE")
    start = time.perf_counter()
    conn.api(f"sim_flood {count}")
    done.wait(timeout=120)
    elapsed = time.perf_counter() - start
    conn.stop()
    return seen / elapsed if elapsed else 0.0


def _bgapi_rate(port: int, count: int) -> float:
    conn = ESLConnection("127.0.0.1", port, "ClueCon")
    conn.connect()
    start = time.perf_counter()
    for _ in range(count):
        conn.bgapi("status", str(uuid.uuid4()))
    elapsed = time.perf_counter() - start
    conn.stop()
    return count / elapsed


def _parse_us() -> tuple[float, float, int, int]:
    """µs per event: the engine's way (chosen fields + the tracker's fact), and a full parse."""
    from ..sim.script import encode_event
    from ..sim.server import Switch

    frame_bytes = encode_event(Switch().big_event(), "json")
    reader = FrameReader()
    reader.receive_data(frame_bytes)
    frame = reader.next_frame()
    assert frame is not None
    n = 5000
    json_reader = JsonEventReader(EVENT_FIELDS)
    start = time.perf_counter()
    for _ in range(n):
        fact_from_event(parse_event(frame, json_reader))
    engine_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        parse_event(frame)
    full_us = (time.perf_counter() - start) / n * 1e6
    return engine_us, full_us, len(frame.body), len(parse_event(frame).headers)


def run(as_json: bool, events: int = 200_000, rounds: int = 5) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    stop = ctx.Event()
    proc = ctx.Process(target=_serve, args=(port_queue, stop), daemon=True)
    proc.start()
    try:
        port = port_queue.get(timeout=30)
        _ingest(port, events // 4)  # warm-up: allocator and orjson key cache
        rates = [_ingest(port, events) for _ in range(rounds)]
        rtts = [_bgapi_rate(port, 5000) for _ in range(rounds)]
        parse_us, full_us, size, headers = _parse_us()
    finally:
        stop.set()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    result = {
        "events_per_s": round(statistics.median(rates)),
        "events_per_s_runs": [round(r) for r in rates],
        "event_bytes": size,
        "event_headers": headers,
        "parse_us_per_event": round(parse_us, 1),
        "full_parse_us_per_event": round(full_us, 1),
        "bgapi_round_trips_per_s": round(statistics.median(rtts)),
        "events_per_run": events,
    }
    print(json.dumps(result) if as_json else "\n".join(f"{k:28} {v}" for k, v in result.items()))
    return result
