"""The simulator plays mod_callcenter as the captured FreeSWITCH 1.10.12 did.

Each ``cc_*`` capture's commands are sent again, at the capture's times (scaled
with the simulator's time scale), to a simulator set up as the capture's NOTE
line says. Compared with the capture: the replies in order, the
``callcenter::info`` events (their CC-Action order, key values, and header
names in order), and the member channels' events with their header names.
Per-call values (uuids, times) differ and are not compared. ``cc_agents_api``
is compared byte for byte, the clock pinned to the capture's.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass, field, replace

import pytest

from eslbridge.esl.protocol import Event, Frame, FrameReader, parse_event
from eslbridge.sim.callcenter import AgentConfig, CallCenterConfig, QueueConfig
from eslbridge.sim.server import SimConfig, Switch
from tests.conftest import CAPTURES

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SCALE = 0.1  # the scenarios run ten times faster than captured
# A member's channel data lacks these when its dialplan thread joins the queue before the
# originate's transfer is written: a race inside FreeSWITCH, seen in 3 of 14 joins.
TRANSFER_RACE = {"Caller-Transfer-Source", "variable_transfer_history", "variable_transfer_source"}


def frames(data: bytes) -> list[Frame]:
    reader = FrameReader()
    reader.receive_data(data)
    return list(reader)


def norm(text: str) -> str:
    return UUID_RE.sub("<uuid>", text)


@dataclass
class Step:
    t_ms: int
    command: bytes | None = None  # None: only wait until the capture's events so far have come
    events: int = 0  # events the capture had delivered by then


def script_of(name: str) -> tuple[list[Step], int]:
    """The capture's commands with their times, and its waits for events ("… seen")."""
    sent = [c + b"\n\n" for c in (CAPTURES / f"{name}.sent.raw").read_bytes().split(b"\n\n") if c.strip()]
    steps: list[Step] = [Step(0, sent[0])]  # auth, not listed in the summary
    commands = iter(sent[1:])
    events = end = 0
    for line in (CAPTURES / f"{name}.summary.txt").read_text().splitlines():
        m = re.match(r"\s+(\d+)\s+(>>>|NOTE|\d+ )", line)
        if not m:
            continue
        t = int(m.group(1))
        if m.group(2) == ">>>":
            steps.append(Step(t, next(commands), events))
        elif m.group(2) == "NOTE":
            if " seen" in line or "hung up" in line:
                steps.append(Step(t, None, events))
            end = t
        else:
            events += 1
    return steps, end


def member_uuids(name: str) -> list[str]:
    return re.findall(r"origination_uuid=([0-9a-f-]{36})", (CAPTURES / f"{name}.sent.raw").read_text())


def replay(switch: Switch, name: str, scale: float = SCALE, timeout: float = 30.0) -> list[Frame]:
    """Send a capture's commands to ``switch`` as the recorder did; return every frame read."""
    steps, end = script_of(name)
    sock = socket.create_connection(switch.address)
    reader = FrameReader()
    got: list[Frame] = []
    deadline = time.monotonic() + timeout

    def pump(until: float) -> None:
        while True:
            sock.settimeout(max(0.0005, min(0.005, until - time.monotonic())))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = b""
            if data:
                reader.receive_data(data)
                got.extend(reader)
            if time.monotonic() >= min(until, deadline):
                return

    def replies() -> int:
        return sum(not f.is_event for f in got)

    def caught_up(step: Step) -> None:
        """The capture's events before this step have come (the recorder saw them first):
        a command sent at a whole-second edge would otherwise race the switch's clock."""
        wait_until = min(deadline, time.monotonic() + 3.0)
        while sum(f.is_event for f in got) < step.events and time.monotonic() < wait_until:
            pump(time.monotonic() + 0.002)

    try:
        pump(time.monotonic() + 0.05)  # the greeting
        start = time.monotonic()
        for step in steps:
            if step.command is None:
                caught_up(step)
                start = max(start, time.monotonic() - step.t_ms / 1000 * scale)  # later, never earlier
                continue
            pump(start + step.t_ms / 1000 * scale)
            caught_up(step)
            before = replies()
            sock.sendall(step.command)
            while replies() == before and time.monotonic() < deadline:
                pump(time.monotonic() + 0.001)
        pump(start + end / 1000 * scale + 0.2)
    finally:
        sock.close()
    return got


