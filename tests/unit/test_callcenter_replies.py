"""callcenter_config commands and replies against the recorded FreeSWITCH 1.10.12 sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.callcenter import commands
from eslbridge.callcenter.replies import (
    CallcenterError,
    agent_row,
    agent_state,
    agent_status,
    parse_count,
    parse_ok,
    parse_table,
    parse_value,
    quote_arg,
)
from eslbridge.esl.protocol import FrameReader, parse_event
from tests.conftest import CAPTURES

CC_CAPTURES = CAPTURES
CC_NAMES = sorted(p.name.removesuffix(".recv.raw") for p in CC_CAPTURES.glob("cc_*.recv.raw"))


@dataclass(frozen=True)
class ApiReply:
    """An ``api`` command of the recording (without ``api ``) and its ``api/response`` body."""

    command: str
    body: str


@dataclass(frozen=True)
class CcEvent:
    """A ``CUSTOM callcenter::info`` event: its headers and its time (epoch s)."""

    headers: Mapping[str, str]
    at: float


def sent_commands(name: str) -> list[str]:
    text = (CC_CAPTURES / f"{name}.sent.raw").read_text()
    return [block for block in text.split("\n\n") if block.strip()]


def steps(name: str) -> Iterator[ApiReply | CcEvent]:
    """The recording in the order read: api replies paired with the commands sent, cc events."""
    apis = iter(c.removeprefix("api ") for c in sent_commands(name) if c.startswith("api "))
    reader = FrameReader()
    reader.receive_data((CC_CAPTURES / f"{name}.recv.raw").read_bytes())
    for frame in reader:
        if frame.content_type == "api/response":
            yield ApiReply(next(apis), frame.text())
        elif frame.is_event:
            event = parse_event(frame)
            if event.name == "CUSTOM" and event.get("Event-Subclass") == "callcenter::info":
                yield CcEvent(event.headers, event.timestamp_us / 1e6)
    reader.close()
    assert next(apis, None) is None, "every api command got its reply"


def cc_replies(name: str) -> list[ApiReply]:
    return [s for s in steps(name) if isinstance(s, ApiReply) and s.command.startswith("callcenter_config")]


def parse_by_command(reply: ApiReply) -> object:
    """Read a reply the way its command says (list, count, set, get)."""
    words = reply.command.split()
    verb = next((w for w in words[1:] if w in ("list", "count", "set", "get")), "")
    parser: Callable[[str], object] = {"list": parse_table, "count": parse_count, "set": parse_ok,
                                       "get": parse_value}.get(verb, parse_table)
    return parser(reply.body)


# -- every reply of every recording --------------------------------------------


@pytest.mark.parametrize("name", CC_NAMES)
def test_every_recorded_reply_parses_as_its_command_says(name: str) -> None:
    replies = cc_replies(name)
    for reply in replies:
        if reply.body.startswith("-"):
            with pytest.raises(CallcenterError) as err:
                parse_by_command(reply)
            assert err.value.message == reply.body.strip()
            continue
        value = parse_by_command(reply)
        if isinstance(value, list):
            header = reply.body.split("\n", 1)[0].split("|")
            assert all(list(row) == header for row in value)
            if " agents " in f"{reply.command} " or reply.command.startswith("callcenter_config agent list"):
                assert all(agent_row(row).name == row["name"] for row in value)
            if " members " in reply.command:
                assert {row["state"] for row in value} <= {"Waiting", "Trying", "Answered", "Abandoned"}
        elif isinstance(value, int):
            assert value >= 0


def test_the_api_recording_reads_reply_by_reply() -> None:
    got: list[tuple[str, object]] = []
    for reply in cc_replies("cc_agents_api"):
        try:
            value = parse_by_command(reply)
        except CallcenterError as exc:
            value = ("error", exc.message.split("\n", 1)[0].strip())
        if isinstance(value, list):
            value = [(r.get("name") or r.get("agent"), r.get("status") or r.get("state")) for r in value]
        got.append((reply.command.removeprefix("callcenter_config").strip(), value))
    out = [(f"agent{i}@default", "Logged Out") for i in (1, 2, 3)]
    tiers = [(f"agent{i}@default", "Ready") for i in (1, 2, 3)]
    assert got == [
        ("agent list", out),
        ("agent list agent1@default", out[:1]),
        ("queue list agents sales@default", out),
        ("queue list members sales@default", []),
        ("queue list tiers sales@default", tiers),
        ("queue count agents sales@default", 3),
        ("queue count agents sales@default Available", 0),
        ("queue count members sales@default", 0),
        ("queue count", 1),
        ("agent set status agent1@default Available", None),
        ("agent set state agent1@default Waiting", None),
        ("agent get status agent1@default", "Available"),
        ("agent get state agent1@default", "Waiting"),
        ("queue count agents sales@default Available", 1),
        ("queue count agents sales@default Available Waiting", 1),
        ("queue list agents sales@default Available", [("agent1@default", "Available")]),
        ("tier list", tiers),
        ("agent get status nosuchagent@default", ("error", "-ERR Agent not found!")),
        ("agent set status nosuchagent@default Available", ("error", "-ERR Agent not found!")),
        ("agent set status agent1@default Bogus", ("error", "-ERR Invalid Agent Status!")),
        ("agent set status agent1@default On Break", ("error", "-ERR Invalid Agent Status!")),
        ("agent set state agent1@default Bogus", ("error", "-ERR Invalid Agent State!")),
        ("queue list agents nosuchqueue@default", []),
        ("queue count agents nosuchqueue@default", 0),
        ("agent list nosuchagent@default", []),
        ("nonsense list", ("error", "-ERR no reply")),
        ("", ("error", "-USAGE:")),
        ("agent set status agent1@default 'On Break'", None),
        ("agent get status agent1@default", "On Break"),
        ("queue count agents sales@default 'On Break'", 1),
        ("agent set status agent1@default 'Logged Out'", None),
        ("queue list", [("sales@default", None)]),
    ]


def test_a_queue_row_keeps_its_empty_fields() -> None:
    (row,) = parse_table(next(r.body for r in cc_replies("cc_agents_api") if r.command.endswith("queue list")))
    assert row["name"] == "sales@default" and row["record_template"] == ""
    assert (row["max_wait_time"], row["max_wait_time_with_no_agent"], row["agent_no_answer_status"]) == (
        "0", "2", "On Break")


def test_an_agent_row_types_the_times_mod_callcenter_keeps() -> None:
    last = [r for r in cc_replies("cc_agent_no_answer") if r.command.startswith("callcenter_config agent list")][-1]
    (row,) = [agent_row(r) for r in parse_table(last.body)]
    assert (row.name, row.status, row.state) == ("agent1@default", "On Break", "Waiting")
    assert (row.wrap_up_time, row.last_bridge_end, row.ready_time, row.no_answer_delay_time) == (
        5, 1796233890, 1796233998, 5)


# -- the parsers' edges ----------------------------------------------------------


def test_only_ok_is_an_empty_list() -> None:
    assert parse_table("+OK\n") == []


@pytest.mark.parametrize(
    "body",
    ["", "name|status\nagent1|Available\n", "garbage\n", "name|status\nagent1\n+OK\n"],
    ids=["empty", "no-ok-line", "not-a-list", "short-row"],
)
def test_a_list_reply_of_another_shape_is_an_error(body: str) -> None:
    with pytest.raises(CallcenterError):
        parse_table(body)


def test_a_contact_holding_a_pipe_stays_one_field() -> None:
    body = "name|contact|status\nagent1@default|sofia/a|sofia/b|Available\n+OK\n"
    assert parse_table(body) == [{"name": "agent1@default", "contact": "sofia/a|sofia/b", "status": "Available"}]


def test_a_row_too_wide_without_a_free_text_column_is_an_error() -> None:
    with pytest.raises(CallcenterError):
        parse_table("queue|agent|state\nq|a|Ready|extra\n+OK\n")


_field = st.text(st.characters(exclude_characters="|\n", exclude_categories=["Cs"]), max_size=12)


@given(st.lists(st.lists(_field, min_size=3, max_size=3), max_size=6))
def test_any_table_written_as_mod_callcenter_does_reads_back(rows: list[list[str]]) -> None:
    names = ["queue", "agent", "state"]
    body = "".join("|".join(r) + "\n" for r in [names, *rows]) + "+OK\n"
    assert parse_table(body) == [dict(zip(names, r, strict=True)) for r in rows]


@pytest.mark.parametrize("body", ["-ERR no reply\n", "+OK\n", "three\n", "-1\n", ""])
def test_a_count_must_be_a_whole_number(body: str) -> None:
    with pytest.raises(CallcenterError):
        parse_count(body)


def test_set_replies_other_than_ok_are_errors() -> None:
    parse_ok("+OK\n")
    with pytest.raises(CallcenterError):
        parse_ok("Available")
    assert parse_value("Available") == "Available"


def test_status_and_state_words_are_spelt_as_mod_callcenter_does() -> None:
    assert agent_status("on break") == "On Break" and agent_status("Available") == "Available"
    assert agent_state("IN A QUEUE CALL") == "In a queue call"
    for bad in ("Bogus", "Unknown", ""):
        with pytest.raises(ValueError):
            agent_status(bad)


@pytest.mark.parametrize(
    "row",
    [{"status": "Available", "state": "Waiting"}, {"name": "a", "status": "Bogus", "state": "Waiting"},
     {"name": "a", "status": "Available", "state": "Waiting", "ready_time": "soon"},
     {"name": "", "status": "Available", "state": "Waiting"}],
    ids=["no-name", "bad-status", "bad-time", "empty-name"],
)
def test_an_agent_row_that_is_not_one_is_refused(row: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        agent_row(row)


# -- commands --------------------------------------------------------------------

RECORDED = {c.removeprefix("api ").removeprefix("bgapi ").split("\n")[0]
            for n in CC_NAMES for c in sent_commands(n)}


@pytest.mark.parametrize(
    ("built", "text"),
    [
        (commands.agent_list(), "callcenter_config agent list"),
        (commands.agent_list("agent1@default"), "callcenter_config agent list agent1@default"),
        (commands.queue_list_agents("sales@default"), "callcenter_config queue list agents sales@default"),
        (commands.queue_list_members("sales@default"), "callcenter_config queue list members sales@default"),
        (commands.queue_list_tiers("sales@default"), "callcenter_config queue list tiers sales@default"),
        (commands.tier_list(), "callcenter_config tier list"),
        (commands.queue_list(), "callcenter_config queue list"),
        (commands.queue_count_agents("sales@default"), "callcenter_config queue count agents sales@default"),
        (commands.queue_count_agents("sales@default", "On Break"),
         "callcenter_config queue count agents sales@default 'On Break'"),
        (commands.queue_count_members("sales@default"), "callcenter_config queue count members sales@default"),
        (commands.set_status("agent1@default", "On Break"),
         "callcenter_config agent set status agent1@default 'On Break'"),
        (commands.set_status("agent3@default", "Available (On Demand)"),
         "callcenter_config agent set status agent3@default 'Available (On Demand)'"),
        (commands.set_status("agent1@default", "Available"),
         "callcenter_config agent set status agent1@default Available"),
        (commands.set_state("agent3@default", "Idle"), "callcenter_config agent set state agent3@default Idle"),
        (commands.get_status("agent1@default"), "callcenter_config agent get status agent1@default"),
        (commands.get_state("agent1@default"), "callcenter_config agent get state agent1@default"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("callcenter_config") else "",
)
def test_commands_are_the_ones_freeswitch_accepted(built: str, text: str) -> None:
    assert built == text
    assert text in RECORDED


def test_the_wrap_up_command() -> None:
    assert commands.set_wrap_up("agent1@default", 10) == "callcenter_config agent set wrap_up_time agent1@default 10"
    assert commands.set_wrap_up("agent1@default", 0).endswith(" 0")


@pytest.mark.parametrize("name", ["", "agent 1", "a'b", "a\nb", "x;y", "a" * 129, "ägent"])
def test_names_outside_the_safe_alphabet_are_refused(name: str) -> None:
    for build in (commands.agent_list, commands.queue_list_agents, commands.get_status):
        with pytest.raises(ValueError):
            build(name)


@pytest.mark.parametrize("seconds", [-1, 86_401, True, 1.5, "10"])
def test_a_wrap_up_time_must_be_whole_seconds_within_a_day(seconds: object) -> None:
    with pytest.raises(ValueError):
        commands.set_wrap_up("agent1@default", seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize(("build", "word"), [(commands.set_status, "Bogus"), (commands.set_status, "on break"),
                                             (commands.set_state, "Unknown")])
def test_statuses_and_states_mod_callcenter_refuses_are_not_sent(build: Callable[[str, str], str],
                                                                 word: str) -> None:
    with pytest.raises(ValueError):
        build("agent1@default", word)


def test_two_word_values_are_single_quoted() -> None:
    assert quote_arg("On Break") == "'On Break'" and quote_arg("Available") == "Available"
    for bad in ("", "it's", "a\nb"):
        with pytest.raises(ValueError):
            quote_arg(bad)


def test_every_call_centre_recording_is_here() -> None:
    assert len(CC_NAMES) == 14
