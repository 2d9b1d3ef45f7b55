"""One validated plan per task: the only place a task's settings are judged.

The API, ``eslbridge apply`` and the dialer (for rows other systems write
straight into PostgreSQL) all call :func:`plan_task` on the task's row joined
with its line. It either returns a :class:`TaskPlan` — schedule, limits and an
originate template checked once — or raises
:class:`~eslbridge.esl.originate.OriginateError` naming the field, with the
same message wherever the task came from. Per call the dialer only renders the
template with the call uuid, the number id and the phone (and the caller id it
picked, for a task showing a number group's).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .dialer.hours import CalleeHours
from .dialer.policy import Schedule, TimeRange
from .esl.originate import (
    CS_VAR,
    DEFAULT_POLICY,
    ENGINE_VAR,
    NUMBER_VAR,
    TASK_VAR,
    OriginateError,
    OriginateSpec,
    OriginateTemplate,
    VariablePolicy,
    check_caller_id,
    check_variables,
    compile_originate,
)
from .rows import ABANDONED_REST_H, ContactCaps

MAX_PAUSE_S = 3600
QUEUE_CONTEXT = "eslbridge_queue"  # dialplan/eslbridge.xml: answer, callcenter <queue>, safe harbor
QUEUE_RE = re.compile(r"[A-Za-z0-9_.+\-]{1,100}@[A-Za-z0-9_.+\-]{1,100}")  # name@domain, as mod_callcenter names queues
ABANDON_AFTER_S = 2.0  # seconds after the answer; the US and UK rules use 2 s
CALLEE = "callee"  # task.timezone: windows read on each callee's clock


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """How an agent task (seed 001: a skill group) paces and routes its calls."""

    queue: str  # the mod_callcenter queue, e.g. sales@default
    predictive: bool  # send_number_strategy 1; else ratio
    multiply_power: int  # ratio: calls ringing or waiting ≤ this × ready agents
    abandon_pct: int  # predictive: target abandonment, 1–5 %
    acw_s: int  # after-call work: the agents' wrap-up time
    abandon_after_s: float = ABANDON_AFTER_S


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """What the dialer needs of one task, derived once per task-list refresh."""

    task_id: str
    user_id: str
    line_id: str
    node: str
    schedule: Schedule
    maximumcall: int
    call_pause_second: int
    line_cps: float | None
    random_order: bool
    originate: OriginateTemplate
    agents: AgentPlan | None = None  # None: a robot task (its destination as given)
    task_cps: float | None = None  # the task's own calls-per-second cap (seed 000 call_per_second)
    caller_id: str | None = None  # the caller id every call carries (prefix included); None: none or a group's
    caller_ids: CallerIdPlan | None = None  # the number group whose numbers the calls show
    hours: CalleeHours = field(default_factory=CalleeHours)  # where its hours are read (callee-local, the tenant's)
    caps: ContactCaps = field(default_factory=ContactCaps)


@dataclass(frozen=True, slots=True)
class CallerIdPlan:
    """A task showing a number group's caller ids (seed 001 ``outboundNumberGroupId``)."""

    group_id: int
    fit: bool  # strategyDisplaySwitch: the number that best fits the callee; off: the numbers in turn
    prefix: str = ""  # the line's call_number_prefix, before each caller id


def check_timezone(name: str | None, field_name: str = "timezone", callee: bool = False) -> str | None:
    """An IANA zone name (or, with ``callee``, ``"callee"``); raises OriginateError naming the field."""
    if name is None or name == "":
        return None
    if callee and name == CALLEE:
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OriginateError(field_name, f"unknown time zone {name[:64]!r}") from None
    return name


def _clock(text: Any, field_name: str) -> time:
    if isinstance(text, time):
        return text
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise OriginateError(field_name, f"{str(text)[:20]!r} is not a time of day (HH:MM)") from None


def daily_windows(raw: Any) -> tuple[tuple[time, time], ...]:
    """The task's daily windows, ``[["09:00", "12:00"], …]``; empty means all day."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise OriginateError("daily_windows", "must be a list of [start, end] pairs")
    windows = []
    for pair in raw:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise OriginateError("daily_windows", "must be a list of [start, end] pairs")
        windows.append((_clock(pair[0], "daily_windows"), _clock(pair[1], "daily_windows")))
    return tuple(windows)


def blocked_ranges(raw: Any) -> tuple[TimeRange, ...]:
    """The disable time group's ranges as the store gives them: ``[[weekdays, start, end], …]``."""
    ranges = []
    for weekdays, start, end in raw or ():
        ranges.append(TimeRange(frozenset(int(d) for d in weekdays), _clock(start, "disable_dial_timegroup"),
                                _clock(end, "disable_dial_timegroup")))
    return tuple(ranges)