@dataclass
class Setup:
    available: tuple[str, ...] = ()
    on_break: tuple[str, ...] = ()
    agent: dict[str, object] = field(default_factory=dict)  # agent1's own settings
    queue: dict[str, object] = field(default_factory=dict)
    scale: float = SCALE


AGENT1 = ("agent1@default",)
SCENARIOS = {
    "cc_answered_to_agent": Setup(AGENT1),
    "cc_answered_to_agent_plain_cc_only": Setup(AGENT1),
    "cc_answered_to_agent_agent_hangs_up": Setup(AGENT1),
    "cc_abandoned_no_agent": Setup(),
    "cc_abandoned_no_agent_callee_hangs_up_3s": Setup(),
    "cc_abandoned_no_agent_plain_cc_only": Setup(),
    "cc_on_break_then_logged_out": Setup(on_break=AGENT1),
    # Both calls must join within one dispatcher pass (50 ms after the first): slower, to stay clear of it.
    "cc_two_calls_one_agent": Setup(AGENT1, scale=0.3),
    "cc_two_calls_one_agent_served_after_wrapup": Setup(AGENT1, scale=0.3),
    "cc_agent_no_answer": Setup(AGENT1, agent={"contact": "[leg_timeout=5]loopback/13800000002/callee",
                                               "answer_after_s": None}),
    "cc_max_wait_time_2_timeout": Setup(AGENT1, queue={"max_wait_time": 2}),
    "cc_loopback_agent_not_bridged": Setup(AGENT1, agent={"contact": "[leg_timeout=5]loopback/13800000004/callee",
                                                          "unbridged": True}),
}


def config_for(setup: Setup) -> CallCenterConfig:
    agents = []
    for a in CallCenterConfig().agents:
        status = "Available" if a.name in setup.available else "On Break" if a.name in setup.on_break else a.status
        agent = replace(a, status=status)
        if a.name == "agent1@default":
            agent = replace(agent, **setup.agent)  # type: ignore[arg-type]
        agents.append(agent)
    return CallCenterConfig(queues=[replace(QueueConfig(), **setup.queue)], agents=agents)  # type: ignore[arg-type]


def cc_key(e: Event) -> tuple[str, ...]:
    h = e.headers
    detail = next((h[k] for k in ("CC-Agent-State", "CC-Agent-Status", "CC-Count", "CC-Cancel-Reason", "CC-Cause",
                                  "CC-Hangup-Cause") if k in h), "")
    if h.get("CC-Action") == "member-queue-end" and "CC-Cancel-Reason" not in h:
        detail = h.get("CC-Cause", "")
    return (h.get("CC-Action", ""), detail)


def agent_fields(body: str) -> list[tuple[str, ...]]:
    """The rows of an agent list: each agent's status and state."""
    lines = body.splitlines()
    if len(lines) < 2 or not lines[0].startswith("name|"):
        return []
    names = lines[0].split("|")
    rows = []
    for line in lines[1:-1]:
        row = dict(zip(names, line.split("|"), strict=False))
        rows.append((row["name"], row["status"], row["state"]))  # counters carry the capture bench's history
    return rows


