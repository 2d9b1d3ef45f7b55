"""The agent board and member facts, fed the recorded mod_callcenter sessions event by event."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.callcenter import agents, members
from eslbridge.callcenter.agents import AgentBoard, AgentCounts, AgentView
from eslbridge.callcenter.members import CC_FIELDS, MemberFact, member_fact
from eslbridge.callcenter.replies import parse_count, parse_table
from tests.unit.test_callcenter_replies import CC_NAMES, ApiReply, CcEvent, sent_commands, steps

QUEUE = "sales@default"
AGENT1, AGENT2, AGENT3 = AGENTS = ("agent1@default", "agent2@default", "agent3@default")
# The agents' statuses when each recording began (its NOTE line); the others are Logged Out.
STARTED_WITH: dict[str, dict[str, str]] = {
    "cc_agent_no_answer": {AGENT1: "Available"},
    "cc_answered_to_agent": {AGENT1: "Available"},
    "cc_answered_to_agent_agent_hangs_up": {AGENT1: "Available"},
    "cc_answered_to_agent_plain_cc_only": {AGENT1: "Available"},
    "cc_loopback_agent_not_bridged": {AGENT1: "Available"},
    "cc_max_wait_time_2_timeout": {AGENT1: "Available"},
    "cc_on_break_then_logged_out": {AGENT1: "On Break"},
    "cc_two_calls_one_agent": {AGENT1: "Available"},
    "cc_two_calls_one_agent_served_after_wrapup": {AGENT1: "Available"},
}


def fs_row(name: str, status: str, state: str = "Waiting", **times: int) -> dict[str, str]:
    """An agent row as ``queue list agents`` gives it, with the recordings' settings."""
    row = {"name": name, "instance_id": "single_box", "uuid": "", "type": "callback",
           "contact": "[leg_timeout=5]loopback/agent1/agents", "status": status, "state": state,
           "max_no_answer": "3", "wrap_up_time": "5", "reject_delay_time": "5", "busy_delay_time": "5",
           "no_answer_delay_time": "5", "last_bridge_start": "0", "last_bridge_end": "0",
           "last_offered_call": "0", "last_status_change": "0", "no_answer_count": "0",
           "calls_answered": "0", "talk_time": "0", "ready_time": "0", "external_calls_count": "0"}
    row.update({k: str(v) for k, v in times.items()})
    return row


# Calls before the recording that the recording's own agent list shows (no event tells them).
HISTORY = {"cc_loopback_agent_not_bridged": {"last_bridge_start": "1796233886", "last_bridge_end": "1796233890"}}


def started(name: str) -> AgentBoard:
    board = AgentBoard()
    statuses = STARTED_WITH.get(name, {})
    rows = [fs_row(a, statuses.get(a, "Logged Out")) for a in AGENTS]
    rows[0].update(HISTORY.get(name, {}))
    board.load(QUEUE, rows, now=0.0)
    return board


def apply_reply(board: AgentBoard, reply: ApiReply, now: float) -> int:
    """What the engine does with the replies it asks for: loads agents and members; agents loaded."""
    words, rows = reply.command.split()[1:], parse_table
    if words[:3] == ["queue", "list", "agents"] and len(words) == 4:
        board.load(words[3], loaded := rows(reply.body), now)
        return len(loaded)
    if words[:2] == ["agent", "list"]:
        return len(board.load_agents(rows(reply.body)))
    if words[:3] == ["queue", "list", "members"]:
        board.load_members(words[3], rows(reply.body))
    return 0


def play(name: str, board: AgentBoard | None = None) -> Iterator[tuple[CcEvent | ApiReply, AgentBoard]]:
    """Feed a recording to a board step by step, events and the engine's loads, as they came.

    Checks on the way what mod_callcenter itself proves: it marks an agent Receiving
    only to offer it a call, so that agent must be ready on the board just before.
    """
    board = board or started(name)
    last = 0.0
    for step in steps(name):
        if isinstance(step, CcEvent):
            h, last = step.headers, step.at
            if h["CC-Action"] == "agent-state-change" and h["CC-Agent-State"] == "Receiving":
                seen = board.agent(h["CC-Agent"], step.at)
                assert seen is not None and seen.kind == "ready", (name, step.at, seen)
            assert board.on_event(h, step.at), h
        else:
            apply_reply(board, step, last)
        yield step, board


