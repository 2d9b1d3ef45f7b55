"""plan_task: one judgement of a task row (task columns joined with its line), rendered per call."""

from __future__ import annotations

import uuid
from datetime import date, time

import pytest

from eslbridge.esl.originate import OriginateError, VariablePolicy
from eslbridge.plan import plan_task
from eslbridge.sim.script import parse_originate

TASK = "0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01"
CALL = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"


def row(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "uuid": uuid.UUID(TASK), "user_id": "t1", "start": 1, "maximumcall": 5, "call_pause_second": 0,
        "_originate_timeout": 30, "_origination_caller_id_number": None, "dial_format": None,
        "destination_extension": "9000", "destination_dialplan": "XML", "destination_context": "default",
        "originate_variables": "{execute_on_media=start_da2}", "caller_line_id": "l1", "random_assignment_number": 0,
        "timezone": None, "date_start": None, "date_end": None, "daily_windows": [],
        "dial_string": "loopback/%s/lab", "call_number": "1000", "call_line": 10, "node": "fs1", "cps": None,
        "begin_at": None, "deadline_at": None, "blocked": [],
    }
    base.update(over)
    return base


def test_a_plan_renders_the_call_with_only_uuid_number_id_and_phone_filled_in() -> None:
    plan = plan_task(row(), engine_id="e1")
    parsed = parse_originate(plan.originate.render(CALL, 77, "13800000001")[len("originate ") :])
    assert parsed.legs == ("loopback/13800000001/lab",)
    assert parsed.variables == {
        "origination_uuid": CALL, "origination_caller_id_number": "1000", "originate_timeout": "30",
        "ignore_early_media": "true", "execute_on_media": "start_da2", "eslbridge_engine": "e1",
        "eslbridge_task": TASK, "eslbridge_number": "77",
    }
    assert (plan.task_id, plan.node, plan.maximumcall, plan.random_order) == (TASK, "fs1", 5, False)


def test_the_tasks_own_dial_format_and_caller_id_win_over_the_lines() -> None:
    plan = plan_task(row(dial_format="sofia/gateway/gw2/%s", _origination_caller_id_number="+8613530525008"))
    parsed = parse_originate(plan.originate.render(CALL, 1, "138")[len("originate ") :])
    assert parsed.legs == ("sofia/gateway/gw2/138",)
    assert parsed.variables["origination_caller_id_number"] == "+8613530525008"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"destination_extension": "undef"}, "destination_extension"),
        ({"dial_format": "loopback/%s/lab:_:loopback/1/lab"}, "dial_format"),
        ({"dial_string": "loopback/%s/lab:_:loopback/1/lab"}, "dial_string"),  # the line is at fault
        ({"call_number": "1000,x=y"}, "_origination_caller_id_number"),
        ({"originate_variables": "{api_on_answer=system x}"}, "originate_variables"),
        ({"_originate_timeout": 0}, "_originate_timeout"),
        ({"maximumcall": -1}, "maximumcall"),
        ({"call_pause_second": 99999}, "call_pause_second"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"daily_windows": [["nine", "five"]]}, "daily_windows"),
        ({"daily_windows": "09:00-12:00"}, "daily_windows"),
        ({"date_start": date(2026, 2, 1), "date_end": date(2026, 1, 1)}, "date_end"),
    ],
)
def test_a_row_that_cannot_be_dialled_names_the_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(**over))
    assert err.value.field == field


def test_schedule_and_limits_come_from_the_row() -> None:
    plan = plan_task(row(daily_windows=[["09:00", "12:00"]], timezone="Asia/Shanghai", cps=5.0,
                         random_assignment_number=1, blocked=[[[1, 2], "12:00:00", "13:30:00"]]))
    assert plan.schedule.windows == ((time(9), time(12)),) and plan.schedule.tz == "Asia/Shanghai"
    assert plan.schedule.blocked[0].weekdays == frozenset({1, 2}) and plan.line_cps == 5.0 and plan.random_order


def test_the_admins_policy_is_the_one_applied() -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(), VariablePolicy(allowed_apps=frozenset({"park"})))
    assert err.value.field == "originate_variables.execute_on_media"