def shape(body: str) -> str:
    """What a reply says, times and uuids aside: a list's header row, a count, or the text."""
    first = body.split("\n", 1)[0]
    if "|" in first:
        return "list:" + first
    if re.fullmatch(r"\d+\n", body):
        return "count"
    return norm(body)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_callcenter_scenario_matches_capture(name):
    captured = frames((CAPTURES / f"{name}.recv.raw").read_bytes())
    setup = SCENARIOS[name]
    switch = Switch(SimConfig(time_scale=setup.scale, heartbeat_s=0, callcenter=config_for(setup))).start()
    try:
        got = replay(switch, name, scale=setup.scale)
    finally:
        switch.stop()
    sent = [c for c in (CAPTURES / f"{name}.sent.raw").read_bytes().split(b"\n\n") if c.strip()]
    # Replies: same types and texts in the same order; api bodies of the same shape.
    cap_replies = [f for f in captured if not f.is_event]
    sim_replies = [f for f in got if not f.is_event]
    assert [(f.content_type, norm(f.reply_text)) for f in sim_replies] == [
        (f.content_type, norm(f.reply_text)) for f in cap_replies
    ]
    api_cmds = [c for c in [b"greeting"] + sent if c == b"greeting" or not c.startswith((b"auth", b"event"))]
    for cmd, cap, sim in zip(api_cmds, cap_replies, sim_replies, strict=False):
        if cap.content_type == "api/response":
            assert shape(sim.text()) == shape(cap.text()), cmd
            if b"agent list" in cmd:
                assert agent_fields(sim.text()) == agent_fields(cap.text()), cmd
    cap_events = [parse_event(f) for f in captured if f.is_event]
    sim_events = [parse_event(f) for f in got if f.is_event]
    assert {f.content_type for f in got if f.is_event} == {f.content_type for f in captured if f.is_event}
    # callcenter::info: the same actions, in the same order, with the same header names.
    cap_cc = [e for e in cap_events if e.name == "CUSTOM"]
    sim_cc = [e for e in sim_events if e.name == "CUSTOM"]
    assert [cc_key(e) for e in sim_cc] == [cc_key(e) for e in cap_cc]
    for cap_e, sim_e in zip(cap_cc, sim_cc, strict=True):
        # FreeSWITCH's own order of channel variables varies from call to call; the CC-* order does not.
        sim_names, cap_names = set(sim_e.headers), set(cap_e.headers)
        if cc_key(cap_e)[0] == "member-queue-start" and not TRANSFER_RACE & cap_names:
            sim_names -= TRANSFER_RACE  # the capture's member joined before its transfer was recorded
        assert sim_names == cap_names, (cc_key(cap_e), sim_names ^ cap_names)
        assert [h for h in sim_e.headers if h.startswith("CC-")] == [h for h in cap_e.headers if h.startswith("CC-")]
        assert list(sim_e.headers)[:14] == list(cap_e.headers)[:14]  # Event-Subclass first, then the core headers
    # The member channels (our origination uuids): same events, same header names.
    members = member_uuids(name)
    cap_m = [e for e in cap_events if e.unique_id in members and e.name != "CUSTOM"]
    sim_m = [e for e in sim_events if e.unique_id in members and e.name != "CUSTOM"]
    assert [(members.index(e.unique_id), e.name) for e in sim_m] == [(members.index(e.unique_id), e.name) for e in cap_m]
    for cap_e, sim_e in zip(cap_m, sim_m, strict=True):
        assert set(sim_e.headers) == set(cap_e.headers), (cap_e.name, set(sim_e.headers) ^ set(cap_e.headers))
        for h in ("Hangup-Cause", "variable_last_app", "variable_cc_cause", "variable_cc_cancel_reason"):
            assert sim_e.get(h) == cap_e.get(h), (cap_e.name, h)
    # The offers and bridges name the member sessions the engine originated.
    for cap_e, sim_e in zip(cap_cc, sim_cc, strict=True):
        if "CC-Member-Session-UUID" in cap_e.headers:
            assert sim_e.get("CC-Member-Session-UUID") == cap_e.get("CC-Member-Session-UUID")


def test_callcenter_config_replies_match_capture_byte_for_byte():
    name = "cc_agents_api"
    captured = frames((CAPTURES / f"{name}.recv.raw").read_bytes())
    cap_events = [parse_event(f) for f in captured if f.is_event and f.content_type == "text/event-json"]
    pinned = cap_events[0].timestamp_us / 1e6  # the capture's clock: last_status_change shows it
    switch = Switch(SimConfig(heartbeat_s=0), cc_clock=lambda: pinned).start()
    try:
        got = replay(switch, name, scale=1.0)
    finally:
        switch.stop()
    cap_replies = [f for f in captured if not f.is_event]
    sim_replies = [f for f in got if not f.is_event]
    assert len(sim_replies) == len(cap_replies)
    for cap, sim in zip(cap_replies, sim_replies, strict=True):
        if cap.content_type == "api/response":
            assert sim.body == cap.body, cap.body[:80]
        else:
            assert norm(sim.reply_text) == norm(cap.reply_text)
    sim_events = [parse_event(f) for f in got if f.is_event]
    assert [e.name for e in sim_events] == [e.name for e in cap_events]
    for cap_e, sim_e in zip(cap_events, sim_events, strict=True):
        assert list(sim_e.headers) == list(cap_e.headers)
        assert {k: v for k, v in sim_e.headers.items() if k.startswith(("CC-", "Event-Calling"))} == {
            k: v for k, v in cap_e.headers.items() if k.startswith(("CC-", "Event-Calling"))
        }
    job = next(e for e in sim_events if e.name == "BACKGROUND_JOB")
    cap_job = next(e for e in cap_events if e.name == "BACKGROUND_JOB")
    assert (job.get("Job-Command"), job.get("Job-Command-Arg"), job.body) == (
        cap_job.get("Job-Command"), cap_job.get("Job-Command-Arg"), cap_job.body)