def events(name: str) -> list[CcEvent]:
    return [s for s in steps(name) if isinstance(s, CcEvent)]


def views(board: AgentBoard, now: float) -> dict[str, AgentView | None]:
    return {a: board.agent(a, now) for a in AGENTS}


def call_uuids(name: str) -> list[str]:
    return re.findall(r"origination_uuid=([0-9a-f-]{36})", "\n".join(sent_commands(name)))


def action(step: CcEvent | ApiReply) -> str:
    return step.headers["CC-Action"] if isinstance(step, CcEvent) else ""


# -- what the recordings show ----------------------------------------------------


@pytest.mark.parametrize("name", CC_NAMES)
def test_freeswitch_offers_only_agents_the_board_counts_ready(name: str) -> None:
    board, offered = started(name), 0
    for step, _ in play(name, board=board):  # play checks every offer
        offered += action(step) == "agent-offering"
    assert offered == sum(1 for e in events(name) if e.headers["CC-Action"] == "agent-offering")
    assert board.ignored == 0


@pytest.mark.parametrize("name", CC_NAMES)
def test_the_counts_freeswitch_replied_match_the_board(name: str) -> None:
    """``queue count agents Q [status [state]]`` counts the agents of Q's tiers by status and state."""
    checked = 0
    for step, board in play(name):
        if not isinstance(step, ApiReply):
            continue
        words = shlex.split(step.command)[1:]
        if words[:4] == ["queue", "count", "agents", QUEUE]:
            status, state = (words[4:] + [None, None])[:2]
            seen = [v for a in board.names(QUEUE) if (v := board.agent(a, 0.0)) is not None]
            mine = [v for v in seen if status in (None, v.status) and state in (None, v.state)]
            assert len(mine) == parse_count(step.body), step.command
            checked += 1
    assert checked == sum(1 for r in steps(name) if isinstance(r, ApiReply)
                          and r.command.startswith(f"callcenter_config queue count agents {QUEUE}"))


RELOADS_AFTER_EVENTS = {"cc_agent_no_answer": 3, "cc_answered_to_agent": 3, "cc_answered_to_agent_agent_hangs_up": 3,
                        "cc_answered_to_agent_plain_cc_only": 3, "cc_loopback_agent_not_bridged": 1,
                        "cc_two_calls_one_agent": 1, "cc_two_calls_one_agent_served_after_wrapup": 1}


@pytest.mark.parametrize("name", CC_NAMES)
def test_every_load_agrees_with_what_the_events_built(name: str) -> None:
    """The engine's reconnect: a load after events changes nothing the events got right."""
    board, last, compared = started(name), 0.0, 0
    for step in steps(name):
        if isinstance(step, CcEvent):
            assert board.on_event(step.headers, step.at)
            last = step.at
            continue
        before = views(board, last)
        loaded = apply_reply(board, step, last)
        if last:  # loads before any event are the starting point
            assert views(board, last) == before, step.command
            compared += loaded > 0
    assert compared == RELOADS_AFTER_EVENTS.get(name, 0)


@pytest.mark.parametrize("name", CC_NAMES)
def test_replaying_the_events_again_gives_the_same_board(name: str) -> None:
    once, twice, recorded = started(name), started(name), events(name)
    for e in recorded:
        once.on_event(e.headers, e.at)
    for e in recorded + recorded:
        twice.on_event(e.headers, e.at)
    end = recorded[-1].at
    for t in (end, end + 3.0, end + 60.0):
        assert views(twice, t) == views(once, t) and twice.counts(QUEUE, t) == once.counts(QUEUE, t)
    assert twice.ignored == once.ignored == 0


@pytest.mark.parametrize("name", ["cc_answered_to_agent", "cc_answered_to_agent_agent_hangs_up",
                                  "cc_answered_to_agent_plain_cc_only"])
