"""The simulator's mod_callcenter model, tick by tick on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from eslbridge.sim.callcenter import (
    AgentConfig,
    CallCenter,
    CallCenterConfig,
    Out,
    QueueConfig,
    TierConfig,
    exported,
    leg_timeout,
    playback_s,
    route_of,
)

T0 = 1_000_000.0  # a whole epoch second


def model(agents: list[AgentConfig], queue: QueueConfig | None = None, now: float = T0,
          tiers: list[TierConfig] | None = None) -> CallCenter:
    counter = itertools.count(1)
    return CallCenter(CallCenterConfig(queues=[queue or QueueConfig()], agents=agents, tiers=tiers), now,
                      new_uuid=lambda: f"uuid-{next(counter)}")


def available(name: str, **kw: object) -> AgentConfig:
    return AgentConfig(name, status="Available", **kw)  # type: ignore[arg-type]


def run(cc: CallCenter, start: float, until: float, step: float = 0.01) -> list[tuple[float, Out]]:
    """Tick the model every ``step`` seconds; every output with the time it came at."""
    got: list[tuple[float, Out]] = []
    t = start
    while t <= until + 1e-9:
        got += [(round(t, 3), o) for o in cc.tick(t)]
        t += step
    return got


def join(cc: CallCenter, session: str, at: float) -> list[Out]:
    member, outs = cc.join("sales@default", session, "Outbound Call", "lab", "13800000000", at, at)
    assert member is not None
    return outs


def kinds(outs: list[tuple[float, Out]] | list[Out]) -> list[str]:
    return [(o[1] if isinstance(o, tuple) else o).kind for o in outs]


def test_joining_member_is_counted_then_offered_the_longest_idle_agent_at_the_next_pass():
    cc = model([available("a1@default"), available("a2@default"), available("a3@default")])
    cc.agents["a1@default"].last_bridge_end = int(T0) - 30
    cc.agents["a2@default"].last_bridge_end = int(T0) - 90  # idle longest
    cc.agents["a3@default"].last_bridge_end = int(T0) - 60
    outs = join(cc, "m1", T0 + 0.2)
    assert [(o.kind, o.value) for o in outs] == [("member-queue-start", ""), ("members-count", "1")]
    got = run(cc, T0 + 0.2, T0 + 0.5)
    offering = [(t, o) for t, o in got if o.kind == "agent-offering"]
    assert [o.agent.name for _, o in offering] == ["a2@default"]
    assert offering[0][0] == pytest.approx(T0 + 0.25)  # half a dispatcher period after an idle queue's join
    assert kinds(got)[:3] == ["agent-state-change", "agent-offering", "agent-legs-up"]


def test_agents_with_the_same_idle_time_are_offered_in_tier_position_order():
    cc = model([available("a1@default"), available("a2@default")],
               tiers=[TierConfig("sales@default", "a1@default", position=2),
                      TierConfig("sales@default", "a2@default", position=1)])
    join(cc, "m1", T0)
    join(cc, "m2", T0 + 0.01)
    got = run(cc, T0, T0 + 0.3)
    offers = [(o.member.session_uuid, o.agent.name) for _, o in got if o.kind == "agent-offering"]
    # The first to join goes first; each agent gets one call.
    assert offers == [("m1", "a2@default"), ("m2", "a1@default")]


def test_bridge_event_order_and_agent_hangup_after_talk_time():
    cc = model([available("a1@default", talk_s=4.0)])
    join(cc, "m1", T0)
    got = run(cc, T0, T0 + 5.0)
    assert kinds(got) == [
        "agent-state-change", "agent-offering", "agent-legs-up", "bridge-agent-start", "agent-state-change",
        "agent-line-gone", "members-count", "member-bridged",
        "agent-hangup", "bridge-agent-end", "member-queue-end", "agent-state-change", "member-released",
    ]
    states = [o.value for _, o in got if o.kind == "agent-state-change"]
    assert states == ["Receiving", "In a queue call", "Waiting"]
    hangup = next(t for t, o in got if o.kind == "agent-hangup")
    assert hangup == pytest.approx(T0 + 0.05 + 4.0)
    end = next(o for _, o in got if o.kind == "member-queue-end")
    assert (end.value, end.variant) == ("Terminated", "terminated-up")
    agent = cc.agents["a1@default"]
    assert (agent.calls_answered, agent.talk_time, agent.last_bridge_end) == (1, 4, int(T0 + 4.07))


def test_member_hanging_up_while_bridged_ends_the_bridge_at_the_agent_threads_next_look():
    cc = model([available("a1@default", talk_s=None)])
    join(cc, "m1", T0)
    run(cc, T0, T0 + 0.1)
    assert cc.member_hangup("m1", T0 + 3.0) == []
    got = run(cc, T0 + 3.0, T0 + 3.2)
    assert kinds(got) == ["bridge-agent-end", "member-queue-end", "agent-state-change"]
    assert got[0][0] == pytest.approx(T0 + 3.1)
    assert got[1][1].variant == "terminated-gone"


@pytest.mark.parametrize(("ended_at", "first_offer_at"), [
    (T0 + 0.3, T0 + 6.0),  # bridge end in second 1_000_000: offered once int(now) > end + 5
    (T0 + 0.95, T0 + 6.0),
], ids=["early-in-second", "late-in-second"])
def test_wrap_up_counts_whole_seconds(ended_at, first_offer_at):
    cc = model([available("a1@default")])
    agent = cc.agents["a1@default"]
    agent.last_bridge_end = int(ended_at)
    join(cc, "m1", ended_at)
    got = run(cc, ended_at, T0 + 7.0)
    offer = next(t for t, o in got if o.kind == "agent-offering")
    assert first_offer_at <= offer < first_offer_at + 0.11
    # No event marks the end of wrap-up: the agent was Waiting all along.
    assert [(o.kind, o.value) for _, o in got][:2] == [("agent-state-change", "Receiving"), ("agent-offering", "")]


@pytest.mark.parametrize(("joined", "leaves_after"), [
    (T0 + 0.3, 4.0),  # the capture's case: 2 s with no agent, plus the 2 s grace, checked every 0.5 s
    (T0 + 0.7, 3.5),  # joined late in a second: the whole-second clock reaches J + 4 sooner
    (T0 + 0.02, 4.5),  # the dispatcher has not yet seen second J + 4 at the 4.0 s check
], ids=["capture", "late-in-second", "early-in-second"])
def test_no_agent_timeout_arithmetic(joined, leaves_after):
    cc = model([AgentConfig("a1@default")])  # Logged Out: no agent at all
    join(cc, "m1", joined)
    got = run(cc, joined, joined + 6.0)
    leave = [(t, o) for t, o in got if o.kind == "member-queue-end"]
    assert [(o.value, o.variant) for _, o in leave] == [("NO_AGENT_TIMEOUT", "cancel-up")]
    assert leave[0][0] - joined == pytest.approx(leaves_after, abs=0.011)
    assert kinds(got) == ["member-queue-end", "members-count", "member-released"]


def test_on_break_agent_counts_as_present_and_the_member_waits_until_it_logs_out():
    cc = model([AgentConfig("a1@default", status="On Break")])
    join(cc, "m1", T0 + 0.3)
    assert kinds(run(cc, T0 + 0.3, T0 + 7.0)) == []  # no offer, no timeout
    reply, outs = cc.api("agent set status a1@default 'Logged Out'", T0 + 7.0)
    assert (reply, [(o.kind, o.value) for o in outs]) == ("+OK\n", [("agent-status-change", "Logged Out")])
    got = run(cc, T0 + 7.0, T0 + 10.0)
    leave = next(t for t, o in got if o.kind == "member-queue-end")
    # The last pass that saw the agent was in second T0 + 6: the member leaves at the first
    # check once the dispatcher's clock reads T0 + 8 (1.54 s after the logout in the capture).
    assert T0 + 8.0 <= leave <= T0 + 8.6


def test_max_wait_time_sends_the_member_away_with_timeout():
    cc = model([AgentConfig("a1@default", status="On Break")], QueueConfig(max_wait_time=2))
    join(cc, "m1", T0 + 0.5)
    got = run(cc, T0 + 0.5, T0 + 4.0)
    leave = [(t, o.value) for t, o in got if o.kind == "member-queue-end"]
    assert len(leave) == 1 and leave[0][1] == "TIMEOUT"
    assert 1.0 <= leave[0][0] - (T0 + 0.5) <= 2.5  # "expect 1–2.5 s for 2"


def test_agent_that_never_answers_fails_at_leg_timeout_then_goes_on_break_at_max_no_answer():
    cc = model([available("a1@default", answer_after_s=None, contact="[leg_timeout=5]loopback/a1/agents")])
    join(cc, "m1", T0 + 0.02)
    got = run(cc, T0, T0 + 40.0, step=0.02)
    fails = [(t, o) for t, o in got if o.kind == "bridge-agent-fail"]
    offers = [t for t, o in got if o.kind == "agent-offering"]
    assert [o.value for _, o in fails] == ["ALLOTTED_TIMEOUT"] * 3
    assert len(offers) == 3
    for offered, (failed, _) in zip(offers, fails, strict=True):
        assert failed == pytest.approx(int(offered) + 6, abs=0.021)  # whole seconds: floor(start) + 5 + 1
    # ready again after no_answer_delay_time: ready_time = failure second + 5
    assert offers[1] >= int(fails[0][0]) + 5 and offers[1] < int(fails[0][0]) + 5.2
    third = [o.kind for _, o in got if _ == fails[2][0]]
    assert third == ["agent-legs-failed", "agent-max-no-answer", "agent-status-change", "bridge-agent-fail",
                     "agent-state-change"]
    agent = cc.agents["a1@default"]
    assert (agent.status, agent.state, agent.no_answer_count) == ("On Break", "Waiting", 3)
    tiers = cc.api("tier list", T0 + 40)[0]
    assert "sales@default|a1@default|No Answer|1|1" in tiers
    assert cc.member_by_session("m1").state == "Waiting"  # On Break counts as an agent: no timeout


def test_member_leaving_while_its_agent_rings_cancels_the_offer_without_delay():
    cc = model([available("a1@default", answer_after_s=3.0)])
    join(cc, "m1", T0)
    run(cc, T0, T0 + 0.1)
    outs = cc.member_hangup("m1", T0 + 1.0)
    assert [(o.kind, o.value) for o in outs] == [
        ("member-queue-end", "BREAK_OUT"), ("members-count", "0"), ("agent-legs-failed", "ORIGINATOR_CANCEL"),
        ("bridge-agent-fail", "ORIGINATOR_CANCEL"), ("agent-state-change", "Waiting"),
    ]
    assert outs[0].variant == "cancel-gone"
    agent = cc.agents["a1@default"]
    assert (agent.ready_time, agent.no_answer_count, agent.state) == (0, 0, "Waiting")
    rows = cc.api("queue list members sales@default", T0 + 1)[0].splitlines()
    assert rows[1].split("|")[3] == "" and rows[1].split("|")[15] == "Abandoned"  # the row stays, session gone


def test_abandoned_member_rows_go_after_discard_abandoned_after():
    cc = model([AgentConfig("a1@default")], QueueConfig(discard_abandoned_after=60))
    join(cc, "m1", T0)
    cc.member_hangup("m1", T0 + 1.0)
    assert cc.api("queue count members sales@default", T0 + 2)[0] == "1\n"
    while (due := cc.next_wakeup(T0 + 2)) is not None and due < T0 + 100:
        cc.tick(due)
        if cc.api("queue count members sales@default", due)[0] == "0\n":
            break
    assert cc.api("queue count members sales@default", T0 + 100)[0] == "0\n"
    assert T0 + 62 <= due <= T0 + 63


def test_setting_a_status_sends_the_event_even_when_unchanged_and_resets_counters_only_on_change():
    cc = model([available("a1@default")])
    cc.agents["a1@default"].calls_answered = 7
    reply, outs = cc.api("agent set status a1@default Available", T0)
    assert reply == "+OK\n" and [(o.kind, o.value) for o in outs] == [("agent-status-change", "Available")]
    assert cc.agents["a1@default"].calls_answered == 7
    cc.api("agent set status a1@default 'On Break'", T0)
    cc.api("agent set status a1@default Available", T0)
    assert cc.agents["a1@default"].calls_answered == 0


@pytest.mark.parametrize(("args", "reply"), [
    ("agent set status nosuch@default Available", "-ERR Agent not found!\n"),
    ("agent set status a1@default Bogus", "-ERR Invalid Agent Status!\n"),
    ("agent set status a1@default On Break", "-ERR Invalid Agent Status!\n"),  # unquoted: "On"
    ("agent set state a1@default Bogus", "-ERR Invalid Agent State!\n"),
    ("agent set wrap_up_time a1@default 10", "+OK\n"),
    ("agent get status a1@default", "Logged Out"),  # the bare value, no newline
    ("queue list agents nosuch@default", "+OK\n"),
    ("queue count agents nosuch@default", "0\n"),
    ("queue count agents sales@default", "1\n"),
    ("queue count", "1\n"),
    ("agent list nosuch@default", "+OK\n"),
    ("nonsense list", ""),  # FreeSWITCH then says -ERR no reply
    ("queue", "-ERR Invalid!\n"),
], ids=lambda v: v if isinstance(v, str) and " " in v else None)
def test_callcenter_config_replies(args, reply):
    cc = model([AgentConfig("a1@default")])
    assert cc.api(args, T0)[0] == reply


def test_engine_can_set_wrap_up_and_read_it_back_in_queue_list_agents():
    cc = model([AgentConfig("a1@default", status="Available")])
    assert cc.api("agent set wrap_up_time a1@default 10", T0)[0] == "+OK\n"
    lines = cc.api("queue list agents sales@default", T0)[0].splitlines()
    row = dict(zip(lines[0].split("|"), lines[1].split("|"), strict=True))
    assert (row["name"], row["status"], row["state"], row["wrap_up_time"]) == ("a1@default", "Available", "Waiting", "10")
    assert lines[-1] == "+OK"


def test_staffed_config_gives_n_ready_agents_with_the_given_behaviour():
    config = CallCenterConfig.staffed(10, talk_s=30, wrap_up_time=2)
    assert [a.name for a in config.agents][::9] == ["agent1@default", "agent10@default"]
    assert {(a.status, a.talk_s, a.wrap_up_time, a.answer_after_s) for a in config.agents} == {("Available", 30, 2, 0.0)}
    with pytest.raises(TypeError):
        CallCenterConfig.staffed(2, talk_time=3)


@pytest.mark.parametrize(("dest", "context", "queue", "after"), [
    ("sales@default", "eslbridge_queue", "sales@default", 1.0),
    ("abandoned", "eslbridge_queue", None, 1.0),
    ("sales", "queue", "sales@default", 0.5),
    ("queue_support", "robot", "queue_support@default", 0.0),
])
def test_queue_extensions_of_the_dialplans(dest, context, queue, after):
    route = route_of(dest, "XML", context, {"eslbridge_safe_harbor": "silence_stream://1000"}, 2.0)
    assert route is not None and (route.queue, route.after_s) == (queue, after)
    assert route_of("9000", "XML", "robot", {}, 2.0) is None


def test_helpers():
    assert leg_timeout("[leg_timeout=5]loopback/agent1/agents") == 5
    assert playback_s("silence_stream://-1", 1.0) is None and playback_s("ivr/x.wav", 1.5) == 1.5
    assert exported({"cc_export_vars": "a,b", "a": "1"}, None) == [("cc_export_vars", "a,b"), ("a", "1")]
    assert exported({"eslbridge_engine": "e"}, "eslbridge_engine") == [("cc_export_vars", "eslbridge_engine"),
                                                                      ("eslbridge_engine", "e")]


def test_answered_contact_without_a_bridge_fails_with_success_after_the_bridge_wait():
    cc = model([available("a1@default", unbridged=True)])
    join(cc, "m1", T0)
    got = run(cc, T0, T0 + 6.0)
    assert kinds(got) == ["agent-state-change", "agent-offering", "agent-legs-answered", "agent-legs-failed",
                          "bridge-agent-fail", "agent-state-change"]
    fail = next((t, o) for t, o in got if o.kind == "bridge-agent-fail")
    assert fail[1].value == "SUCCESS" and fail[0] == pytest.approx(T0 + 0.05 + 5.5, abs=0.011)
    assert cc.agents["a1@default"].ready_time == int(fail[0]) + 5  # SUCCESS is no busy/reject cause


def test_agent_on_demand_goes_idle_after_its_call():
    cc = model([AgentConfig("a1@default", status="Available (On Demand)", talk_s=1.0)])
    join(cc, "m1", T0)
    got = run(cc, T0, T0 + 2.0)
    assert [o.value for _, o in got if o.kind == "agent-state-change"] == ["Receiving", "In a queue call", "Idle"]