def test_an_agent_task_sends_answered_calls_to_its_queue_with_the_engines_tags() -> None:
    plan = plan_task(row(skill_set_id="17", skill_id=17, skill_queue="sales@default", send_number_strategy=1,
                         abandonment_rate=3, acw=15, multiply_power=None, destination_extension="9000"), engine_id="e1")
    assert plan.agents is not None
    assert (plan.agents.queue, plan.agents.predictive, plan.agents.abandon_pct, plan.agents.acw_s) == (
        "sales@default", True, 3, 15)
    parsed = parse_originate(plan.originate.render(CALL, 5, "13800000001")[len("originate ") :])
    assert (parsed.destination, parsed.dialplan, parsed.context) == ("sales@default", "XML", "eslbridge_queue")
    assert parsed.variables["cc_export_vars"] == "eslbridge_engine,eslbridge_task,eslbridge_number,eslbridge_customer_service"
    assert parsed.variables["eslbridge_customer_service"] == "17"  # the skill group: the agents' side sees it too
    assert parsed.variables["hangup_after_bridge"] == "true"
    assert parsed.legs == ("loopback/13800000001/lab",)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"skill_set_id": "7", "skill_queue": None, "multiply_power": 2, "acw": 10}, "skill_set_id"),  # not the tenant's
        ({"skill_set_id": "7", "skill_queue": "sales", "multiply_power": 2, "acw": 10}, "skill_set_id"),
        ({"skill_set_id": "7", "skill_queue": "undef", "multiply_power": 2, "acw": 10}, "skill_set_id"),
        ({"skill_set_id": "7", "skill_queue": "sales@default", "send_number_strategy": 0, "multiply_power": None,
          "acw": 10}, "multiply_power"),
        ({"skill_set_id": "7", "skill_queue": "sales@default", "send_number_strategy": 0, "multiply_power": 101,
          "acw": 10}, "multiply_power"),
        ({"skill_set_id": "7", "skill_queue": "sales@default", "send_number_strategy": 1, "abandonment_rate": 6,
          "acw": 10}, "abandonment_rate"),
        ({"skill_set_id": "7", "skill_queue": "sales@default", "send_number_strategy": 1, "abandonment_rate": 3,
          "acw": 0}, "acw"),
        ({"destination_context": "eslbridge_queue"}, "destination_context"),  # another tenant's queues
    ],
)
def test_call_centre_settings_outside_the_seeds_ranges_name_the_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(**over))
    assert err.value.field == field


def test_a_robot_task_tells_its_dialplan_the_customer_service_group_and_its_queue() -> None:
    # seed 000's task entity: customer_service_id 21
    plan = plan_task(row(customer_service_id=21, cs_id=21, cs_queue="support@default"))
    parsed = parse_originate(plan.originate.render(CALL, 5, "13800000001")[len("originate ") :])
    assert parsed.variables["eslbridge_customer_service"] == "21" and plan.agents is None
    assert parsed.variables["eslbridge_handoff_queue"] == "support@default"


def test_a_customer_service_group_without_a_queue_still_reaches_freeswitch() -> None:
    plan = plan_task(row(customer_service_id=21, cs_id=21, cs_queue=None))
    parsed = parse_originate(plan.originate.render(CALL, 5, "13800000001")[len("originate ") :])
    assert parsed.variables["eslbridge_customer_service"] == "21" and "eslbridge_handoff_queue" not in parsed.variables


def test_another_tenants_customer_service_group_is_not_dialled() -> None:
    # plan_rows finds no group of the task's tenant with that id (a row written with SQL)
    with pytest.raises(OriginateError) as err:
        plan_task(row(customer_service_id=21, cs_id=None, cs_queue=None))
    assert err.value.field == "customer_service_id"


# -- caller id settings of the line (seed 000: call_number_prefix, is_call_number_enable) -----------
def caller_of(plan_row: dict[str, object]) -> str | None:
    parsed = parse_originate(plan_task(plan_row).originate.render(CALL, 5, "13800000001")[len("originate ") :])
    return parsed.variables.get("origination_caller_id_number")


def test_the_lines_prefix_goes_before_the_caller_id() -> None:
    assert caller_of(row(call_number="13530525008", call_number_prefix="17361984317", is_call_number_enable=1)) == (
        "1736198431713530525008")
    assert caller_of(row(_origination_caller_id_number="13530525008", call_number_prefix="0")) == "013530525008"


def test_a_line_with_the_caller_id_switched_off_sends_none() -> None:
    assert caller_of(row(call_number="13530525008", call_number_prefix="9", is_call_number_enable=0)) is None


def test_no_caller_id_means_no_prefix_alone() -> None:
    assert caller_of(row(call_number="", call_number_prefix="9")) is None


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"call_number_prefix": "+86", "call_number": "+8613530525008"}, "call_number_prefix"),
        ({"call_number_prefix": "9,x=y", "call_number": "1000"}, "call_number_prefix"),
        ({"call_number_prefix": "9" * 16, "call_number": "9" * 17}, "call_number_prefix"),  # 33 digits
        ({"call_number_prefix": "9", "call_number": "1000}"}, "_origination_caller_id_number"),
    ],
    ids=["two-plus-signs", "hostile-prefix", "too-long", "hostile-caller-id"],
)
def test_a_prefixed_caller_id_passes_the_caller_id_checks(over: dict[str, object], field: str) -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(**over))
    assert err.value.field == field