def test_an_answered_call_makes_its_agent_busy_then_wrap_up_then_ready(name: str) -> None:
    (uuid,) = call_uuids(name)
    points: list[str] = []
    bridge_end = 0
    for step, board in play(name):
        if not isinstance(step, CcEvent):
            continue
        at, h, counts = step.at, step.headers, board.counts(QUEUE, step.at)
        if h["CC-Action"] == "bridge-agent-start":
            assert counts == AgentCounts(busy=1, logged_out=2, logged_in=1, waiting_members=1)
            assert board.agent_of_member(uuid) == AGENT1
            points.append("busy")
        elif h["CC-Action"] == "bridge-agent-end":
            bridge_end = int(h["CC-Bridge-Terminated-Time"])
        elif h["CC-Action"] == "agent-state-change" and bridge_end:
            assert h["CC-Agent-State"] == "Waiting"  # no wrap-up state: the board computes it
            assert (counts.wrap_up, counts.ready, counts.busy) == (1, 0, 0)
            assert board.wrap_up_ends(QUEUE, at) == [bridge_end + 5 + 1.0]
            assert board.counts(QUEUE, bridge_end + 5.999).wrap_up == 1  # whole seconds
            assert board.counts(QUEUE, bridge_end + 6.0).ready == 1
            points.append("wrap-up")
        elif h["CC-Action"] == "member-queue-end":
            assert board.agent_of_member(uuid) is None
            points.append("left")
    assert points == ["busy", "left", "wrap-up"]


def test_the_next_call_is_offered_when_wrap_up_ends() -> None:
    name = "cc_two_calls_one_agent_served_after_wrapup"
    free_at: list[float] = []
    offers: list[float] = []
    ended = False
    for step, board in play(name):
        if not isinstance(step, CcEvent):
            continue
        if action(step) == "bridge-agent-end":
            ended = True
        elif action(step) == "agent-state-change" and ended:  # the Waiting that ends the bridge
            ended = False
            assert board.counts(QUEUE, step.at).wrap_up == 1
            free_at.append(board.wrap_up_ends(QUEUE, step.at)[0])
        elif action(step) == "agent-offering":
            offers.append(step.at)
    # mod_callcenter's dispatcher runs every 100 ms: the offer follows wrap-up's end closely.
    assert len(offers) == 2 and 0.0 <= offers[1] - free_at[0] < 0.5


def test_two_calls_for_one_agent_leave_one_waiting() -> None:
    name = "cc_two_calls_one_agent"
    waiting = []
    for step, board in play(name):
        if action(step) == "members-count":
            waiting.append(board.counts(QUEUE, 0.0).waiting_members)
        if action(step) == "bridge-agent-start":
            assert isinstance(step, CcEvent)
            assert board.counts(QUEUE, step.at) == AgentCounts(busy=1, logged_out=2, logged_in=1,
                                                               waiting_members=2)
    assert waiting == [1, 2, 1, 0]


def test_an_agent_that_does_not_answer_sleeps_then_goes_on_break() -> None:
    name = "cc_agent_no_answer"
    kinds = []
    failed = False
    for step, board in play(name):
        if not isinstance(step, CcEvent):
            continue
        h = step.headers
        if h["CC-Action"] == "bridge-agent-fail":
            seen = board.agent(AGENT1, step.at)
            assert seen is not None and seen.ready_time == int(h["CC-Agent-Aborted-Time"]) + 5
            failed = True
        elif h["CC-Action"] == "agent-state-change" and failed:  # Waiting, right after the failure
            kinds.append(board.agent(AGENT1, step.at).kind)  # type: ignore[union-attr]
            failed = False
        elif h["CC-Action"] == "agent-max-no-answer":  # FreeSWITCH itself sets On Break
            assert board.counts(QUEUE, step.at) == AgentCounts(on_break=1, logged_out=2, logged_in=1,
                                                               waiting_members=1)
    assert kinds == ["wrap_up", "wrap_up", "on_break"]  # asleep for no_answer_delay_time, then on break
    assert board.counts(QUEUE, events(name)[-1].at + 3600).on_break == 1


def test_a_failed_offer_puts_the_agent_to_sleep_for_its_delay() -> None:
    *_, (_, board) = play("cc_loopback_agent_not_bridged")
    fail = next(e for e in events("cc_loopback_agent_not_bridged")
                if e.headers["CC-Action"] == "bridge-agent-fail")
    aborted = int(fail.headers["CC-Agent-Aborted-Time"])
    assert board.counts(QUEUE, fail.at).wrap_up == 1
    assert board.wrap_up_ends(QUEUE, fail.at) == [aborted + 5.0]
    assert board.counts(QUEUE, aborted + 5.0).ready == 1


def test_an_agent_on_break_then_logged_out_leaves_no_agent() -> None:
    name = "cc_on_break_then_logged_out"
    seen = [(action(s), b.counts(QUEUE, 0.0)) for s, b in play(name) if isinstance(s, CcEvent)]
    assert seen[0] == ("member-queue-start", AgentCounts(on_break=1, logged_out=2, logged_in=1))
    status_change = next(c for a, c in seen if a == "agent-status-change")
    assert status_change == AgentCounts(logged_out=3, waiting_members=1)
    assert seen[-1] == ("members-count", AgentCounts(logged_out=3))