def test_custom_must_be_the_last_word_of_event():
    """``event json CUSTOM callcenter::info BACKGROUND_JOB …`` takes every later word as a
    subclass: only the callcenter event comes; subscribed properly, the job comes too."""
    name = "esl_event_custom_must_be_last"
    captured = frames((CAPTURES / f"{name}.recv.raw").read_bytes())
    switch = Switch(SimConfig(heartbeat_s=0)).start()
    try:
        got = replay(switch, name, scale=1.0)
    finally:
        switch.stop()
    assert [(f.content_type, norm(f.reply_text)) for f in got if not f.is_event] == [
        (f.content_type, norm(f.reply_text)) for f in captured if not f.is_event
    ]
    names = [(e.name, e.get("CC-Agent-Status")) for e in (parse_event(f) for f in got if f.is_event)]
    assert names == [(e.name, e.get("CC-Agent-Status")) for e in (parse_event(f) for f in captured if f.is_event)]
    assert names == [("CUSTOM", "Available"), ("BACKGROUND_JOB", None), ("CUSTOM", "Logged Out")]


def _session(switch: Switch):
    sock = socket.create_connection(switch.address)
    sock.settimeout(0.01)
    reader = FrameReader()
    got: list[Frame] = []

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            reader.receive_data(data)
            got.extend(reader)

    def command(text: str) -> Frame:
        before = sum(not f.is_event for f in got)
        sock.sendall(text.encode() + b"\n\n")
        deadline = time.monotonic() + 5
        while sum(not f.is_event for f in got) == before and time.monotonic() < deadline:
            pump(0.01)
        return [f for f in got if not f.is_event][-1]

    pump(0.05)
    command("auth ClueCon")
    return sock, got, pump, command


def test_engine_filter_passes_callcenter_events_only_with_the_subclass_filter():
    """With ``filter variable_eslbridge_engine X`` alone, events without channel data
    (agent-*, members-count) are filtered out, as FreeSWITCH does; adding ``filter
    Event-Subclass callcenter::info`` (filters are OR-ed) lets them through."""
    cc = CallCenterConfig.staffed(1, talk_s=0.5)
    switch = Switch(SimConfig(heartbeat_s=0, time_scale=0.2, callcenter=cc)).start()
    try:
        sock, got, pump, command = _session(switch)
        command("event json BACKGROUND_JOB CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info")
        assert command("filter variable_eslbridge_engine e1").reply_text == "+OK filter added. [variable_eslbridge_engine]=[e1]"
        command("bgapi originate {origination_uuid=11111111-2222-4333-8444-555555555551,eslbridge_engine=e1,"
                "cc_export_vars=eslbridge_engine}"
                "loopback/13800000004/lab sales@default XML eslbridge_queue")
        pump(1.0)
        first = [parse_event(f) for f in got if f.is_event]
        assert {e.get("CC-Action") for e in first if e.name == "CUSTOM"} >= {"member-queue-start", "bridge-agent-start"}
        assert not {"members-count", "agent-offering", "agent-state-change"} & {e.get("CC-Action") for e in first}
        assert all(e.get("variable_eslbridge_engine") == "e1" for e in first if e.name != "BACKGROUND_JOB")
        got.clear()
        assert command("filter Event-Subclass callcenter::info").reply_text.startswith("+OK filter added.")
        command("bgapi originate {origination_uuid=11111111-2222-4333-8444-555555555552,eslbridge_engine=e1,"
                "cc_export_vars=eslbridge_engine}"
                "loopback/13800000004/lab sales@default XML eslbridge_queue")
        pump(1.5)
        second = {parse_event(f).get("CC-Action") for f in got if f.is_event}
        assert {"members-count", "agent-offering", "agent-state-change", "bridge-agent-end"} <= second
        assert command("filter delete Event-Subclass").reply_text == "+OK filter deleted. [Event-Subclass][]"
        sock.close()
    finally:
        switch.stop()