def test_the_tasks_calls_per_second_is_its_plans() -> None:
    assert plan_task(row(call_per_second=10)).task_cps == 10.0 and plan_task(row()).task_cps is None


# -- number groups: the caller id is rendered per call -----------------------------------------------
GROUP = {"outbound_number_group_id": "7", "ng_id": 7, "ng_numbers": 2, "ng_timezone": None,
         "strategy_display_switch": True}


def test_a_task_with_a_number_group_renders_the_caller_id_of_each_call() -> None:
    plan = plan_task(row(**GROUP, _origination_caller_id_number="13530525008", call_number_prefix="9"), engine_id="e1")
    assert plan.caller_ids is not None and (plan.caller_ids.group_id, plan.caller_ids.fit, plan.caller_ids.prefix) == (7, True, "9")
    assert plan.caller_id is None and plan.originate.has_caller_id
    parsed = parse_originate(plan.originate.render(CALL, 77, "13800000001", "9075588888888")[len("originate ") :])
    assert parsed.variables["origination_caller_id_number"] == "9075588888888"  # not the task's own
    assert parsed.variables["eslbridge_number"] == "77" and parsed.legs == ("loopback/13800000001/lab",)
    assert list(parsed.variables).count("origination_caller_id_number") == 1


def test_without_a_group_the_plan_carries_the_caller_id_every_call_shows() -> None:
    plan = plan_task(row(call_number="13530525008", call_number_prefix="0"))
    assert plan.caller_ids is None and plan.caller_id == "013530525008" and not plan.originate.has_caller_id
    assert plan_task(row(is_call_number_enable=0)).caller_id is None


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"ng_id": None}, "outbound_number_group_id: names no number group of this tenant"),
        ({"ng_numbers": 0}, "outbound_number_group_id: number group 7 has no numbers"),
        ({"is_call_number_enable": 0}, "outbound_number_group_id: the task's line sends no caller id"),
        ({"ng_timezone": "Mars/Olympus"}, "number_group.timezone: unknown time zone"),
    ],
    ids=["not-the-tenants", "empty", "line-sends-none", "timezone"],
)
def test_a_number_group_that_cannot_show_caller_ids_is_refused(over, message) -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(**{**GROUP, **over}))
    assert str(err.value).startswith(message)


def test_a_callee_local_task_reads_its_hours_on_each_numbers_clock() -> None:
    plan = plan_task(row(timezone="callee", fallback_timezone="Asia/Shanghai", daily_windows=[["09:00", "17:00"]]))
    assert (plan.hours.callee, plan.hours.fallback, plan.hours.tenant, plan.hours.by_zone) == (
        True, "Asia/Shanghai", None, True)
    assert plan.schedule.tz is None and plan.schedule.windows == ((time(9), time(17)),)
    own = plan_task(row(timezone="Europe/London", fallback_timezone="Asia/Shanghai"))
    assert (own.hours.callee, own.hours.fallback, own.hours.by_zone, own.schedule.tz) == (
        False, None, False, "Europe/London")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"timezone": "callee", "fallback_timezone": "Mars/Olympus"}, "fallback_timezone"),
        ({"timezone": "callee", "fallback_timezone": "callee"}, "fallback_timezone"),
        ({"calling_hours_start": "8 am", "calling_hours_end": "21:00"}, "calling_hours"),
    ],
)
def test_bad_hours_settings_name_the_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(OriginateError) as err:
        plan_task(row(**over))
    assert err.value.field == field


def test_the_tenants_policy_gives_calling_hours_and_caps() -> None:
    from eslbridge.rows import ContactCaps

    plan = plan_task(row(calling_hours_start=time(8), calling_hours_end=time(21), max_attempts_day=2,
                         max_attempts_week=5, abandoned_rest_h=48))
    assert plan.hours.tenant == (time(8), time(21)) and plan.hours.by_zone
    assert plan.caps == ContactCaps(per_day=2, per_week=5, rest_h=48)
    assert plan_task(row()).caps == ContactCaps(rest_h=72)  # no policy row: the 72-hour rest only
    assert plan_task(row(recall_abandoned=True)).caps.rest_h is None
    assert plan_task(row(abandoned_rest_h=0)).caps.rest_h is None