@pytest.mark.parametrize("name", ["cc_abandoned_no_agent", "cc_abandoned_no_agent_callee_hangs_up_3s",
                                  "cc_abandoned_no_agent_plain_cc_only"])
def test_with_every_agent_logged_out_nobody_is_ready(name: str) -> None:
    counts = [b.counts(QUEUE, s.at) for s, b in play(name) if isinstance(s, CcEvent)]
    assert all(c.ready == c.logged_in == 0 and c.logged_out == 3 for c in counts)
    assert [c.waiting_members for c in counts] == [0, 1, 1, 0]  # member-queue-start, then members-count


def test_a_member_left_after_max_wait_time_while_the_agent_was_busy() -> None:
    counts = [(action(s), b.counts(QUEUE, 0.0)) for s, b in play("cc_max_wait_time_2_timeout")
              if isinstance(s, CcEvent)]
    timeout = next(i for i, (a, _) in enumerate(counts) if a == "member-queue-end")
    assert counts[timeout - 1][1] == AgentCounts(busy=1, logged_out=2, logged_in=1, waiting_members=1)
    assert counts[timeout + 1][1].waiting_members == 0


def test_agent_status_changes_follow_the_events() -> None:
    seen = [(h["CC-Agent"].removesuffix("@default"), h.get("CC-Agent-Status") or h.get("CC-Agent-State"),
             (c.ready, c.idle, c.on_break, c.logged_out))
            for s, b in play("cc_agent_status_changes") if isinstance(s, CcEvent)
            for h, c in [(s.headers, b.counts(QUEUE, s.at))]]
    assert seen == [  # (ready, idle, on break, logged out) after each event
        ("agent1", "Available", (1, 0, 0, 2)),
        ("agent2", "Available", (2, 0, 0, 1)),
        ("agent1", "Waiting", (2, 0, 0, 1)),
        ("agent1", "On Break", (1, 0, 1, 1)),
        ("agent1", "Available", (2, 0, 0, 1)),
        ("agent1", "Available", (2, 0, 0, 1)),  # sent again although nothing changed
        ("agent3", "Available (On Demand)", (3, 0, 0, 0)),
        ("agent3", "Idle", (2, 1, 0, 0)),
        ("agent2", "Logged Out", (1, 1, 0, 1)),
        ("agent3", "Logged Out", (1, 0, 0, 2)),
        ("agent3", "Waiting", (1, 0, 0, 2)),
        ("agent2", None, (1, 0, 0, 2)),  # agent-contact-change
        ("agent1", "Logged Out", (0, 0, 0, 3)),
    ]


# -- member facts ------------------------------------------------------------------

MEMBER_PATHS = {
    "cc_abandoned_no_agent": [["queued", "left Cancel NO_AGENT_TIMEOUT"]],
    "cc_abandoned_no_agent_callee_hangs_up_3s": [["queued", "left Cancel BREAK_OUT"]],
    "cc_abandoned_no_agent_plain_cc_only": [["queued", "left Cancel NO_AGENT_TIMEOUT"]],
    "cc_agent_no_answer": [["queued", "offered agent1", "offered agent1", "offered agent1",
                            "left Cancel BREAK_OUT"]],
    "cc_agent_status_changes": [],
    "cc_agents_api": [],
    "cc_answered_to_agent": [["queued", "offered agent1", "bridged agent1", "left agent1 Terminated"]],
    "cc_answered_to_agent_agent_hangs_up": [["queued", "offered agent1", "bridged agent1",
                                             "left agent1 Terminated"]],
    "cc_answered_to_agent_plain_cc_only": [["queued", "offered agent1", "bridged agent1",
                                            "left agent1 Terminated"]],
    "cc_loopback_agent_not_bridged": [["queued", "offered agent1", "left Cancel BREAK_OUT"]],
    "cc_max_wait_time_2_timeout": [["queued", "offered agent1", "bridged agent1", "left agent1 Terminated"],
                                   ["queued", "left Cancel TIMEOUT"]],
    "cc_on_break_then_logged_out": [["queued", "left Cancel NO_AGENT_TIMEOUT"]],
    "cc_two_calls_one_agent": [["queued", "offered agent1", "bridged agent1", "left agent1 Terminated"],
                               ["queued", "left Cancel BREAK_OUT"]],
    "cc_two_calls_one_agent_served_after_wrapup": [
        ["queued", "offered agent1", "bridged agent1", "left agent1 Terminated"],
        ["queued", "offered agent1", "bridged agent1", "left agent1 Terminated"]],
}


