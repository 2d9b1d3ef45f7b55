"""The call desk: pacing allowances from mod_callcenter's agents, abandonment, outcomes to the pacer.

Events are built with the header names and order of the recordings
(tests/data/captures/cc_answered_to_agent*.summary.txt); the replies are
mod_callcenter's own text.
"""

from __future__ import annotations

from eslbridge.callcenter.desk import CallDesk
from eslbridge.dialer.policy import Schedule
from eslbridge.esl.originate import OriginateTemplate
from eslbridge.esl.protocol import Event
from eslbridge.plan import AgentPlan, TaskPlan

QUEUE = "sales@default"
HEADER = ("name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|"
          "busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|"
          "last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count\n")


def agent_row(name: str, status: str = "Available", state: str = "Waiting", wrap: int = 5) -> str:
    return f"{name}|single_box||callback|[leg_timeout=5]loopback/{name}/agents|{status}|{state}|3|{wrap}|5|5|5|0|0|0|0|0|0|0|0|0\n"


def switch(agents: list[str], queues: str = QUEUE) -> dict[str, str]:
    """api replies of a node whose mod_callcenter has ``agents`` in sales@default."""
    queue_list = ("name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
                  "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|discard_abandoned_after|"
                  "abandoned_resume_allowed|max_wait_time|max_wait_time_with_no_agent|"
                  "max_wait_time_with_no_agent_time_reached|record_template|calls_answered|calls_abandoned|"
                  "ring_progressively_delay|skip_agents_with_external_calls|agent_no_answer_status\n"
                  f"{queues}|longest-idle-agent|local_stream://moh|system|false|30|true|true|60|false|0|2|2||0|0|0|true|On Break\n+OK\n")
    return {"callcenter_config queue list": queue_list,
            f"callcenter_config queue list agents {QUEUE}": HEADER + "".join(agents) + "+OK\n"}


def plan(predictive: bool = False, power: int = 2, task: str = "t1") -> TaskPlan:
    return TaskPlan(task, "u1", "l1", "fs1", Schedule(), 50, 0, None, False,
                    OriginateTemplate("", "", "", "", False),
                    AgentPlan(QUEUE, predictive, power, 3, 10, 2.0))


def synced(agents: list[str], acw: dict[str, int] | None = None) -> tuple[CallDesk, list[str]]:
    desk, sent = CallDesk("e1"), []
    replies = switch(agents)

    def api(cmd: str) -> str:
        sent.append(cmd)
        return replies.get(cmd, "+OK\n")

    desk.sync("fs1", api, [QUEUE], acw or {}, now=1000.0)
    return desk, sent


def cc(action: str, **headers: str) -> Event:
    return Event("CUSTOM", {"Event-Subclass": "callcenter::info", "Event-Name": "CUSTOM", "CC-Action": action, **headers})


def channel(name: str, uuid: str) -> Event:
    return Event(name, {"Event-Name": name, "Unique-ID": uuid, "variable_origination_uuid": uuid})


def test_ratio_launches_multiply_power_times_ready_agents_less_calls_in_flight() -> None:
    desk, _ = synced([agent_row("agent1@default"), agent_row("agent2@default"), agent_row("agent3@default", "Logged Out")])
    allowed = desk.allow(plan(power=2), 1000.0, 0.0, max_more=50)
    assert allowed.calls == 4 and allowed.hold is None
    desk.originated(plan(), ["c1", "c2", "c3"], 1000.0)
    assert desk.allow(plan(power=2), 1000.0, 0.0, max_more=50).calls == 1
    assert desk.allow(plan(power=2), 1000.0, 0.0, max_more=0).calls == 0  # the dialer's own cap


def test_an_answered_call_no_agent_takes_is_due_after_its_limit_and_counts_as_abandoned() -> None:
    desk, _ = synced([agent_row("agent1@default")])
    desk.originated(plan(), ["c1"], 1000.0)
    desk.on_event("fs1", channel("CHANNEL_ANSWER", "c1"), 1003.0, mono=50.0)
    assert desk.due(51.9) == [] and desk.due(52.0) == ["c1"]
    desk.on_event("fs1", channel("CHANNEL_HANGUP_COMPLETE", "c1"), 1006.0, mono=54.0)
    assert desk.calls.counts("t1").waiting == 0 and len(desk.times) == 0