def callee_hours(row: Mapping[str, Any]) -> CalleeHours:
    """Where a task's hours are read: its ``timezone`` (``"callee"``), ``fallback_timezone`` and its
    tenant's calling hours (``calling_hours_start`` / ``_end`` of the tenant's policy)."""
    callee = check_timezone(row.get("timezone"), callee=True) == CALLEE
    fallback = check_timezone(row.get("fallback_timezone"), "fallback_timezone") if callee else None
    start, end = row.get("calling_hours_start"), row.get("calling_hours_end")
    tenant = None
    if start is not None and end is not None:
        tenant = (_clock(start, "calling_hours"), _clock(end, "calling_hours"))
    return CalleeHours(callee, fallback, tenant)


def contact_caps(row: Mapping[str, Any]) -> ContactCaps:
    """The tenant's caps as a task meets them: its abandoned rest is off if the task may recall."""
    rest = row.get("abandoned_rest_h")
    rest_h = ABANDONED_REST_H if rest is None else int(rest)
    return ContactCaps(row.get("max_attempts_day") or None, row.get("max_attempts_week") or None,
                       None if row.get("recall_abandoned") or rest_h == 0 else rest_h)


def _int(row: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise OriginateError(key, f"must be a whole number from {lo} to {hi}")
    return value


def agent_plan(row: Mapping[str, Any], abandon_after_s: float = ABANDON_AFTER_S) -> AgentPlan | None:
    """The call-centre part of a task: set when it names a skill group (``skill_set_id``).

    The group is one of the tenant's customer service groups, by id or by its
    queue's name (``skill_queue``, resolved by the store): a tenant cannot name
    another tenant's queue on a shared switch.
    """
    if not row.get("skill_set_id"):
        return None
    queue = row.get("skill_queue")
    if not isinstance(queue, str) or not QUEUE_RE.fullmatch(queue) or queue.lower() == "undef":
        raise OriginateError("skill_set_id", "names no usable skill group of this tenant with a mod_callcenter "
                             "queue (customer_service.queue, e.g. sales@default)")
    predictive = row.get("send_number_strategy") == 1
    if predictive:
        multiply_power, abandon_pct = 1, _int(row, "abandonment_rate", 1, 5)
    else:
        multiply_power, abandon_pct = _int(row, "multiply_power", 1, 100), 3
    return AgentPlan(queue, predictive, multiply_power, abandon_pct, _int(row, "acw", 1, 180), abandon_after_s)


def caller_id(row: Mapping[str, Any]) -> str | None:
    """The caller id of the task's calls: the task's, else the line's ``call_number``, after the
    line's ``call_number_prefix``; None when the line sends none (``is_call_number_enable`` 0)."""
    if row.get("is_call_number_enable") == 0:
        return None
    number = row.get("_origination_caller_id_number") or row.get("call_number") or None
    prefix = row.get("call_number_prefix") or ""
    if number is None or not prefix:
        return number
    check_caller_id(str(number))  # the number alone first: its own field is named
    try:
        return check_caller_id(f"{prefix}{number}", "call_number_prefix")
    except OriginateError:
        raise OriginateError("call_number_prefix", f"{str(prefix)[:20]!r} before the caller id {str(number)[:40]!r} "
                             "is not digits with an optional leading '+' (at most 32)") from None


def number_group(row: Mapping[str, Any]) -> CallerIdPlan | None:
    """The number group a task's calls show their caller ids from (``outbound_number_group_id``):
    one of the tenant's (``ng_id``, resolved by the store), with numbers, on a line that sends a
    caller id. None: the task names none."""
    if row.get("outbound_number_group_id") in (None, ""):
        return None
    field_name = "outbound_number_group_id"
    group = row.get("ng_id")
    if group is None:
        raise OriginateError(field_name, "names no number group of this tenant")
    if row.get("is_call_number_enable") == 0:
        raise OriginateError(field_name, "the task's line sends no caller id (is_call_number_enable 0)")
    if not row.get("ng_numbers"):
        raise OriginateError(field_name, f"number group {group} has no numbers")
    check_timezone(row.get("ng_timezone"), "number_group.timezone")
    return CallerIdPlan(int(group), bool(row.get("strategy_display_switch")), str(row.get("call_number_prefix") or ""))


def plan_task(row: Mapping[str, Any], policy: VariablePolicy = DEFAULT_POLICY,
              engine_id: str = "eslbridge", safe_harbor: str = "silence_stream://1000",
              abandon_after_s: float = ABANDON_AFTER_S) -> TaskPlan:
    """Judge a task (its columns joined with its line's) and build its plan.

    Raises OriginateError naming the first field that cannot be dialled safely.
    The task's own ``dial_format`` / caller id win over the line's. An agent
    task's answered calls go to its queue (``QUEUE_CONTEXT``), not to the
    destination a robot task names.
    """
    dial_format = row.get("dial_format") or row.get("dial_string") or ""
    field_name = "dial_format" if row.get("dial_format") else "dial_string"
    tenant_vars = check_variables(row.get("originate_variables") or "", policy)
    agents = agent_plan(row, abandon_after_s)
    engine_vars = {ENGINE_VAR: engine_id, TASK_VAR: str(row.get("uuid"))}
    if row.get("customer_service_id") is not None and row.get("cs_id") is None:
        raise OriginateError("customer_service_id", "names no customer service group of this tenant")
    context = str(row.get("destination_context") or "default")
    if context == QUEUE_CONTEXT:
        raise OriginateError("destination_context", f"{QUEUE_CONTEXT!r} is eslbridge's own")
    destination = (str(row.get("destination_extension") or ""), str(row.get("destination_dialplan") or "XML"), context)
    if agents is not None:
        destination = (agents.queue, "XML", QUEUE_CONTEXT)
        # The member hangs up with its agent (no safe-harbor message after a conversation);
        # mod_callcenter copies the engine's tags onto the agent legs and its events.
        engine_vars.update({"hangup_after_bridge": "true", "eslbridge_safe_harbor": safe_harbor,
                            "cc_export_vars": f"{ENGINE_VAR},{TASK_VAR},{NUMBER_VAR},{CS_VAR}"})
        if row.get("skill_id") is not None:
            engine_vars[CS_VAR] = str(row["skill_id"])
    elif row.get("cs_id") is not None:
        # The robot's hand-off to agents: the group (seed 000 customer_service_id) and its queue.
        engine_vars[CS_VAR] = str(row["cs_id"])
        if row.get("cs_queue"):
            engine_vars["eslbridge_handoff_queue"] = str(row["cs_queue"])
    group = number_group(row)
    shown = caller_id(row) if group is None else None
    try:
        template = compile_originate(
            OriginateSpec(
                dial_format=dial_format,
                destination_extension=destination[0],
                destination_dialplan=destination[1],
                destination_context=destination[2],
                caller_id_number=shown,
                timeout_s=_int(row, "_originate_timeout", 1, 600),
                tenant_variables=tenant_vars,
                engine_variables=engine_vars,
                number_variable=NUMBER_VAR,
                caller_id_per_call=group is not None,
            ),
            policy if agents is None else replace(policy, contexts=frozenset()),
        )
    except OriginateError as exc:
        if exc.field == "dial_format" and field_name != "dial_format":
            raise OriginateError(field_name, exc.reason) from None
        raise
    date_start, date_end = row.get("date_start"), row.get("date_end")
    if isinstance(date_start, date) and isinstance(date_end, date) and date_end < date_start:
        raise OriginateError("date_end", "is before date_start")
    begin, deadline = row.get("begin_at"), row.get("deadline_at")
    hours = callee_hours(row)
    schedule = Schedule(
        running=row.get("start") == 1,
        date_start=date_start if isinstance(date_start, date) else None,
        date_end=date_end if isinstance(date_end, date) else None,
        windows=daily_windows(row.get("daily_windows")),
        blocked=blocked_ranges(row.get("blocked")),
        tz=None if hours.callee else check_timezone(row.get("timezone")),
        line_begin=begin if isinstance(begin, datetime) else None,
        line_deadline=deadline if isinstance(deadline, datetime) else None,
    )
    cps, task_cps = row.get("cps"), row.get("call_per_second")
    return TaskPlan(
        task_id=str(row.get("uuid")),
        user_id=str(row.get("user_id")),
        line_id=str(row.get("caller_line_id")),
        node=str(row.get("node") or ""),
        schedule=schedule,
        maximumcall=_int(row, "maximumcall", 0, 100_000),
        call_pause_second=_int(row, "call_pause_second", 0, MAX_PAUSE_S),
        line_cps=float(cps) if cps else None,
        random_order=row.get("random_assignment_number") == 1,
        originate=template,
        agents=agents,
        task_cps=float(task_cps) if task_cps else None,
        caller_id=shown,
        caller_ids=group,
        hours=hours,
        caps=contact_caps(row),
    )
