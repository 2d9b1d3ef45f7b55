"""`eslbridge bench switch --switch HOST:PORT --json`: the engine's call runs beside a real FreeSWITCH.

The same window as ``eslbridge bench``'s ``calls_per_s`` and ``engine_cpu_us_per_call``, the calls
dialled through the given switch instead of the simulator (the bench FreeSWITCH's ``fast`` context
answers and hangs up at once), by an engine with the default settings (ticks of 50 ms, claims of
200) paced at ``--cps``. The switch's own CPU is not counted: the figure is the engine
process's user + sys CPU per completed call. ``statuses``: the numbers of the last run by status
(10 answered; calls the switch refused end too and count as completed, so look before trusting a rate;
the runs stop at 90 %, so some are still 0 pending or 1 dialling).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from ..store.db import embedded_url
from .engine import SwitchTarget, bench_calls


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a pair; ValueError naming what is wrong."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--switch wants HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def run(as_json: bool, target: SwitchTarget, calls: int = 5_000, runs: int = 3,
        server_url: str | None = None) -> dict[str, Any]:
    server = server_url or embedded_url(Path(tempfile.mkdtemp(prefix="eslbridge-bench-")))
    rates, cpu_us = [], []
    statuses: dict[int, int] = {}
    for _ in range(runs):
        statuses.clear()
        rate, cpu = bench_calls(server, calls, target=target, statuses=statuses)
        rates.append(rate)
        cpu_us.append(cpu)
    result = {
        "switch": f"{target.host}:{target.port}",
        "dial_string": target.dial_string,
        "calls_per_s": round(statistics.median(rates), 1),
        "calls_per_s_runs": [round(r, 1) for r in rates],
        "engine_cpu_us_per_call": round(statistics.median(cpu_us), 1),
        "engine_cpu_us_per_call_runs": [round(c, 1) for c in cpu_us],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }
    print(json.dumps(result) if as_json else "\n".join(f"{k:30} {v}" for k, v in result.items()))
    return result