def test_a_bridged_call_is_never_abandoned_and_its_agent_is_busy() -> None:
    desk, _ = synced([agent_row("agent1@default")])
    desk.originated(plan(), ["c1"], 1000.0)
    desk.on_event("fs1", channel("CHANNEL_ANSWER", "c1"), 1001.0, mono=10.0)
    desk.on_event("fs1", cc("member-queue-start", **{"CC-Queue": QUEUE, "CC-Member-Session-UUID": "c1",
                                                     "CC-Member-UUID": "m1"}), 1001.0, 10.0)
    desk.on_event("fs1", cc("bridge-agent-start", **{"CC-Queue": QUEUE, "CC-Agent": "agent1@default",
                                                     "CC-Member-Session-UUID": "c1", "CC-Member-UUID": "m1",
                                                     "CC-Agent-UUID": "a1", "CC-Agent-Answered-Time": "1001",
                                                     "CC-Agent-Called-Time": "1001"}), 1001.5, 10.5)
    desk.on_event("fs1", cc("agent-state-change", **{"CC-Agent": "agent1@default",
                                                     "CC-Agent-State": "In a queue call"}), 1001.5, 10.5)
    assert desk.due(20.0) == []
    counts = desk.board("fs1").counts(QUEUE, 1002.0)
    assert counts.busy == 1 and counts.ready == 0
    assert desk.allow(plan(power=2), 1002.0, 11.0, max_more=50).calls == 0  # no agent ready


def test_tasks_are_held_with_a_reason_when_the_queue_is_missing_or_empty() -> None:
    desk, _ = synced([])
    assert desk.allow(plan(), 1000.0, 0.0, 50).hold == "no agent logged in to sales@default"
    desk2 = CallDesk("e1")
    assert desk2.allow(plan(), 1000.0, 0.0, 50).hold == "waiting for fs1's call centre"
    desk2.sync("fs1", lambda cmd: switch([], queues="support@default").get(cmd, "+OK\n"), [QUEUE], {}, 1000.0)
    assert desk2.allow(plan(), 1000.0, 0.0, 50).hold == "queue sales@default does not exist on fs1"
    desk3 = CallDesk("e1")
    desk3.sync("fs1", lambda cmd: "-ERR no reply\n", [QUEUE], {}, 1000.0)
    hold = desk3.allow(plan(), 1000.0, 0.0, 50).hold
    assert hold is not None and hold.startswith("call centre of fs1 unreadable")


def test_the_tasks_after_call_work_becomes_its_agents_wrap_up_time_once() -> None:
    desk, sent = synced([agent_row("agent1@default"), agent_row("agent2@default")], acw={QUEUE: 15})
    assert [c for c in sent if "wrap_up_time" in c] == [
        "callcenter_config agent set wrap_up_time agent1@default 15",
        "callcenter_config agent set wrap_up_time agent2@default 15",
    ]
    sent.clear()
    desk.sync("fs1", lambda cmd: (sent.append(cmd), switch([agent_row("agent1@default", wrap=15),
                                                             agent_row("agent2@default", wrap=15)]).get(cmd, "+OK\n"))[1],
              [QUEUE], {QUEUE: 15}, 1001.0)
    assert not [c for c in sent if "wrap_up_time" in c]


def test_the_predictive_pacer_learns_from_each_finished_call() -> None:
    desk, _ = synced([agent_row(f"agent{i}@default") for i in range(1, 6)])
    p = plan(predictive=True)
    desk.allow(p, 1000.0, 0.0, 50)
    pacer = desk.pacers["t1"]
    desk.originated(p, ["c1", "c2"], 1000.0)
    desk.on_event("fs1", channel("CHANNEL_ANSWER", "c1"), 1004.0, 4.0)
    desk.on_event("fs1", channel("CHANNEL_HANGUP_COMPLETE", "c1"), 1030.0, 30.0)
    desk.on_event("fs1", channel("CHANNEL_HANGUP_COMPLETE", "c2"), 1030.0, 30.0)  # not answered
    assert pacer.answered == 1  # the answered call reached it, the unanswered one did not count
    assert desk.pacers["t1"] is pacer  # kept across ticks while the settings stay
