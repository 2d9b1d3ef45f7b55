"""`eslbridge bench faults --json`: outcomes through faults, against the simulator.

The simulator runs in this process and writes CDRs as mod_cdr_csv does; each
engine is a real ``eslbridge run`` in its own process, reading them. Every
task has a retry rule that redials a failed call (status 16, where LOST
lands) at once, so a call ended LOST by mistake is dialled twice. Calls: 40
answered ones that stay up until hung up, 20 that ring until their 6 s
originate timeout (NO_ANSWER).

* engine kill: the engine is SIGKILLed with the 60 calls up; 20 answered
  ones are hung up and the 20 ringing ones time out while it is down; a new
  engine takes over;
* ESL cut: the switch refuses ESL for ``CUT_S`` while the same 40 end;
* switch restart: the switch is shut down with 60 calls up (each writes its
  CDR) and comes back as a new switch; the engine's RECONCILE_AFTER_S is
  600 s, so only the reconnect can free the slots.

Keys: ``outcomes_recovered_pct`` (of the calls that ended during the kill
or the cut, those whose attempt has the status, cause and billsec of the
switch's own CDR), ``lost_pct`` (of those, ended LOST), ``double_dialled``
(numbers dialled more than once, all scenarios),
``slots_free_after_switch_restart_s`` (from the engine's first connection
to the new switch to the moment the last old call's slot was free).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from ..causes import Status, status_for
from ..cdr.format import parse
from ..sim.script import Rules
from ..sim.server import SimConfig, Switch
from ..store import apps, fixtures, imports, tasks
from ..store.db import Database, embedded_url, recreate_database

CUT_S = 10.0  # how long ESL stays cut
ANSWERED, RINGING = 40, 20  # calls per scenario
RING_TIMEOUT_S = 6


class _Switch(Switch):
    """The simulator, noting when each client connected."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.accepted: list[float] = []

    def _accept(self, sock: Any, addr: Any) -> None:
        if not self.refusing:
            self.accepted.append(time.time())
        super()._accept(sock, addr)