def said(fact: MemberFact) -> str:
    words = [fact.kind, (fact.agent or "").removesuffix("@default"), fact.cause or "", fact.reason or ""]
    return " ".join(w for w in words if w)


@pytest.mark.parametrize("name", CC_NAMES)
def test_member_events_give_each_call_its_path_through_the_queue(name: str) -> None:
    pairs = [(e, f) for e in events(name) if (f := member_fact(e.headers)) is not None]
    facts = [f for _, f in pairs]
    paths = {u: [said(f) for f in facts if f.call_uuid == u] for u in call_uuids(name)}
    assert list(paths.values()) == MEMBER_PATHS[name]
    assert {f.call_uuid for f in facts} <= set(paths) and all(f.queue == QUEUE for f in facts)
    assert all(f.at == e.at for e, f in pairs)


def test_a_bridged_fact_names_the_agent_channel() -> None:
    bridged = [f for e in events("cc_answered_to_agent") if (f := member_fact(e.headers)) and f.kind == "bridged"]
    assert [(f.agent, f.agent_uuid) for f in bridged] == [(AGENT1, "d8863bf4-0be6-474b-a74f-599b94fba86d")]
    assert bridged[0].member_uuid == "bb3b85cb-7fb8-4394-a64f-6d4dc8091d8e"


def test_a_member_fact_needs_a_call_and_a_queue() -> None:
    assert member_fact({"CC-Action": "member-queue-start", "CC-Queue": QUEUE}) is None
    assert member_fact({"CC-Action": "agent-status-change", "CC-Agent": AGENT1}) is None
    fact = member_fact({"CC-Action": "member-queue-start", "CC-Queue": QUEUE, "CC-Member-Session-UUID": "u",
                        "Event-Date-Timestamp": "bad"}, now=12.5)
    assert fact == MemberFact("queued", "u", QUEUE, 12.5)


def test_the_fields_a_json_reader_picks_cover_every_header_read() -> None:
    source = "".join(Path(m.__file__).read_text() for m in (agents, members) if m.__file__)
    read = set(re.findall(r'"((?:CC|Event)-[A-Za-z-]+)"', source)) - {"Event-Name"}
    assert "CC-Bridge-Terminated-Time" in read and read <= set(CC_FIELDS)


# -- loads, reconnects, odd input ------------------------------------------------------


def ev(act: str, at: float = 1000.0, **headers: str) -> dict[str, str]:
    out = {"Event-Name": "CUSTOM", "Event-Subclass": "callcenter::info", "CC-Action": act,
           "Event-Date-Timestamp": str(int(at * 1e6))}
    out.update({k.replace("_", "-"): v for k, v in headers.items()})
    return out


def test_wrap_up_counts_whole_seconds_like_mod_callcenter() -> None:
    board = AgentBoard()
    board.load(QUEUE, [fs_row(AGENT1, "Available", "In a queue call")], 0.0)
    board.on_event(ev("bridge-agent-end", 1000.7, CC_Agent=AGENT1, CC_Bridge_Terminated_Time="1000"), 1000.7)
    board.on_event(ev("agent-state-change", 1000.7, CC_Agent=AGENT1, CC_Agent_State="Waiting"), 1000.7)
    assert [board.agent(AGENT1, t).kind for t in (1000.7, 1005.0, 1005.999, 1006.0)] == [  # type: ignore[union-attr]
        "wrap_up", "wrap_up", "wrap_up", "ready"]
    board.set_wrap_up(AGENT1, 10)
    assert board.wrap_up_ends(QUEUE, 1006.0) == [1011.0]


