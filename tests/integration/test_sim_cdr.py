"""The simulator writes CDRs as mod_cdr_csv did on the bench FreeSWITCH: same lines, written before the hangup event."""

from __future__ import annotations

import uuid
from pathlib import Path

import gevent.queue
import pytest

from eslbridge.cdr.format import FIELDS, parse
from eslbridge.esl.client import ESLConnection
from eslbridge.esl.protocol import Event
from eslbridge.sim.server import SimConfig, Switch
from tests.helpers import wait_for

REAL = (Path(__file__).parents[1] / "data" / "cdr" / "fs_1.10.12_Master.csv").read_bytes().splitlines()
VARS = "eslbridge_engine=test,eslbridge_task=t1,eslbridge_number=7"
TIMED = {"billsec", "duration"}  # whole seconds: 0 for the simulator's calls at time scale 0.01


def filled(line: bytes) -> set[str]:
    """The template's fields a line has a value for (0 counts as none, as in a never-answered call)."""
    values = line.decode().split(",", 1)[1].split(",")
    return {name for name, v in zip(FIELDS, values, strict=True) if v.strip('"') not in ("", "0")}


def lines_of(path: Path) -> dict[str, bytes]:
    """Each line by its channel uuid."""
    return {line.split(b'"')[1].decode(): line for line in path.read_bytes().splitlines()} if path.exists() else {}


@pytest.fixture
def sim(tmp_path: Path):
    switch = Switch(SimConfig(time_scale=0.01, heartbeat_s=0, sps=1000, cdr_dir=str(tmp_path))).start("127.0.0.1", 0)
    yield switch
    switch.stop()


@pytest.fixture
def conn(sim):
    c = ESLConnection("127.0.0.1", sim.address[1], "ClueCon", connect_timeout=5, command_timeout=5, name="t")
    c.connect()
    yield c
    c.stop()


def test_each_channels_cdr_is_in_the_file_before_its_hangup_event(sim, conn, tmp_path):
    seen: gevent.queue.Queue[tuple[str, bool]] = gevent.queue.Queue()

    def on_hangup(event: Event) -> None:  # in the reader greenlet, as each event arrives
        seen.put((event.unique_id or "", (event.unique_id or "") in lines_of(tmp_path / "Master.csv")))

    conn.on("*", on_hangup)
    conn.command("event json CHANNEL_HANGUP_COMPLETE")
    calls = {d: str(uuid.uuid4()) for d in "0139"}
    for digit, u in calls.items():
        conn.bgapi(f"originate {{origination_uuid={u},originate_timeout=8,{VARS}}}loopback/138000000{digit}/callee "
                   "9000 XML default", str(uuid.uuid4()))
    got = [seen.get(timeout=10) for _ in range(8)]  # two legs a call
    assert all(written for _, written in got)
    rows = {d: parse(lines_of(tmp_path / "Master.csv")[u], "fs1") for d, u in calls.items()}
    assert {d: r.hangup_cause for d, r in rows.items() if r} == {
        "0": "NORMAL_CLEARING", "1": "USER_BUSY", "3": "UNALLOCATED_NUMBER", "9": "NORMAL_CLEARING"}
    # The same fields are filled as in the real FreeSWITCH's lines (REAL: busy, unallocated, answered).
    sim_lines = lines_of(tmp_path / "Master.csv")
    assert filled(sim_lines[calls["1"]]) == filled(REAL[1])
    assert filled(sim_lines[calls["3"]]) == filled(REAL[3])
    assert filled(sim_lines[calls["0"]]) - TIMED == filled(REAL[7]) - TIMED


@pytest.mark.parametrize(("agent", "real"), [(True, 9), (False, 10)], ids=["answered-by-an-agent", "no-agent"])
def test_a_queue_calls_cdr_has_the_fields_mod_callcenter_sets(sim, conn, tmp_path, agent, real):
    if agent:
        assert conn.api("callcenter_config agent set status agent1@default Available").startswith("+OK")
    u = str(uuid.uuid4())
    digit = "0" if agent else "4"  # as on the bench: a 3 s call taken by agent1, a 20 s one nobody took
    conn.bgapi(f"originate {{origination_uuid={u},originate_timeout=8,{VARS}}}loopback/138000000{digit}/callee "
               "sales XML queue", str(uuid.uuid4()))
    wait_for(lambda: u in lines_of(tmp_path / "Master.csv") and u not in sim.calls, timeout=20)
    line = lines_of(tmp_path / "Master.csv")[u]
    assert filled(line) - TIMED == filled(REAL[real]) - TIMED
    row = parse(line, "fs1")
    assert row is not None and row.cc_queue == "sales@default"
    assert (row.cc_cause, row.cc_agent) == (("answered", "agent1@default") if agent else ("cancel", None))


def test_rotation_renames_the_file_and_starts_a_new_one(sim, conn, tmp_path):
    u = str(uuid.uuid4())
    conn.bgapi(f"originate {{origination_uuid={u},{VARS}}}loopback/1380000001/callee 9000 XML default", str(uuid.uuid4()))
    wait_for(lambda: u in lines_of(tmp_path / "Master.csv"))
    assert conn.api("cdr_csv rotate") == "+OK"
    [rotated] = [p for p in tmp_path.iterdir() if p.name.startswith("Master.csv.")]
    assert u in lines_of(rotated) and not (tmp_path / "Master.csv").exists()
    v = str(uuid.uuid4())
    conn.bgapi(f"originate {{origination_uuid={v},{VARS}}}loopback/1380000001/callee 9000 XML default", str(uuid.uuid4()))
    wait_for(lambda: v in lines_of(tmp_path / "Master.csv"))
    assert conn.api("fsctl send_sighup").startswith("+OK") and len(list(tmp_path.iterdir())) == 2
