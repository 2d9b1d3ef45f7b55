"""The sans-IO session: reply matching, job results, ordering and faults, in memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eslbridge.esl.protocol import Event, Frame, FrameReader, parse_event
from eslbridge.esl.session import (
    CLOSED_BY_PEER,
    BadEvent,
    Barrier,
    Closed,
    Events,
    Greeting,
    Ignored,
    JobDone,
    JobLost,
    Output,
    Rejected,
    Reply,
    ReplyLost,
    Session,
    SessionClosed,
)
from tests.conftest import CAPTURES

RECORDINGS = sorted(CAPTURES.glob("*.recv.raw"))
GREETING = b"Content-Type: auth/request\n\n"


def reply(text: str) -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode()


def api_response(body: bytes) -> bytes:
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body


def event(name: str, **headers: str) -> bytes:
    lines = [f"Event-Name: {name}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    body = ("\n".join(lines) + "\n\n").encode()
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def job_event(job_uuid: str, result: str = "+OK done\n") -> bytes:
    inner = result.encode()
    block = f"Event-Name: BACKGROUND_JOB\nJob-UUID: {job_uuid}\nContent-Length: {len(inner)}\n\n".encode()
    body = block + inner
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body


def drain(session: Session) -> list[Output]:
    out = []
    while (o := session.next_output()) is not None:
        out.append(o)
    return out


def feed(session: Session, *chunks: bytes) -> list[Output]:
    for chunk in chunks:
        session.receive_data(chunk)
    return drain(session)


def names(out: list[Output]) -> list[object]:
    """Outputs with each batch shown as its event names, for readable comparisons."""
    return [[e.name for e in o.events] if isinstance(o, Events) else o for o in out]


# -- replies --------------------------------------------------------------------
def test_replies_answer_commands_first_in_first_out():
    s = Session()
    tickets = [s.expect_reply() for _ in range(3)]
    out = feed(s, reply("+OK one") + api_response(b"two") + reply("-ERR three"))
    assert [type(o) for o in out] == [Reply, Reply, Reply]
    assert [o.ticket for o in out] == tickets == [0, 1, 2]
    assert [out[0].frame.reply_text, out[1].frame.body, out[2].frame.reply_text] == ["+OK one", b"two", "-ERR three"]
    assert s.pending == 0


def test_commands_written_together_get_consecutive_tickets():
    s = Session()
    first = s.expect_reply()
    batch = s.expect_replies(3)
    assert list(batch) == [first + 1, first + 2, first + 3] and s.pending == 4


def test_late_reply_of_an_abandoned_command_is_dropped_and_the_next_command_gets_its_own():
    s = Session()
    timed_out, nxt = s.expect_reply(), s.expect_reply()
    s.abandon(timed_out)
    assert feed(s, reply("+OK late")) == []
    (out,) = feed(s, reply("+OK mine"))
    assert out == Reply(nxt, Frame({"Content-Type": "command/reply", "Reply-Text": "+OK mine"}))
    assert s.pending == 0 and not s.closed


def test_abandoning_an_answered_ticket_changes_nothing():
    s = Session()
    answered = s.expect_reply()
    feed(s, reply("+OK"))
    s.abandon(answered)
    nxt = s.expect_reply()
    assert [o.ticket for o in feed(s, reply("+OK"))] == [nxt]


def test_reply_nobody_asked_for_is_a_protocol_error_that_ends_the_session():
    s = Session()
    out = feed(s, GREETING + reply("+OK surprise"))
    assert out[0] == Greeting()
    assert isinstance(out[-1], Closed) and out[-1].protocol_error and "nobody sent" in out[-1].reason
    assert s.closed and feed(s, reply("+OK more")) == []  # nothing after the end


def test_reply_after_all_commands_were_answered_is_a_protocol_error():
    s = Session()
    s.expect_reply()
    (first, closed) = feed(s, reply("+OK") + reply("+OK extra"))
    assert isinstance(first, Reply)
    assert isinstance(closed, Closed) and closed.protocol_error


# -- jobs -------------------------------------------------------------------------
def test_background_job_resolves_its_job_even_before_the_bgapi_reply_is_taken():
    s = Session()
    ticket = s.expect_reply()
    s.expect_job("j1")
    # Reply and job event in one read: nothing is drained in between.
    out = feed(s, reply("+OK Job-UUID: j1") + job_event("j1", "-ERR USER_BUSY\n"))
    assert [type(o) for o in out] == [Reply, Events, JobDone]
    assert out[0].ticket == ticket
    done = out[2]
    assert done.job_uuid == "j1" and done.event.body == "-ERR USER_BUSY\n"
    assert out[1].events == [done.event]  # the event is also delivered to the handlers


def test_background_job_ahead_of_its_reply_still_resolves_the_job():
    s = Session()
    ticket = s.expect_reply()
    s.expect_job("j1")
    out = feed(s, job_event("j1") + reply("+OK Job-UUID: j1"))
    assert [type(o) for o in out] == [Events, JobDone, Reply] and out[2].ticket == ticket


def test_job_nobody_waits_for_is_only_an_event():
    s = Session()
    s.expect_job("mine")
    out = feed(s, job_event("other"))
    assert names(out) == [["BACKGROUND_JOB"]]
    s.forget_job("mine")
    assert names(feed(s, job_event("mine"))) == [["BACKGROUND_JOB"]]


# -- order and barrier ----------------------------------------------------------------
def test_events_read_before_a_reply_come_out_before_it():
    s = Session()
    t = s.expect_reply()
    out = feed(s, event("CHANNEL_ANSWER") + event("CHANNEL_HANGUP_COMPLETE") + api_response(b"{}") + event("HEARTBEAT"))
    assert names(out) == [["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"], Reply(t, out[1].frame), ["HEARTBEAT"]]


def test_events_of_one_read_come_out_as_one_batch():
    s = Session()
    out = feed(s, event("A") + event("B") + event("C"))
    assert names(out) == [["A", "B", "C"]]
    assert names(feed(s, event("D"), event("E"))) == [["D"], ["E"]]  # one batch per read


def test_barrier_comes_out_after_every_event_received_so_far():
    s = Session()
    t = s.expect_reply()
    s.receive_data(event("A") + api_response(b"rows") + event("B"))
    s.barrier("marker")
    s.receive_data(event("C"))
    out = drain(s)
    assert names(out) == [["A"], Reply(t, out[1].frame), ["B"], Barrier("marker"), ["C"]]


def test_barrier_after_the_end_is_never_output():
    s = Session()
    s.close("gone")
    drain(s)
    s.barrier("marker")
    assert drain(s) == []


# -- the end ------------------------------------------------------------------------
@pytest.mark.parametrize(("commands", "jobs"), [(0, 0), (1, 0), (0, 2), (3, 2)], ids=lambda n: str(n))
def test_connection_lost_fails_every_pending_command_and_job(commands, jobs):
    s = Session()
    tickets = [s.expect_reply() for _ in range(commands)]
    for i in range(jobs):
        s.expect_job(f"j{i}")
    s.close("socket error: reset")
    out = drain(s)
    assert out == [
        *(ReplyLost(t, "socket error: reset") for t in tickets),
        *(JobLost(f"j{i}", "socket error: reset") for i in range(jobs)),
        Closed("socket error: reset"),
    ]
    s.close("again")
    assert drain(s) == [] and s.close_reason == "socket error: reset"


def test_abandoned_commands_are_not_failed_at_the_end():
    s = Session()
    gone, waiting = s.expect_reply(), s.expect_reply()
    s.abandon(gone)
    s.close("closed by client")
    assert drain(s) == [ReplyLost(waiting, "closed by client"), Closed("closed by client")]


def test_end_of_stream_fails_pending_commands():
    s = Session()
    t = s.expect_reply()
    assert feed(s, GREETING, b"") == [Greeting(), ReplyLost(t, CLOSED_BY_PEER), Closed(CLOSED_BY_PEER)]


def test_end_of_stream_inside_a_frame_is_a_protocol_error():
    s = Session()
    t = s.expect_reply()
    out = feed(s, b"Content-Type: api/response\nContent-Length: 100\n\nonly part", b"")
    assert isinstance(out[0], ReplyLost) and out[0].ticket == t and "inside a frame" in out[0].reason
    assert isinstance(out[1], Closed) and out[1].protocol_error


def test_disconnect_notice_is_the_reason_given_when_the_stream_then_ends():
    s = Session()
    t = s.expect_reply()
    notice = b"Content-Type: text/disconnect-notice\nContent-Length: 23\n\nDisconnected, goodbye.\n"
    out = feed(s, notice, b"")
    assert out == [ReplyLost(t, "disconnect notice: Disconnected, goodbye."), Closed("disconnect notice: Disconnected, goodbye.")]


def test_lingering_disconnect_notice_is_not_an_end():
    s = Session()
    feed(s, b"Content-Type: text/disconnect-notice\nContent-Disposition: linger\nContent-Length: 5\n\nlater")
    assert s.close_reason is None and not s.closed


def test_events_before_an_unframeable_frame_are_delivered_then_the_session_ends():
    s = Session()
    t = s.expect_reply()
    out = feed(s, event("A") + b"Content-Type: text/event-json\n\n{}")
    assert names(out)[0] == ["A"]
    assert isinstance(out[1], ReplyLost) and out[1].ticket == t
    assert isinstance(out[2], Closed) and "without Content-Length" in out[2].reason


def test_no_ticket_or_job_is_taken_after_the_end():
    s = Session()
    s.close("stopped")
    with pytest.raises(SessionClosed, match="stopped"):
        s.expect_reply()
    with pytest.raises(SessionClosed):
        s.expect_job("j1")


# -- other frames -------------------------------------------------------------------
def test_unparsable_event_is_counted_and_skipped_and_the_stream_goes_on():
    s = Session()
    bad = b'{"Event-Name": "X", "a": "\xff'
    out = feed(s, event("A") + b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(bad) + bad + event("B"))
    assert names(out)[0] == ["A"] and isinstance(out[1], BadEvent) and names(out)[2] == ["B"]
    assert (s.frames_in, s.events_in, s.bad_events) == (3, 2, 1) and not s.closed


def test_rejection_and_log_lines_are_reported():
    s = Session()
    out = feed(s, b"Content-Type: log/data\nContent-Length: 4\n\nline"
               + b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n")
    assert isinstance(out[0], Ignored) and out[0].frame.body == b"line"
    assert out[1] == Rejected("Access Denied, go away.")


# -- properties -----------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["send", "abandon", "reply"]), st.integers(0, 5)), max_size=60))
def test_every_ticket_ends_once_in_a_reply_or_a_loss_unless_abandoned(ops):
    s = Session()
    taken: list[int] = []
    abandoned: set[int] = set()
    replies_sent = 0
    for op, n in ops:
        if op == "send":
            taken.append(s.expect_reply())
        elif op == "abandon" and taken:
            ticket = taken[n % len(taken)]
            s.abandon(ticket)
            if ticket >= replies_sent:  # still waiting for its reply
                abandoned.add(ticket)
        elif op == "reply" and replies_sent < len(taken):
            s.receive_data(reply(f"+OK {replies_sent}"))
            replies_sent += 1
    s.close("end")
    out = drain(s)
    ended = [o.ticket for o in out if isinstance(o, (Reply, ReplyLost))]
    assert sorted(ended) == sorted(set(taken) - abandoned) == ended  # each once, in ticket order
    for o in out:
        if isinstance(o, Reply):  # reply number k answers ticket k
            assert o.frame.reply_text == f"+OK {o.ticket}"
    assert out[-1] == Closed("end")


# -- captured streams -----------------------------------------------------------------
def script_of(raw: bytes) -> tuple[int, list[str]]:
    """How many replies a capture holds and the Job-UUIDs of its job events."""
    reader = FrameReader()
    reader.receive_data(raw)
    frames = list(reader)
    replies = sum(f.content_type in ("command/reply", "api/response") for f in frames)
    jobs = [parse_event(f).job_uuid or "" for f in frames if f.is_event and b"BACKGROUND_JOB" in f.body]
    return replies, jobs


def replay(raw: bytes, chunks: list[bytes]) -> list[Output]:
    replies, jobs = script_of(raw)
    s = Session()
    s.expect_replies(replies)
    for job in jobs:
        s.expect_job(job)
    out: list[Output] = []
    for chunk in chunks:
        s.receive_data(chunk)
        out.extend(drain(s))  # drained after each read, as the client does
    s.receive_data(b"")
    return out + drain(s)


def flat(out: list[Output]) -> list[Output | Event]:
    """The outputs with batches opened: the same for any split of the stream."""
    return [x for o in out for x in (o.events if isinstance(o, Events) else [o])]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_capture_whole_and_byte_by_byte_give_the_same_outputs(path):
    raw = path.read_bytes()
    whole = replay(raw, [raw])
    replies, jobs = script_of(raw)
    assert sum(isinstance(o, Reply) for o in whole) == replies
    assert [o.job_uuid for o in whole if isinstance(o, JobDone)] == list(dict.fromkeys(jobs))
    assert isinstance(whole[-1], Closed) and not whole[-1].protocol_error
    assert not any(isinstance(o, (ReplyLost, JobLost, BadEvent)) for o in whole)
    by_byte = replay(raw, [raw[i : i + 1] for i in range(len(raw))])
    assert flat(by_byte) == flat(whole)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_capture_in_random_splits_gives_the_same_outputs(data):
    path = data.draw(st.sampled_from(RECORDINGS))
    raw = path.read_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)]) if a < b]  # b"" would mean the end
    assert flat(replay(raw, chunks)) == flat(replay(raw, [raw]))


def test_disconnect_capture_ends_with_the_notice_as_reason():
    raw = (CAPTURES / "esl_exit_and_disconnect_notice.recv.raw").read_bytes()
    assert replay(raw, [raw])[-1] == Closed("disconnect notice: Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/")
