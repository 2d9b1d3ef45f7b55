"""The sans-IO framer against every captured FreeSWITCH stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eslbridge.esl.protocol import (
    EVENT_JSON,
    EventParseError,
    Frame,
    FrameReader,
    JsonEventReader,
    ProtocolError,
    encode_command,
    parse_event,
    parse_json_event,
    parse_plain_event,
)
from eslbridge.tracker import EVENT_FIELDS, fact_from_event
from tests.conftest import CAPTURES

RECORDINGS = sorted(CAPTURES.glob("*.recv.raw"))


def frames_of(chunks: list[bytes]) -> list[Frame]:
    reader = FrameReader()
    out: list[Frame] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        out.extend(reader)
    reader.close()
    return out


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_capture_frames_whole_and_byte_by_byte_agree(path):
    data = path.read_bytes()
    whole = frames_of([data])
    assert whole, "a capture holds at least the greeting"
    assert whole[0].content_type in ("auth/request", "text/rude-rejection")
    # Every frame's body is exactly Content-Length bytes.
    for f in whole:
        if "Content-Length" in f.headers:
            assert len(f.body) == int(f.headers["Content-Length"])
    # Re-encoding the frames gives back the capture byte for byte.
    rebuilt = b"".join(
        "".join(f"{k}: {v}\n" for k, v in f.headers.items()).encode() + b"\n" + f.body for f in whole
    )
    assert rebuilt == data
    assert frames_of([data[i : i + 1] for i in range(len(data))]) == whole


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_capture_events_parse(path):
    for frame in frames_of([path.read_bytes()]):
        if frame.is_event:
            event = parse_event(frame)
            assert event.name
            assert event.headers["Event-Sequence"].isdigit()
            if event.name == "BACKGROUND_JOB":
                assert event.body is not None and "Content-Length" not in event.body
                if event.get("Job-Command") == "originate":  # other commands' output is free text
                    assert event.body.startswith(("+OK", "-ERR", "-USAGE"))


JSON_RECORDINGS = [p for p in RECORDINGS if b"text/event-json" in p.read_bytes()]


@pytest.mark.parametrize("path", JSON_RECORDINGS, ids=lambda p: p.name)
def test_chosen_field_json_events_read_the_same_as_full_ones(path):
    """JsonEventReader (engine's fields up front, the rest on demand) against the plain parse."""
    reader = JsonEventReader(EVENT_FIELDS)  # one parser reused across every event of the capture
    frames = [f for f in frames_of([path.read_bytes()]) if f.content_type == EVENT_JSON]
    assert frames
    for frame in frames:
        full, lazy = parse_json_event(frame.body), reader.parse(frame.body)
        assert (lazy.name, lazy.body, lazy.job_uuid, lazy.unique_id) == (full.name, full.body, full.job_uuid, full.unique_id)
        assert fact_from_event(lazy) == fact_from_event(full)
        for key in (*{k for keys in EVENT_FIELDS.values() for k in keys}, "Event-Sequence", "No-Such-Header"):
            assert lazy.get(key) == full.get(key) and (key in lazy.headers) == (key in full.headers)
        assert dict(lazy.headers) == dict(full.headers) and len(lazy.headers) == len(full.headers)


@pytest.mark.parametrize("block", [
    b"Content-Length: 12\nContent-Type: text/event-json\n\n", b"Content-Length: 007\nContent-Type: text/event-plain\n\n",
    b"Content-Length: 12 \nContent-Type: text/event-json\n\n", b"Content-Length: 12\nContent-Type: text/event-json \n\n",
    b"Content-Length: 12\nContent-Type: text/event-json\nX: y\n\n", b"Content-Type: text/event-json\nContent-Length: 12\n\n",
    b"Content-Length: \xd9\xa1\nContent-Type: text/event-json\n\n", b"Content-Length: 12\nContent-Type: text/event-xml\n\n",
    b"Content-Length: 12\nContent-Type: command/reply\n\n", b"Content-Length:12\nContent-Type: text/event-json\n\n",
])
def test_event_frames_read_the_quick_way_get_the_headers_of_the_general_parse(block):
    """Whether or not the two-line event form applies, a frame's headers are the general parse's."""
    from eslbridge.esl.protocol import _event_header_block, _parse_header_block

    quick = _event_header_block(bytearray(block), 0)
    if quick is not None:
        assert quick == (_parse_header_block(block[:-2]), len(block))
    try:
        expected = _parse_header_block(block[:-2])
    except ProtocolError:
        return
    reader = FrameReader()
    reader.receive_data(block + b"x" * 20)
    frame = reader.next_frame()
    assert frame is not None and dict(frame.headers) == expected


BAD_UTF8 = b'{"Event-Name": "' + bytes([0xC3, 0x28]) + b'"}'


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", BAD_UTF8])
def test_chosen_field_reader_refuses_what_the_full_parser_refuses(raw):
    with pytest.raises(EventParseError):
        parse_json_event(raw)
    with pytest.raises(EventParseError):
        JsonEventReader(EVENT_FIELDS).parse(raw)


@pytest.mark.parametrize("raw", [b'{"Event-Name": "CHANNEL_PARK", "A": "1", "_body": "inner"}',
                                 b'{"Event-Name": "CHANNEL_PARK", "A": "1", "\\u005fbody": "inner"}',
                                 b'{"Event-Name": "CHANNEL_PARK", "A": "1"}'])
def test_events_keep_their_inner_body_unless_their_fields_leave_it_out(raw):
    full, lazy = parse_json_event(raw), JsonEventReader(EVENT_FIELDS).parse(raw)
    assert lazy.body == full.body and lazy.get("A") == "1" and "_body" not in lazy.headers
    chosen = JsonEventReader({"CHANNEL_PARK": ["A"]}).parse(raw)
    assert chosen.body is None and chosen.get("A") == "1"
    assert JsonEventReader({"CHANNEL_PARK": ["A", "_body"]}).parse(raw).body == full.body


def test_chosen_field_that_is_not_a_string_falls_back_to_the_full_parse():
    event = JsonEventReader({"CUSTOM": ["Unique-ID", "_body"]}).parse(
        b'{"Event-Name": "CUSTOM", "Unique-ID": ["a", "b"], "_body": "x"}')
    assert event.name == "CUSTOM" and event.get("Unique-ID") == ["a", "b"] and event.body == "x"


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_splits_give_the_same_frames(data):
    path = data.draw(st.sampled_from(RECORDINGS))
    raw = path.read_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    assert frames_of(chunks) == frames_of([raw])


def test_background_job_body_is_separate_from_headers():
    raw = (CAPTURES / "callee1_busy.recv.raw").read_bytes()
    jobs = [parse_event(f) for f in frames_of([raw]) if f.is_event and b"BACKGROUND_JOB" in f.body[:40]]
    assert jobs[0].body == "-ERR USER_BUSY\n"
    assert jobs[0].headers["Content-Length"] == "15"
    assert jobs[0].job_uuid == "b9d1478e-778a-4b24-b5e9-9152d12761c1"


def test_plain_and_json_captures_decode_to_the_same_values():
    plain = [parse_event(f) for f in frames_of([(CAPTURES / "callee0_answer3s_park.recv.raw").read_bytes()]) if f.is_event]
    js = [parse_event(f) for f in frames_of([(CAPTURES / "callee0_json.recv.raw").read_bytes()]) if f.is_event]
    p = next(e for e in plain if e.name == "CHANNEL_CREATE")
    j = next(e for e in js if e.name == "CHANNEL_CREATE")
    assert p.headers["Event-Date-Local"] == "2026-11-21 23:12:46"  # %20 and %3A decoded
    assert p.headers["FreeSWITCH-IPv6"] == j.headers["FreeSWITCH-IPv6"] == "fd00::2"
    job = next(e for e in js if e.name == "BACKGROUND_JOB")
    assert job.body and job.body.startswith("+OK ") and "_body" not in job.headers


def test_repeated_header_is_kept():
    ev = parse_plain_event(b"Event-Name: CHANNEL_HANGUP\nHangup-Cause: USER_BUSY\nHangup-Cause: USER_BUSY\n\n")
    assert ev.headers["Hangup-Cause"] == "USER_BUSY"
    assert ev.repeated == (("Hangup-Cause", "USER_BUSY"),)


def test_encoded_newline_in_a_value_cannot_forge_a_header():
    ev = parse_plain_event(b"Event-Name: CUSTOM\nvariable_x: a%0AUnique-ID%3A%20forged\n\n")
    assert ev.headers["variable_x"] == "a\nUnique-ID: forged"
    assert "Unique-ID" not in ev.headers


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: text/event-json\n\n{}",  # event without Content-Length
        b"Content-Length: abc\n\n",
        b"Content-Length: -5\n\n",
        b"no colon here\n\n",
    ],
    ids=["event-no-length", "length-not-number", "length-negative", "header-without-colon"],
)
def test_unframeable_input_is_a_protocol_error(raw):
    reader = FrameReader()
    reader.receive_data(raw)
    with pytest.raises(ProtocolError):
        list(reader)