@pytest.mark.parametrize(
    ("cause", "asleep_until"),
    [("NO_ANSWER", 1007), ("ALLOTTED_TIMEOUT", 1007), ("USER_BUSY", 1003), ("CALL_REJECTED", 1004),
     ("USER_NOT_REGISTERED", 1005), ("LOSE_RACE", 0), ("ORIGINATOR_CANCEL", 0)],
    ids=lambda v: str(v),
)
def test_a_failed_offer_sleeps_for_the_delay_its_cause_chooses(cause: str, asleep_until: int) -> None:
    board = AgentBoard()
    board.load(QUEUE, [fs_row(AGENT1, "Available", busy_delay_time=3, reject_delay_time=4,
                              no_answer_delay_time=7)], 0.0)
    assert board.on_event(ev("bridge-agent-fail", 1000.2, CC_Agent=AGENT1, CC_Hangup_Cause=cause,
                             CC_Agent_Aborted_Time="1000"), 1000.2)
    assert board.agent(AGENT1, 1000.2).ready_time == asleep_until  # type: ignore[union-attr]


def test_a_load_sets_exactly_the_agents_of_a_queue_and_agents_serve_several_queues() -> None:
    board = AgentBoard()
    board.load(QUEUE, [fs_row(a, "Available") for a in AGENTS], 1.0)
    board.load("support@default", [fs_row(AGENT1, "Available")], 2.0)
    board.on_event(ev("agent-state-change", CC_Agent=AGENT1, CC_Agent_State="Receiving"), 1000.0)
    assert board.counts(QUEUE, 1000.0).busy == board.counts("support@default", 1000.0).busy == 1
    board.load(QUEUE, [fs_row(AGENT2, "Available")], 3.0)
    assert board.names(QUEUE) == [AGENT2] and board.names("support@default") == [AGENT1]
    assert board.agent(AGENT3, 0.0) is not None and board.loaded_at(QUEUE) == 3.0
    assert board.loaded_at("nosuchqueue@default") is None
    board.load("nosuchqueue@default", [], 4.0)  # FreeSWITCH's +OK for an unknown queue
    assert board.counts("nosuchqueue@default", 0.0) == AgentCounts() and board.loaded_at("nosuchqueue@default")


def test_a_malformed_load_raises_and_changes_nothing() -> None:
    board = AgentBoard()
    board.load(QUEUE, [fs_row(AGENT1, "Available")], 1.0)
    with pytest.raises(ValueError):
        board.load(QUEUE, [fs_row(AGENT1, "On Break"), fs_row(AGENT2, "Bogus")], 2.0)
    assert board.names(QUEUE) == [AGENT1] and board.agent(AGENT1, 0.0).status == "Available"  # type: ignore[union-attr]


def test_a_reload_after_missed_events_catches_up() -> None:
    """Reconnect: events lost while down, then ``queue list agents`` reloaded."""
    name = "cc_answered_to_agent"
    *_, (_, full) = play(name)
    last_rows = [r for r in steps(name) if isinstance(r, ApiReply) and "agent list" in r.command][-1]
    missed = started(name)
    missed.load(QUEUE, parse_table(last_rows.body) + [fs_row(AGENT2, "Logged Out"), fs_row(AGENT3, "Logged Out")],
                now=2.0)
    end = events(name)[-1].at
    for t in (end, end + 2.5, end + 10):
        assert views(missed, t) == views(full, t)
        assert missed.counts(QUEUE, t) == full.counts(QUEUE, t) and full.counts(QUEUE, t).logged_in == 1


def test_a_member_link_ends_with_the_call_or_a_reload() -> None:
    board = AgentBoard()
    board.load(QUEUE, [fs_row(AGENT1, "Available")], 0.0)
    board.on_event(ev("bridge-agent-start", CC_Agent=AGENT1, CC_Queue=QUEUE, CC_Member_Session_UUID="m1"), 1000.0)
    assert board.agent_of_member("m1") == AGENT1 and board.busy_since(QUEUE, 1001.0) == [1000.0]
    board.load(QUEUE, [fs_row(AGENT1, "Available")], 1002.0)  # the reload says: no call any more
    assert board.agent_of_member("m1") is None
    board.on_event(ev("bridge-agent-start", CC_Agent=AGENT1, CC_Queue=QUEUE, CC_Member_Session_UUID="m2"), 1003.0)
    board.forget_member("m2")
    assert board.agent_of_member("m2") is None


def test_members_waiting_come_from_the_members_list_too() -> None:
    board = AgentBoard()
    rows = [{"state": s} for s in ("Waiting", "Trying", "Answered", "Abandoned", "Waiting")]
    board.load_members(QUEUE, rows)
    assert board.counts(QUEUE, 0.0).waiting_members == 3
    board.on_event(ev("members-count", CC_Queue="*", CC_Count="9", CC_Selection="All-Queues"), 0.0)
    assert board.counts(QUEUE, 0.0).waiting_members == 3