def test_negative_and_regex_filters_as_mod_event_socket():
    switch = Switch(SimConfig(heartbeat_s=0)).start()
    try:
        sock, got, pump, command = _session(switch)
        command("event plain CUSTOM callcenter::info")
        command("filter CC-Action /^agent-status/")
        command("filter CC-Agent -agent2@default")
        for agent in ("agent1@default", "agent2@default"):
            command(f"api callcenter_config agent set status {agent} Available")
            command(f"api callcenter_config agent set state {agent} Waiting")
        pump(0.2)
        events = [parse_event(f) for f in got if f.is_event]
        assert [(e.get("CC-Action"), e.get("CC-Agent")) for e in events] == [("agent-status-change", "agent1@default")]
        assert events[0].get("Event-Subclass") == "callcenter::info"
        sock.close()
    finally:
        switch.stop()


def test_agents_answer_and_talk_as_configured_and_are_offered_longest_idle_first():
    """Ten agents that answer at once and talk 1 s (scaled): every call is bridged,
    no agent gets two calls at once, and the agents are offered in turn."""
    cc = CallCenterConfig.staffed(10, talk_s=1.0, wrap_up_time=1)
    switch = Switch(SimConfig(heartbeat_s=0, time_scale=0.2, sps=1000, callcenter=cc)).start()
    try:
        sock, got, pump, command = _session(switch)
        command("event json CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info")
        for i in range(10):
            command(f"bgapi originate {{origination_uuid=22222222-2222-4333-8444-5555555555{i:02d},"
                    f"hangup_after_bridge=true}}loopback/1380000{i:04d}8/lab sales@default XML eslbridge_queue")
        pump(1.0)
        events = [parse_event(f) for f in got if f.is_event]
        starts = [e for e in events if e.get("CC-Action") == "bridge-agent-start"]
        assert sorted(e.get("CC-Agent") for e in starts) == sorted(f"agent{i}@default" for i in range(1, 11))
        busy: set[str] = set()
        for e in events:
            action, agent = e.get("CC-Action"), e.get("CC-Agent")
            if action == "agent-offering":
                assert agent not in busy
                busy.add(agent)
            elif action in ("bridge-agent-end", "bridge-agent-fail"):
                busy.discard(agent)
        ends = [e for e in events if e.get("CC-Action") == "bridge-agent-end"]
        assert len(ends) == 10
        huc = [e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE" and e.get("variable_cc_side") == "member"]
        assert len(huc) == 10 and {e.get("variable_cc_cause") for e in huc} == {"answered"}
        rows = command("api callcenter_config queue list agents sales@default").text().splitlines()[1:-1]
        assert all(r.split("|")[6] == "Waiting" and r.split("|")[17] == "1" for r in rows)
        sock.close()
    finally:
        switch.stop()


def test_waiting_member_transferred_away_leaves_with_break_out_and_hears_the_safe_harbor():
    switch = Switch(SimConfig(heartbeat_s=0, time_scale=0.2)).start()  # every agent Logged Out
    try:
        sock, got, pump, command = _session(switch)
        command("event json CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info")
        uid = "33333333-2222-4333-8444-555555555555"
        command(f"bgapi originate {{origination_uuid={uid},eslbridge_safe_harbor=silence_stream://1000}}"
                "loopback/13800000008/lab sales@default XML eslbridge_queue")
        pump(0.1)
        assert command(f"api uuid_transfer {uid} abandoned XML eslbridge_queue").body == b"+OK\n"
        assert command("api uuid_transfer 00000000-0000-0000-0000-000000000000 abandoned").body == b"-ERR No such channel!\n"
        pump(0.5)
        events = [parse_event(f) for f in got if f.is_event]
        end = next(e for e in events if e.get("CC-Action") == "member-queue-end")
        assert (end.get("CC-Cause"), end.get("CC-Cancel-Reason")) == ("Cancel", "BREAK_OUT")
        huc = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE" and e.unique_id == uid)
        assert huc.get("variable_last_app") == "hangup" and huc.get("variable_cc_cancel_reason") == "BREAK_OUT"
        assert huc.get("Caller-Destination-Number") == "abandoned"
        # the safe harbor (1 s, scaled to 0.2 s) plays between leaving and hanging up
        assert huc.timestamp_us - end.timestamp_us >= 150_000
        sock.close()
    finally:
        switch.stop()


def test_json_api_agent_list_leaves_empty_fields_out():
    switch = Switch(SimConfig(heartbeat_s=0)).start()
    try:
        sock, _got, _pump, command = _session(switch)
        body = command('api json {"command":"callcenter_config","data":{"arguments":"agent list"}}').text()
        reply = json.loads(body)
        assert reply["status"] == "success" and len(reply["response"]) == 3
        assert "uuid" not in reply["response"][0] and reply["response"][0]["status"] == "Logged Out"
        bad = json.loads(command('api json {"command":"nosuch","data":{}}').text())
        assert bad["status"] == "error" and bad["response"] is None
        sock.close()
    finally:
        switch.stop()


def test_agent_config_defaults_are_the_captures():
    agent = AgentConfig("agent1@default")
    assert (agent.wrap_up_time, agent.max_no_answer, agent.no_answer_delay_time, agent.status) == (5, 3, 5, "Logged Out")
    assert [a.name for a in CallCenterConfig().agents] == ["agent1@default", "agent2@default", "agent3@default"]


def test_the_engines_originate_is_bridged_tagged_and_hangs_up_with_its_agent():
    """The engine's form (hangup_after_bridge, cc_export_vars of its tags, the
    eslbridge_queue context): the member is bridged, the agent legs carry the
    engine's tags, and the member hangs up when its agent does."""
    cc = CallCenterConfig.staffed(1, talk_s=1.0)
    switch = Switch(SimConfig(heartbeat_s=0, time_scale=0.2, callcenter=cc)).start()
    uid = "44444444-2222-4333-8444-555555555555"
    try:
        sock, got, pump, command = _session(switch)
        command("event json CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HANGUP_COMPLETE "
                "CUSTOM callcenter::info")
        command(f"bgapi originate {{^^!origination_uuid={uid}!eslbridge_engine=e1!eslbridge_task=t1"
                "!hangup_after_bridge=true!eslbridge_safe_harbor=silence_stream://1000"
                "!cc_export_vars=eslbridge_engine,eslbridge_task,eslbridge_number!eslbridge_number=42}"
                "loopback/13800000008/lab sales@default XML eslbridge_queue")
        pump(0.6)
        sock.close()
    finally:
        switch.stop()
    events = [parse_event(f) for f in got if f.is_event]
    member = [e.name for e in events if e.unique_id == uid and e.name != "CUSTOM"]
    assert member == ["CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP_COMPLETE"]
    huc = next(e for e in events if e.unique_id == uid and e.name == "CHANNEL_HANGUP_COMPLETE")
    assert (huc.get("variable_cc_cause"), huc.get("variable_cc_agent"), huc.get("variable_cc_queue")) == (
        "answered", "agent1@default", "sales@default")
    assert huc.get("variable_cc_export_vars") == "eslbridge_engine,eslbridge_task,eslbridge_number"
    assert "variable_cc_export_vars" not in dict(huc.repeated)  # the originate's, not the dialplan's too
    actions = [e.get("CC-Action") for e in events if e.name == "CUSTOM"]
    assert actions[-3:] == ["bridge-agent-end", "member-queue-end", "agent-state-change"]
    end = next(e for e in events if e.get("CC-Action") == "member-queue-end")
    assert end.get("CC-Cause") == "Terminated" and end.get("Answer-State") == "hangup"
    agent_legs = [e for e in events if e.name != "CUSTOM" and e.get("variable_cc_side") == "agent"]
    assert agent_legs and all(e.get("variable_eslbridge_task") == "t1" and e.get("variable_eslbridge_number") == "42"
                              for e in agent_legs if e.get("variable_eslbridge_engine"))
    start = next(e for e in events if e.get("CC-Action") == "bridge-agent-start")
    assert start.get("variable_eslbridge_engine") == "e1" and start.get("CC-Member-Session-UUID") == uid


def test_a_queue_that_does_not_exist_lets_the_call_go_on_and_end_without_callcenter_events():
    switch = Switch(SimConfig(heartbeat_s=0, time_scale=0.2)).start()
    uid = "55555555-2222-4333-8444-555555555555"
    try:
        sock, got, pump, command = _session(switch)
        command("event json CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE CUSTOM callcenter::info")
        command(f"bgapi originate {{origination_uuid={uid},eslbridge_safe_harbor=silence_stream://1000}}"
                "loopback/13800000008/lab nosuch@default XML eslbridge_queue")
        pump(0.5)
        sock.close()
    finally:
        switch.stop()
    events = [parse_event(f) for f in got if f.is_event]
    assert not [e for e in events if e.name == "CUSTOM"]
    assert [e.name for e in events if e.unique_id == uid] == ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]
    answer, huc = (e for e in events if e.unique_id == uid)
    assert (huc.timestamp_us - answer.timestamp_us) / 1e6 >= 0.15  # the safe harbor, 1 s scaled by 0.2
    assert switch.calls == {}