def test_stream_ending_inside_a_body_is_reported():
    reader = FrameReader()
    reader.receive_data(b"Content-Type: api/response\nContent-Length: 100\n\nshort")
    assert reader.next_frame() is None
    with pytest.raises(ProtocolError, match="inside a frame"):
        reader.close()


def test_body_over_limit_is_refused():
    reader = FrameReader(max_body=10)
    reader.receive_data(b"Content-Type: api/response\nContent-Length: 11\n\n")
    with pytest.raises(ProtocolError):
        reader.next_frame()


def test_invalid_utf8_is_replaced_not_raised():
    reader = FrameReader()
    reader.receive_data(b"Content-Type: api/response\nContent-Length: 2\n\n\xff\xfe")
    frame = reader.next_frame()
    assert frame is not None and frame.text() == "\ufffd\ufffd"
    ev = parse_plain_event(b"Event-Name: X\nvariable_y: \xff\n\n")
    assert ev.headers["variable_y"] == "\ufffd"
    with pytest.raises(EventParseError):
        parse_json_event(b'{"Event-Name": "X", "a": "\xff')


def test_content_length_counts_bytes_not_characters():
    body = "é中".encode()
    reader = FrameReader()
    reader.receive_data(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body + b"Content-Type: auth/request\n\n")
    assert [f.body for f in reader] == [body, b""]


