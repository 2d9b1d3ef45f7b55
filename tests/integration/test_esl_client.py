"""The ESL client over real sockets: the simulator, and scripted servers for each fault."""

from __future__ import annotations

import time
import uuid

import gevent
import gevent.event
import pytest
from gevent.server import StreamServer

from eslbridge.esl.client import (
    AuthError,
    CommandTimeout,
    ConnectError,
    ConnectionLost,
    ESLConnection,
)
from eslbridge.esl.link import NodeConfig, NodeLink
from tests.helpers import wait_for

GREETING = b"Content-Type: auth/request\n\n"
AUTH_OK = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"


def read_command(sock) -> bytes:
    buf = b""
    while b"\n\n" not in buf:
        data = sock.recv(4096)
        if not data:
            return b""
        buf += data
    return buf


@pytest.fixture
def scripted():
    """Start a TCP server whose per-connection behaviour is the given function."""
    servers = []

    def start(handler):
        server = StreamServer(("127.0.0.1", 0), handler)
        server.start()
        servers.append(server)
        return server.address[1]

    yield start
    for s in servers:
        s.stop(timeout=1)


def authed(handler):
    def run(sock, _addr):
        sock.sendall(GREETING)
        read_command(sock)
        sock.sendall(AUTH_OK)
        handler(sock)

    return run


def test_connect_auth_and_api_against_the_simulator(switch):
    conn = ESLConnection(*switch.address, "ClueCon")
    conn.connect()
    assert conn.api("version").startswith("FreeSWITCH Version 1.10.12")
    assert conn.api("show calls count") == "\n0 total.\n"
    assert conn.command("event json BACKGROUND_JOB") == "+OK event listener enabled json"
    conn.stop()
    assert conn.closed


def test_wrong_password_is_a_clear_auth_error(switch):
    conn = ESLConnection(*switch.address, "WrongPassword")
    with pytest.raises(AuthError, match="refused the ESL password") as err:
        conn.connect()
    assert "WrongPassword" not in str(err.value)


def test_closed_port_is_a_connect_error(free_port):
    with pytest.raises(ConnectError, match="cannot connect"):
        ESLConnection("127.0.0.1", free_port, "ClueCon", connect_timeout=2).connect()


def test_silent_server_times_out_at_the_greeting(scripted):
    port = scripted(lambda sock, addr: gevent.sleep(30))
    start = time.monotonic()
    with pytest.raises(ConnectError, match="no greeting"):
        ESLConnection("127.0.0.1", port, "ClueCon", connect_timeout=0.5).connect()
    assert time.monotonic() - start < 5


def test_acl_rejection_is_reported(scripted):
    def reject(sock, _):
        sock.sendall(b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n")
        sock.close()

    with pytest.raises(ConnectError, match="Access Denied"):
        ESLConnection("127.0.0.1", scripted(reject), "ClueCon").connect()


def test_pending_commands_fail_when_the_connection_drops_mid_frame(scripted):
    def half_reply(sock):
        read_command(sock)
        sock.sendall(b"Content-Type: api/response\nContent-Length: 100\n\nonly part")
        sock.close()

    conn = ESLConnection("127.0.0.1", scripted(authed(half_reply)), "ClueCon")
    conn.connect()
    with pytest.raises(ConnectionLost, match="inside a frame"):
        conn.api("status", timeout=5)
    assert conn.closed and not conn.connected


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"Content-Type: command/reply\nReply-Text: +OK surprise\n\n", "nobody sent"),
        (b"Content-Type: text/event-json\n\n{}", "without Content-Length"),
    ],
    ids=["reply-nobody-asked-for", "event-without-content-length"],
)
def test_unframeable_or_unexpected_input_drops_the_connection(scripted, stream, reason):
    def bad(sock):
        sock.sendall(stream)
        gevent.sleep(5)  # the server keeps the connection open: the client must close it

    conn = ESLConnection("127.0.0.1", scripted(authed(bad)), "ClueCon")
    conn.connect()
    assert conn.wait_closed(timeout=5)
    assert reason in (conn.close_reason or "")


def test_content_length_larger_than_data_then_silence_times_out_the_command(scripted):
    def short(sock):
        read_command(sock)
        sock.sendall(b"Content-Type: api/response\nContent-Length: 50\n\nabc")
        gevent.sleep(5)

    conn = ESLConnection("127.0.0.1", scripted(authed(short)), "ClueCon")
    conn.connect()
    with pytest.raises(CommandTimeout):
        conn.api("status", timeout=0.3)
    conn.close()


def test_invalid_utf8_event_is_skipped_and_the_connection_survives(scripted):
    def events(sock):
        read_command(sock)  # event json ...
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK event listener enabled json\n\n")
        bad = b'{"Event-Name":"CHANNEL_ANSWER","x":"\xff\xfe'
        good = b'{"Event-Name":"CHANNEL_ANSWER","Unique-ID":"u1"}'
        for body in (bad, good):
            sock.sendall(b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(body) + body)
        gevent.sleep(5)

    conn = ESLConnection("127.0.0.1", scripted(authed(events)), "ClueCon")
    conn.connect()
    got = []
    conn.on("CHANNEL_ANSWER", got.append)
    conn.command("event json CHANNEL_ANSWER")
    wait_for(lambda: got)
    assert got[0].unique_id == "u1" and conn.bad_events == 1 and conn.connected
    conn.close()