def _wait(what: str, predicate: Callable[[], object], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench faults: {what} did not happen within {timeout:.0f}s")
        gevent.sleep(0.05)


class _Bench:
    def __init__(self, url: str, switch: _Switch, cdr_dir: Path, log_path: Path) -> None:
        self.url = url
        self.db = Database(url, max_size=4).open()
        self.switch = switch
        self.cdr_dir = cdr_dir
        self.log = log_path.open("ab")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.tasks = 0
        with self.db.transaction() as conn:
            apps.add_tenant(conn, "bench")
            self.line = fixtures.add_line(conn, "bench", "faults", "loopback/%s/lab", 1000, node="fs1")
            self.rule = fixtures.add_recycle_rule(conn, "bench", "redial failed", 4)
            fixtures.add_recycle_entry(conn, self.rule, int(Status.FAILED), 0.0, 3)

    def engine(self, engine_id: str, reconcile_after_s: float = 10.0) -> subprocess.Popen[bytes]:
        env = {**os.environ, "ESLBRIDGE_DATABASE_URL": self.url, "ESLBRIDGE_FS_HOST": "127.0.0.1",
               "ESLBRIDGE_FS_PORT": str(self.switch.address[1]), "ESLBRIDGE_FS_CPS": "500",
               "ESLBRIDGE_ENGINE_ID": engine_id, "ESLBRIDGE_NOTIFY": "false", "ESLBRIDGE_JOB_GRACE_S": "1",
               "ESLBRIDGE_RECONCILE_AFTER_S": str(reconcile_after_s), "ESLBRIDGE_CDR_DIR": str(self.cdr_dir)}
        proc = subprocess.Popen([sys.executable, "-m", "eslbridge", "run"], env=env, stdout=subprocess.DEVNULL,
                                stderr=self.log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        self.db.close()
        self.log.close()

    def task(self, name: str, answered: int = ANSWERED, ringing: int = RINGING) -> str:
        self.tasks += 1
        stem = f"139{self.tasks:04d}"  # digit 8: answers and stays up; digit 2: rings until the timeout
        phones = [f"{stem}{i:03d}8" for i in range(answered)] + [f"{stem}{i:03d}2" for i in range(ringing)]
        with self.db.transaction() as conn:
            task = tasks.insert_task(conn, "bench", {
                "name": name, "start": 0, "maximumcall": len(phones), "destination_extension": "9000",
                "caller_line_id": self.line, "_originate_timeout": RING_TIMEOUT_S, "auto_recycle_rule_id": self.rule,
            })
            imports.import_numbers(conn, task, phones)
            tasks.set_task_start(conn, task, 1)
        return str(task)

    def attempts(self, task: str) -> list[dict[str, Any]]:
        with self.db.connection() as conn:
            return fixtures.attempt_outcomes(conn, task)

    def all_up(self, task: str, answered: int = ANSWERED, ringing: int = RINGING) -> bool:
        rows = self.attempts(task)
        return (sum(1 for a in rows if a["status"] == Status.TALKING) == answered
                and sum(1 for a in rows if a["status"] == Status.DIALING) == ringing)

    def end_half_unheard(self, task: str) -> list[str]:
        """Hang up half the answered calls and let the ringing ones time out; their call uuids."""
        rows = self.attempts(task)
        talking = [a["call_uuid"] for a in rows if a["status"] == Status.TALKING][: ANSWERED // 2]
        ringing = [a["call_uuid"] for a in rows if a["status"] == Status.DIALING]
        for u in talking:
            self.switch.kill(u, "NORMAL_CLEARING")
        _wait("the ringing calls' timeout", lambda: not any(u in self.switch.calls for u in ringing), 60)
        return talking + ringing

    def hang_up_rest(self, task: str) -> None:
        for a in self.attempts(task):
            if a["call_uuid"] in self.switch.calls:
                self.switch.kill(a["call_uuid"], "NORMAL_CLEARING")
        _wait("every number final", lambda: self._final(task))

    def _final(self, task: str) -> bool:
        with self.db.connection() as conn:
            return fixtures.final_numbers(conn, [task]) == ANSWERED + RINGING

    def settled(self, task: str, calls: list[str]) -> bool:
        ended = {a["call_uuid"] for a in self.attempts(task) if a["ended_at"] is not None}
        return set(calls) <= ended

    def truth(self) -> dict[str, tuple[int, str | None, int]]:
        """What the switch recorded of every call: (status, cause, billsec), from its CDR file."""
        out: dict[str, tuple[int, str | None, int]] = {}
        for path in sorted(self.cdr_dir.iterdir()):
            for line in path.read_bytes().splitlines(keepends=True):
                row = parse(line, "fs1")
                if row is not None:
                    status = status_for(row.hangup_cause, row.answered_at is not None)
                    out[row.call_uuid] = (int(status), row.hangup_cause, row.billsec)
        return out

    def double_dialled(self, task: str) -> int:
        phones = [a["phone"] for a in self.attempts(task)]
        return len(phones) - len(set(phones))


def _score(bench: _Bench, task: str, unheard: list[str]) -> tuple[int, int]:
    """(calls that got the switch's own outcome, calls ended LOST) among ``unheard``."""
    truth = bench.truth()
    rows = {a["call_uuid"]: a for a in bench.attempts(task)}
    right = sum(1 for u in unheard if u in truth and
                (rows[u]["status"], rows[u]["hangup_cause"], rows[u]["billsec"]) == truth[u])
    lost = sum(1 for u in unheard if rows[u]["hangup_cause"] == "LOST")
    return right, lost


def engine_kill(bench: _Bench) -> tuple[int, int, int, int]:
    task = bench.task("kill")
    first = bench.engine("faults-kill")
    _wait("60 calls up", lambda: bench.all_up(task))
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    unheard = bench.end_half_unheard(task)
    bench.engine("faults-kill")
    _wait("the unheard calls settled", lambda: bench.settled(task, unheard))
    bench.hang_up_rest(task)
    right, lost = _score(bench, task, unheard)
    return len(unheard), right, lost, bench.double_dialled(task)


def esl_cut(bench: _Bench, cut_s: float) -> tuple[int, int, int, int]:
    task = bench.task("cut")
    bench.engine("faults-cut")
    _wait("60 calls up", lambda: bench.all_up(task))
    cut_at = time.monotonic()
    bench.switch.refuse()
    unheard = bench.end_half_unheard(task)
    gevent.sleep(max(0.0, cut_s - (time.monotonic() - cut_at)))  # a benchmark's fixed outage, not a wait for a condition
    bench.switch.refuse(False)
    _wait("the unheard calls settled", lambda: bench.settled(task, unheard))
    bench.hang_up_rest(task)
    right, lost = _score(bench, task, unheard)
    return len(unheard), right, lost, bench.double_dialled(task)


def switch_restart(bench: _Bench) -> tuple[float, int, int, int]:
    task = bench.task("restart", answered=ANSWERED + RINGING, ringing=0)
    bench.engine("faults-restart", reconcile_after_s=600.0)
    _wait("60 calls up", lambda: bench.all_up(task, ANSWERED + RINGING, 0))
    old = [a["call_uuid"] for a in bench.attempts(task)]
    restarted = time.time()
    bench.switch.restart(hangup_cause="SYSTEM_SHUTDOWN")
    _wait("the old calls' slots free", lambda: bench.settled(task, old), 60)
    reconnect = min(t for t in bench.switch.accepted if t >= restarted)
    rows = {a["call_uuid"]: a for a in bench.attempts(task)}
    freed = max(rows[u]["ended_at"].timestamp() for u in old)
    truth = bench.truth()
    right = sum(1 for u in old if (rows[u]["status"], rows[u]["hangup_cause"], rows[u]["billsec"]) == truth.get(u))
    lost = sum(1 for u in old if rows[u]["hangup_cause"] == "LOST")
    return freed - reconnect, right, lost, bench.double_dialled(task)


def run(as_json: bool, quick: bool = False) -> dict[str, Any]:
    cut_s = 3.0 if quick else CUT_S
    work = Path(tempfile.mkdtemp(prefix="eslbridge-bench-faults-"))
    url = recreate_database(embedded_url(work / "data"), "bench_faults")
    cdr_dir = work / "cdr-csv"
    switch = _Switch(SimConfig(time_scale=1.0, heartbeat_s=0, sps=1000, max_sessions=10_000, rules=Rules(),
                               cdr_dir=str(cdr_dir)))
    switch.start("127.0.0.1", 0)
    bench = _Bench(url, switch, cdr_dir, work / "engines.log")
    try:
        kill_n, kill_right, kill_lost, kill_double = engine_kill(bench)
        cut_n, cut_right, cut_lost, cut_double = esl_cut(bench, cut_s)
        free_s, restart_right, restart_lost, restart_double = switch_restart(bench)
    finally:
        bench.stop()
        switch.stop()
    unheard = kill_n + cut_n
    result = {
        "outcomes_recovered_pct": round(100.0 * (kill_right + cut_right) / unheard, 1),
        "lost_pct": round(100.0 * (kill_lost + cut_lost) / unheard, 1),
        "slots_free_after_switch_restart_s": round(free_s, 3),
        "double_dialled": kill_double + cut_double + restart_double,
        "calls_ended_unheard": unheard,
        "esl_cut_s": cut_s,
        "switch_restart_calls": ANSWERED + RINGING,
        "switch_restart_recovered_pct": round(100.0 * restart_right / (ANSWERED + RINGING), 1),
        "switch_restart_lost_pct": round(100.0 * restart_lost / (ANSWERED + RINGING), 1),
    }
    print(json.dumps(result) if as_json else "\n".join(f"{k:36} {v}" for k, v in result.items()))
    return result