def test_events_for_agents_and_queues_never_loaded_are_kept_without_error() -> None:
    board = AgentBoard()
    assert board.on_event(ev("agent-status-change", CC_Agent="stranger@x", CC_Agent_Status="Available"), 0.0)
    assert board.on_event(ev("members-count", CC_Queue="other@x", CC_Count="2"), 0.0)
    assert board.on_event(ev("agent-offering", CC_Agent="stranger@x", CC_Queue="other@x"), 0.0)
    assert board.agent("stranger@x", 0.0).status == "Available"  # type: ignore[union-attr]
    assert board.counts("other@x", 0.0) == AgentCounts(idle=1, logged_in=1, waiting_members=2)  # state unknown
    assert board.on_event(ev("agent-state-change", CC_Agent="stranger@x", CC_Agent_State="Waiting"), 1000.0)
    assert board.counts("other@x", 1000.0) == AgentCounts(ready=1, logged_in=1, waiting_members=2)
    assert board.on_event(ev("agent-state-change", CC_Agent="newcomer@x", CC_Agent_State="Waiting"), 0.0)
    assert board.agent("newcomer@x", 0.0).kind == "logged_out"  # type: ignore[union-attr]
    assert board.ignored == 0


MALFORMED = [
    {},
    {"CC-Action": "agent-teleported", "CC-Agent": AGENT1},
    {"CC-Action": "agent-status-change", "CC-Agent-Status": "Available"},
    {"CC-Action": "agent-status-change", "CC-Agent": AGENT1, "CC-Agent-Status": "Sleeping"},
    {"CC-Action": "agent-status-change", "CC-Agent": "", "CC-Agent-Status": "Available"},
    {"CC-Action": "agent-state-change", "CC-Agent": AGENT1, "CC-Agent-State": None},
    {"CC-Action": "agent-state-change", "CC-Agent": AGENT1, "CC-Agent-State": 7},
    {"CC-Action": "members-count", "CC-Queue": QUEUE, "CC-Count": "many"},
    {"CC-Action": "members-count", "CC-Queue": QUEUE, "CC-Count": "-1"},
    {"CC-Action": "bridge-agent-end", "CC-Agent": AGENT1, "CC-Bridge-Terminated-Time": "soon"},
    {"CC-Action": "bridge-agent-start", "CC-Agent": AGENT1, "CC-Queue": QUEUE},
    {"CC-Action": "bridge-agent-fail", "CC-Agent": AGENT1, "Event-Date-Timestamp": "yesterday"},
    {"CC-Action": ["agent-status-change"], "CC-Agent": AGENT1},
    {"CC-Action": "agent-max-no-answer", "CC-Agent": AGENT1, "CC-Agent-No-Answer-Status": "Nap"},
]


@pytest.mark.parametrize("headers", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_events_change_nothing_and_are_counted(headers: Mapping[str, str]) -> None:
    board = started("cc_answered_to_agent")
    before = (views(board, 5.0), board.counts(QUEUE, 5.0))
    assert board.on_event(headers, 5.0) is False
    assert board.ignored == 1 and (views(board, 5.0), board.counts(QUEUE, 5.0)) == before


_values = st.one_of(st.none(), st.integers(), st.text(max_size=8), st.sampled_from(
    ["Available", "On Break", "Waiting", "Receiving", "1000", "-1", AGENT1, QUEUE, "*"]))
_actions = st.sampled_from(["agent-status-change", "agent-state-change", "agent-offering",
                            "bridge-agent-start", "bridge-agent-end", "bridge-agent-fail",
                            "agent-max-no-answer", "members-count", "member-queue-end", "x"])


@given(st.lists(st.tuples(_actions, st.dictionaries(st.sampled_from(CC_FIELDS[1:]), _values, max_size=6)),
                max_size=20))
def test_no_event_raises_out_of_the_board(stream: list[tuple[str, dict[str, object]]]) -> None:
    board = started("cc_answered_to_agent")
    applied = sum(board.on_event({**headers, "CC-Action": act}, 1000.0)  # type: ignore[dict-item]
                  for act, headers in stream)
    assert applied + board.ignored == len(stream)
    assert all(board.agent(a, 1000.0) is not None for a in board.names(QUEUE))