def test_ten_megabyte_api_body_arrives_whole(scripted):
    big = b"x" * (10 * 1024 * 1024)

    def huge(sock):
        read_command(sock)
        sock.sendall(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(big) + big)
        gevent.sleep(5)

    conn = ESLConnection("127.0.0.1", scripted(authed(huge)), "ClueCon")
    conn.connect()
    assert len(conn.api("show channels", timeout=20)) == len(big)
    conn.close()


def test_hundred_thousand_events_in_a_burst_all_arrive(switch):
    conn = ESLConnection(*switch.address, "ClueCon")
    conn.connect()
    count = 0
    done = gevent.event.Event()

    def on_event(_):
        nonlocal count
        count += 1
        if count == 100_000:
            done.set()

    conn.on("CHANNEL_HANGUP_COMPLETE", on_event)
    conn.command("event json CHANNEL_HANGUP_COMPLETE")
    conn.api("sim_flood 100000")
    assert done.wait(timeout=60)
    assert conn.connected and conn.bad_events == 0
    conn.close()


def test_frames_split_into_tiny_packets_are_reassembled(switch):
    conn = ESLConnection(*switch.address, "ClueCon")
    conn.connect()
    for session in switch.sessions:
        session.split_writes = 7
    assert conn.api("version").startswith("FreeSWITCH")
    conn.close()


def test_bgapi_job_result_is_delivered_even_when_fast(switch):
    conn = ESLConnection(*switch.address, "ClueCon")
    conn.connect()
    conn.command("event json BACKGROUND_JOB")
    job = str(uuid.uuid4())
    result = conn.bgapi(f"originate {{origination_uuid={uuid.uuid4()}}}loopback/13800000001/lab 9000", job, wait=True)
    event = result.get(timeout=5)
    assert event.job_uuid == job and event.body == "-ERR USER_BUSY\n"
    conn.close()


def test_a_timed_out_reply_is_not_given_to_the_next_command(switch):
    conn = ESLConnection(*switch.address, "ClueCon")
    conn.connect()
    for s in switch.sessions:
        s.stalled = True
    with pytest.raises(CommandTimeout):
        conn.api("version", timeout=0.2)
    for s in switch.sessions:
        s.stalled = False
    assert conn.api("hostname", timeout=5) == "sim"
    conn.close()


def test_link_reconnects_resubscribes_and_reports(switch):
    ups = []
    events = []
    link = NodeLink(
        NodeConfig(host=switch.address[0], port=switch.address[1], backoff_base_s=0.05, backoff_cap_s=0.2),
        lambda node, ev: events.append(ev),
        on_up=ups.append,
        engine_id="e1",
    ).start()
    try:
        assert link.wait_up(5)
        wait_for(lambda: len(ups) == 1)
        switch.restart()
        wait_for(lambda: link.connects == 2 and link.is_up)
        wait_for(lambda: len(ups) == 2)
        # Subscriptions and the engine filter are back: our call's events arrive, a foreign one's don't.
        ours = str(uuid.uuid4())
        link.bgapi(f"originate {{origination_uuid={ours},eslbridge_engine=e1}}loopback/13800000009/lab 9000", ours)
        link.bgapi("originate {eslbridge_engine=other}loopback/13800000009/lab 9000", str(uuid.uuid4()))
        wait_for(lambda: any(e.name == "CHANNEL_HANGUP_COMPLETE" and e.unique_id == ours for e in events))
        assert all(e.get("variable_eslbridge_engine") in (None, "e1") for e in events)
    finally:
        link.stop()


def test_link_has_loopback_b_legs_vetoed_by_the_switch(switch):
    """A loopback call's B leg carries the engine's variable too; the link's ``-B`` filter keeps
    its events in the switch, and the A leg's (the call's outcome) still arrive."""
    events = []
    link = NodeLink(
        NodeConfig(host=switch.address[0], port=switch.address[1]),
        lambda node, ev: events.append(ev),
        engine_id="e1",
    ).start()
    try:
        assert link.wait_up(5)
        ours = str(uuid.uuid4())
        link.bgapi(f"originate {{origination_uuid={ours},eslbridge_engine=e1}}loopback/13800000009/lab 9000", ours)
        wait_for(lambda: any(e.name == "CHANNEL_HANGUP_COMPLETE" and e.unique_id == ours for e in events))
        hangup = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE" and e.unique_id == ours)
        b_leg = hangup.get("variable_other_loopback_leg_uuid")
        assert b_leg and b_leg != ours  # the call had a B leg
        link.api("status")
        assert link.barrier(5)  # every event sent before that reply has been handled
        assert {e.name for e in events if e.unique_id == ours} >= {"CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"}
        assert [e.name for e in events if e.unique_id == b_leg] == []
        assert all(e.get("variable_loopback_leg") != "B" for e in events)
    finally:
        link.stop()


def test_link_keeps_retrying_while_the_node_is_down(free_port):
    link = NodeLink(
        NodeConfig(host="127.0.0.1", port=free_port, backoff_base_s=0.01, backoff_cap_s=0.05),
        lambda n, e: None,
    ).start()
    try:
        wait_for(lambda: link.backoff.attempts >= 3)
        assert not link.is_up and "cannot connect" in (link.last_error or "")
        with pytest.raises(ConnectionLost):
            link.api("status")
    finally:
        link.stop()


def test_silent_connection_is_detected_and_replaced(switch):
    link = NodeLink(
        NodeConfig(host=switch.address[0], port=switch.address[1], idle_timeout_s=0.3, backoff_base_s=0.05),
        lambda n, e: None,
    ).start()
    try:
        assert link.wait_up(5)
        switch.stall(True)
        wait_for(lambda: link.connects >= 2, timeout=10)
    finally:
        switch.stall(False)
        link.stop()