@pytest.mark.parametrize("bad", ["api status\nexit", "api x\r", "bgapi a"], ids=["lf", "cr", "header-lf"])
def test_commands_with_newlines_are_refused(bad):
    with pytest.raises(ValueError):
        if bad.startswith("bgapi"):
            encode_command(bad, {"Job-UUID": "x\ny"})
        else:
            encode_command(bad)


def test_encode_command_adds_header_lines():
    assert encode_command("bgapi status", {"Job-UUID": "u1"}) == b"bgapi status\nJob-UUID: u1\n\n"


GARBAGE_TOKENS = [b"\n", b"\n\n", b":", b": ", b"Content-Length: ", b"Content-Type: text/event-json", b"3", b"-1", b"x"]


def framing_of(chunks: list[bytes]) -> tuple[list[Frame], int | str]:
    """Frames read, then the bytes left over, or "refused" if the reader raised ProtocolError."""
    reader = FrameReader()
    frames: list[Frame] = []
    try:
        for chunk in chunks:
            reader.receive_data(chunk)
            frames.extend(reader)
    except ProtocolError:
        return frames, "refused"
    return frames, reader.buffered


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(GARBAGE_TOKENS), st.binary(max_size=6)), max_size=40).map(b"".join))
def test_garbage_is_framed_or_refused_the_same_way_however_it_is_split(raw):
    """Only ProtocolError escapes, and split or whole the reader reaches the same verdict."""
    frames, rest = framing_of([raw])
    assert framing_of([raw[i : i + 1] for i in range(len(raw))]) == (frames, rest)
    for f in frames:
        if "Content-Length" in f.headers:
            assert len(f.body) == int(f.headers["Content-Length"])
    if rest != "refused":
        assert isinstance(rest, int) and 0 <= rest <= len(raw)
