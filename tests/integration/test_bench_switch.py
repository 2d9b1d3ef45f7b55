"""`eslbridge bench switch`: the engine's call runs through a switch given by address (here the simulator,
on the bench FreeSWITCH in README), and the command's errors."""

from __future__ import annotations

import json

import pytest

from eslbridge.bench import switch as bench
from eslbridge.bench.engine import SwitchTarget
from eslbridge.cli import main


@pytest.fixture
def fast_switch():
    from eslbridge.sim.server import SimConfig, Switch

    sw = Switch(SimConfig(time_scale=0, heartbeat_s=0, sps=100_000, max_sessions=100_000)).start("127.0.0.1", 0)
    yield sw
    sw.stop()


def test_the_runs_dial_through_the_switch_given_and_report_its_outcomes(fast_switch, pg_server_url, capsys):
    target = SwitchTarget("127.0.0.1", fast_switch.address[1], dial_string="loopback/%s/lab")
    result = bench.run(True, target, calls=300, runs=1, server_url=pg_server_url)
    assert json.loads(capsys.readouterr().out) == result
    assert result["switch"] == f"127.0.0.1:{fast_switch.address[1]}" and result["dial_string"] == "loopback/%s/lab"
    assert result["calls_per_s"] > 0 and result["engine_cpu_us_per_call"] > 0
    assert len(result["calls_per_s_runs"]) == len(result["engine_cpu_us_per_call_runs"]) == 1
    # Every number the run waited for (90 %) answered (10) on the switch; the rest pending or in flight.
    assert result["statuses"].get("10", 0) >= 270 and set(result["statuses"]) <= {"0", "1", "2", "10"}
    assert sum(result["statuses"].values()) == 300


def test_a_switch_that_refuses_the_password_is_reported_not_waited_on_forever(fast_switch, pg_server_url):
    target = SwitchTarget("127.0.0.1", fast_switch.address[1], password="wrong", dial_string="loopback/%s/lab")
    with pytest.raises(RuntimeError, match=r"ESL link to fs1 \(127\.0\.0\.1:\d+\) did not come up"):
        bench.run(True, target, calls=50, runs=1, server_url=pg_server_url)


@pytest.mark.parametrize("argv, message", [
    (["bench", "switch"], "--switch HOST:PORT is required"),
    (["bench", "switch", "--switch", "127.0.0.1"], "--switch wants HOST:PORT, got '127.0.0.1'"),
    (["bench", "switch", "--switch", "fs1:99999"], "--switch wants HOST:PORT, got 'fs1:99999'"),
])
def test_a_missing_or_malformed_address_is_refused(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("address, pair", [
    ("127.0.0.1:8021", ("127.0.0.1", 8021)), ("fs1.example:8022", ("fs1.example", 8022)), ("[::1]:8021", ("::1", 8021)),
])
def test_addresses_are_read_as_host_and_port(address, pair):
    assert bench.parse_address(address) == pair


def test_the_command_passes_what_was_given_and_leaves_the_rest_to_the_defaults(monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "run", lambda as_json, target, **kw: calls.append((as_json, target, kw)))
    monkeypatch.setenv("ESLBRIDGE_BENCH_SWITCH_PASSWORD", "s3cret")
    assert main(["bench", "switch", "--switch", "fs1:8022", "--json"]) == 0
    assert main(["bench", "switch", "--switch", "fs1:8022", "--dial-string", "loopback/%s/lab", "--cps", "50",
                 "--calls", "200", "--quick"]) == 0
    (json_out, first, kw1), (_, second, kw2) = calls
    assert json_out and first == SwitchTarget("fs1", 8022, password="s3cret") and kw1 == {"runs": 3}
    assert second == SwitchTarget("fs1", 8022, "s3cret", dial_string="loopback/%s/lab", calls_per_second=50.0)
    assert kw2 == {"runs": 1, "calls": 200}
