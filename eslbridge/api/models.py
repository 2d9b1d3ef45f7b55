"""Request models: the seeds' field names, ranges and required fields. Unknown fields are refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..config import Settings
from ..esl.originate import (
    OriginateError,
    VariablePolicy,
    check_caller_id,
    check_context,
    check_dial_format,
    check_dialplan,
    check_token,
    check_variables,
)
from ..notify.nets import parse_nets
from ..notify.target import MAX_URL_CHARS, TargetRefused, check_written
from ..phones import NumberFormat
from ..plan import QUEUE_RE, check_timezone

Name = Annotated[str, Field(min_length=1, max_length=100)]
# What tenants may put in an originate: the settings the engine's dialer plans with.
POLICY: VariablePolicy = Settings().policy()
# The targets the notifier may call although private (a task's call_notify_url is judged by them when written).
WEBHOOK_ALLOW_NETS = parse_nets(Settings().webhook_allow_nets)


def validation_message(exc: ValidationError) -> str:
    """``field: reason`` of the first error: the API's and ``apply``'s words for bad input."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"{where}: {msg}"


def _checked(check: Callable[[str, str], object]) -> Callable[[str, ValidationInfo], str]:
    """A field validator from one of the originate checks (the same rule the dialer plans with)."""

    def validate(v: str, info: ValidationInfo) -> str:
        try:
            check(v, info.field_name or "value")
        except OriginateError as exc:
            raise ValueError(exc.reason) from None
        return v

    return validate


Token = Annotated[str, AfterValidator(_checked(check_token))]
DialFormat = Annotated[str, AfterValidator(_checked(lambda v, f: check_dial_format(v, f, POLICY.dial_prefixes)))]
Context = Annotated[str, AfterValidator(_checked(lambda v, f: check_context(v, POLICY, f)))]
CallerId = Annotated[str, AfterValidator(_checked(lambda v, f: check_caller_id(v, f) if v else v))]
Dialplan = Annotated[str, AfterValidator(_checked(lambda v, f: check_dialplan(v, POLICY, f)))]
OriginateVariables = Annotated[str, AfterValidator(_checked(lambda v, f: check_variables(v, POLICY)))]
TimeZone = Annotated[str, AfterValidator(_checked(check_timezone))]
# A task's zone may also be "callee": its hours are read on each number's own clock.
TaskTimeZone = Annotated[str, AfterValidator(_checked(lambda v, f: check_timezone(v, f, callee=True)))]


_INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}")


def _numeric_text(v: object) -> object:
    """``"0"`` → 0: clients of these APIs send integers as strings (pydantic's own lax
    rule covers plain ``int`` fields, not the ``Literal`` choices)."""
    if isinstance(v, str) and _INTEGER_TEXT.fullmatch(text := v.strip()):
        return int(text)
    return v


Numeric = BeforeValidator(_numeric_text)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, v: object) -> object:
        # PostgreSQL text cannot hold NUL; refuse it here with the field's name.
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("contains a NUL character")
        return v


# -- seed 000: task ------------------------------------------------------------
# Each rule of a task field is stated once, as a type; the API's create and
# update and `eslbridge apply` differ only in which fields they require.
Remark = Annotated[str, Field(max_length=500)]
MaximumCall = Annotated[int, Numeric, Field(ge=1, le=100_000)]
Timeout = Annotated[int, Numeric, Field(ge=1, le=600)]
PauseSecond = Annotated[int, Numeric, Field(ge=0, le=3600)]
RuleId = Annotated[int, Numeric, Field(gt=0)]
# An int names the tenant's outbound (script) group; a string is a dialplan extension.
Extension = Annotated[int | str, AfterValidator(_checked(lambda v, f: v if isinstance(v, int) else check_token(v, f)))]
NotifyUrl = Annotated[str, Field(max_length=MAX_URL_CHARS)]
Switch = Annotated[Literal[0, 1], Numeric]
NotifyType = Annotated[Literal[0, 1, 2], Numeric]
RecycleLimit = Annotated[Literal[0], Numeric]
CallsPerSecond = Annotated[float, Field(gt=0, le=10_000)]
Sort = Annotated[int, Numeric, Field(ge=-1_000_000, le=1_000_000)]
Label = Annotated[str, Field(max_length=255)]


def _id_text(v: object) -> object:
    """Seed 001 gives a number group's id as a string (``"1070678044124225"``); an integer is taken too."""
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


NumberGroupRef = Annotated[str, BeforeValidator(_id_text), Field(pattern=r"^[0-9]{1,18}$")]


def _notify_url(v: str | None) -> str | None:
    """The notifier's own reading of a target: what is sure to be refused at delivery is refused here."""
    if v:
        try:
            check_written(v, WEBHOOK_ALLOW_NETS)
        except TargetRefused as exc:
            raise ValueError(str(exc)) from None
    return v


class TaskIn(Strict):
    """POST /v1/task (every field of the seed)."""

    name: Name
    remark: Remark = ""
    caller_line_id: uuid.UUID
    customer_service_id: RuleId | None = None
    destination_extension: Extension
    disable_dial_timegroup: uuid.UUID
    maximumcall: MaximumCall
    random_assignment_number: Switch
    recycle_limit: RecycleLimit = Field(description="deprecated; must be 0 (use auto_recycle_rule_id)")
    originate_timeout: Timeout = Field(alias="_originate_timeout")
    call_pause_second: PauseSecond
    auto_recycle_rule_id: RuleId | None = Field(
        default=None, description="the retry rule; none: the tenant's default rule (is_default), if any")
    destination_dialplan: Dialplan = "XML"
    destination_context: Context = "default"
    originate_variables: OriginateVariables = "{execute_on_media=start_da2}"
    dial_format: DialFormat | None = None
    origination_caller_id_number: CallerId | None = Field(default=None, alias="_origination_caller_id_number")
    call_notify_url: Annotated[NotifyUrl, AfterValidator(_notify_url)] = ""
    call_notify_type: NotifyType = Field(default=2, description="0 none, 1 calls not answered, 2 every call")
    timezone: TaskTimeZone | None = Field(default=None, max_length=64)
    fallback_timezone: TimeZone | None = Field(default=None, max_length=64)
    recall_abandoned: bool = False
    call_per_second: CallsPerSecond | None = Field(default=None, description="the task's calls-per-second cap")
    sort: Sort = Field(default=0, description="informational")
    domain: Label | None = Field(default=None, description="informational")
    scheduling_policy_ratio: float | None = Field(default=None, ge=0, le=1_000_000, description="informational")
    scheduling_queue: Label | None = Field(default=None, description="informational")
    outbound_number_group_id: NumberGroupRef | None = Field(
        default=None, description="a number group of the tenant: the calls show its caller ids")
    strategy_display_switch: bool = Field(
        default=False, description="with a number group: the caller id that best fits the callee; off: in turn")


# What GET /v1/task returns beside the writable fields: a client may send a task
# back as it read it, and PUT ignores these (any other unknown field is refused).
TASK_READ_ONLY = frozenset({
    "uuid", "taskId", "user_id", "start", "start_str", "group_str", "create_datetime", "alter_datetime",
    "progress_bar", "plan_error", "hold_reason", "group", "caller_line", "auto_recycle_rule", "disable_time_group",
})


class TaskPatch(Strict):
    """PUT /v1/task/{id}: the creation fields, each optional; a task as GET returned it is accepted
    (its read-only fields are ignored)."""

    name: Name | None = None
    remark: Remark | None = None
    caller_line_id: uuid.UUID | None = None
    customer_service_id: RuleId | None = None
    destination_extension: Extension | None = None
    disable_dial_timegroup: uuid.UUID | None = None
    maximumcall: MaximumCall | None = None
    random_assignment_number: Switch | None = None
    recycle_limit: RecycleLimit | None = None
    originate_timeout: Timeout | None = Field(default=None, alias="_originate_timeout")
    call_pause_second: PauseSecond | None = None
    auto_recycle_rule_id: RuleId | None = None
    destination_dialplan: Dialplan | None = None
    destination_context: Context | None = None
    originate_variables: OriginateVariables | None = None
    dial_format: DialFormat | None = None
    origination_caller_id_number: CallerId | None = Field(default=None, alias="_origination_caller_id_number")
    call_notify_url: Annotated[NotifyUrl, AfterValidator(_notify_url)] | None = None
    call_notify_type: NotifyType | None = None
    timezone: TaskTimeZone | None = Field(default=None, max_length=64)
    fallback_timezone: TimeZone | None = Field(default=None, max_length=64)
    recall_abandoned: bool | None = None
    call_per_second: CallsPerSecond | None = None
    sort: Sort | None = None
    domain: Label | None = None
    scheduling_policy_ratio: float | None = Field(default=None, ge=0, le=1_000_000)
    scheduling_queue: Label | None = None
    outbound_number_group_id: NumberGroupRef | None = None
    strategy_display_switch: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in TASK_READ_ONLY}
        return data

    # Null empties what may be empty (dial_format, caller id, references: the line's or none);
    # these columns cannot be.
    @field_validator("name", "remark", "caller_line_id", "destination_extension", "maximumcall",
                     "random_assignment_number", "recycle_limit", "originate_timeout", "call_pause_second",
                     "destination_dialplan", "destination_context", "originate_variables", "call_notify_url",
                     "call_notify_type", "sort", "strategy_display_switch", "recall_abandoned")
    @classmethod
    def _not_null(cls, v: object) -> object:
        if v is None:
            raise ValueError("may not be null")
        return v


def _json_number(v: object) -> object:
    """The seed's import sends phones as JSON numbers (``{"phone": 18611228822}``)."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise ValueError("a phone number cannot be negative")
        return str(v)
    return v


Phone = Annotated[str, BeforeValidator(_json_number), Field(min_length=1, max_length=40)]


class Customer(Strict):
    phone: Phone


class ImportIn(Strict):
    customer_info_list: list[Customer] = Field(min_length=1, max_length=100_000)


_LOOSE_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


def _loose_date(v: object) -> object:
    """The seed writes import dates unpadded (``"2020-3-10"``)."""
    if isinstance(v, str) and (m := _LOOSE_DATE.fullmatch(v.strip())):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ValueError(f"{v[:20]!r} is not a date") from None
    return v


class NumberResetIn(Strict):
    status: list[Annotated[int, Numeric]] | None = Field(default=None, max_length=20)
    created_at: list[Annotated[date, BeforeValidator(_loose_date)]] | None = Field(
        default=None, min_length=2, max_length=2, description="import dates [from, to], both included")
    keyword: Phone | None = Field(default=None, description="one number, matched exactly as the task's line stores it")

    @field_validator("status")
    @classmethod
    def _final(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(s < 10 or s > 18 for s in v):
            raise ValueError("only final statuses (10–18) can be reset")
        return v

    @field_validator("created_at")
    @classmethod
    def _ordered(cls, v: list[date] | None) -> list[date] | None:
        if v is not None and v[1] < v[0]:
            raise ValueError("the second date is before the first")
        return v


# -- seed 000: other resources ---------------------------------------------------
class LineIn(Strict):
    name: Name
    dial_string: DialFormat
    call_number: CallerId = ""
    call_line: Annotated[int, Numeric, Field(ge=0, le=100_000)]
    node: Token = "fs1"
    cps: float | None = Field(default=None, gt=0, le=10_000)
    begin_at: datetime | None = None
    deadline_at: datetime | None = None
    description: str = Field(default="", max_length=500)
    number_format: NumberFormat = Field(
        default="national", description="national (trunk prefix kept; other countries +E.164), e164, or digits (3-20)")
    call_number_prefix: Annotated[str, Field(pattern=r"^\+?[0-9]{0,16}$")] = Field(
        default="", description="prepended to the caller id of the line's calls")
    is_call_number_enable: Switch = Field(default=1, description="1: the line's calls carry a caller id; 0: none")
    is_call_number_prefix_editable: Switch = Field(default=0, description="informational")
    dial_string_mode: Annotated[int, Numeric] | None = Field(default=None, description="informational")
    available_time: Annotated[int, Numeric, Field(ge=0)] | None = Field(default=None, description="informational (seconds)")
    feature: Annotated[int, Numeric] | None = Field(default=None, description="informational")


class RangeIn(Strict):
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1)
    # `start`/`end`: the spelling of `eslbridge apply` files
    start_time: time = Field(validation_alias=AliasChoices("start_time", "start"))
    end_time: time = Field(validation_alias=AliasChoices("end_time", "end"))


class TimeGroupIn(Strict):
    name: Name
    ranges: list[RangeIn] = Field(default_factory=list, max_length=100)


class RuleEntryIn(Strict):
    status: int = Field(ge=11, le=18)
    interval_min: float = Field(ge=0, le=100_000)
    times: int = Field(ge=0, le=100)


def _distinct(field: str, label: str) -> Callable[[list[Any] | None], list[Any] | None]:
    """A list validator: no two items with the same ``field`` (named ``label`` in the error)."""
    def check(v: list[Any] | None) -> list[Any] | None:
        seen: set[Any] = set()
        for item in v or []:
            key = getattr(item, field)
            if key in seen:
                raise ValueError(f"{label} {key} appears twice")
            seen.add(key)
        return v
    return check


_distinct_statuses = _distinct("status", "status")


class RuleIn(Strict):
    name: Name
    remark: str = Field(default="", max_length=500)
    status: bool = True
    is_default: bool = False
    max_attempts: int = Field(default=3, ge=1, le=100)
    entries: Annotated[list[RuleEntryIn], AfterValidator(_distinct_statuses)] = Field(default_factory=list, max_length=20)


class GroupIn(Strict):
    name: Name
    debug: bool = False
    tag_scene_id: uuid.UUID | None = None
    is_default: bool = Field(default=False, alias="default")


def _queue(v: str | None) -> str | None:
    if v is not None and not QUEUE_RE.fullmatch(v):
        raise ValueError("must name a mod_callcenter queue, e.g. sales@default")
    return v


class CustomerServiceIn(Strict):
    """A skill group: agents in one mod_callcenter queue (seed 000 customer service, seed 001 skillSetId)."""

    name: Name
    status: Switch = 1
    caller_line_id: uuid.UUID | None = None
    queue: Annotated[str | None, AfterValidator(_queue)] = None


def _plain_number(v: object) -> object:
    """A group's number may be given alone (``"01012345678"``) instead of ``{caller_id, daily_cap}``."""
    if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
        return {"caller_id": str(v)}
    return v


class GroupNumberIn(Strict):
    """One caller id of a number group: what the originate accepts as a caller id."""

    caller_id: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_checked(check_caller_id))]
    daily_cap: Annotated[int, Numeric, Field(ge=1, le=10_000_000)] | None = Field(
        default=None, description="calls a day; none: no cap")


_distinct_caller_ids = _distinct("caller_id", "caller id")


MAX_GROUP_NUMBERS = 10_000


class NumberGroupIn(Strict):
    """A caller-id number group (seed 001 ``outboundNumberGroupId``): the caller ids a task shows."""

    name: Name
    description: str = Field(default="", max_length=500)
    timezone: TimeZone | None = Field(default=None, max_length=64,
                                      description="the day of the daily caps (none: the database's time zone)")
    numbers: Annotated[list[Annotated[GroupNumberIn, BeforeValidator(_plain_number)]],
                       AfterValidator(_distinct_caller_ids)] = Field(default_factory=list, max_length=MAX_GROUP_NUMBERS)


class TagSceneIn(Strict):
    name: Name
    description: str = Field(default="", max_length=500)


class TagGroupIn(Strict):
    name: Name
    scene_id: uuid.UUID


class TagIn(Strict):
    name: Name
    group_id: int = Field(gt=0)
    description: str = Field(default="", max_length=500)


# -- seed 001: call-centre edit ---------------------------------------------------
class ExecTime(Strict):
    taskExecTimeStartStr: time
    taskExecTimeEndStr: time


class PhoneGroup(Strict):
    name: str = Field(min_length=1, max_length=100)
    identify: str = Field(default="default", min_length=1, max_length=100)
    autoOutboundSwitch: Switch = 0
    autoOutboundInterval: int | None = Field(default=None, ge=5, le=2880)
    autoOutboundTimes: int | None = Field(default=None, ge=1, le=3)

    @model_validator(mode="after")
    def _retry(self) -> PhoneGroup:
        if self.autoOutboundSwitch == 1 and (self.autoOutboundInterval is None or self.autoOutboundTimes is None):
            raise ValueError("autoOutboundInterval and autoOutboundTimes are required when autoOutboundSwitch is 1")
        return self


class OutboundEdit(Strict):
    """POST /speech/openapi/v1/task/outbound/edit; which fields may change depends on the task's state."""

    taskId: int = Field(gt=0)
    taskName: str | None = Field(default=None, min_length=1, max_length=50)
    taskExecStartDate: date | None = None
    taskExecEndDate: date | None = None
    taskExecTimes: list[ExecTime] | None = Field(default=None, min_length=1, max_length=10)
    taskDesc: str | None = Field(default=None, max_length=500)
    skillSetId: str | None = Field(default=None, max_length=64)
    outboundNumberGroupId: str = Field(min_length=1, max_length=64)
    strategyDisplaySwitch: bool
    sendNumberStrategy: Switch
    multiplyPower: int | None = Field(default=None, gt=0, le=100)
    abandonmentRate: int | None = Field(default=None, ge=1, le=5)
    outboundPhoneGroups: list[PhoneGroup] = Field(min_length=1, max_length=1)
    maxRingingDuration: int | None = Field(default=None, ge=20, le=50)
    acw: int | None = Field(default=None, ge=1, le=180)

    @model_validator(mode="after")
    def _strategy(self) -> OutboundEdit:
        if self.sendNumberStrategy == 0 and self.multiplyPower is None:
            raise ValueError("multiplyPower is required when sendNumberStrategy is 0")
        if self.sendNumberStrategy == 1 and self.abandonmentRate is None:
            raise ValueError("abandonmentRate is required when sendNumberStrategy is 1")
        if self.taskExecStartDate and self.taskExecEndDate and self.taskExecEndDate < self.taskExecStartDate:
            raise ValueError("taskExecEndDate is before taskExecStartDate")
        return self


NOT_STARTED_REQUIRED = ("taskName", "taskExecStartDate", "taskExecEndDate", "taskExecTimes", "skillSetId",
                        "maxRingingDuration", "acw")
NOT_STARTED_ONLY = NOT_STARTED_REQUIRED + ("taskDesc",)


# -- compliance: do-not-call lists and the tenant's policy ----------------------------------------
class DncListIn(Strict):
    name: Name
    description: str = Field(default="", max_length=500)


class DncEntryIn(Strict):
    phone: str = Field(min_length=1, max_length=40)
    expires_at: datetime | None = None  # without an offset: the server's clock
    reason: str | None = Field(default=None, max_length=200)


class DncEntriesIn(Strict):
    entries: list[DncEntryIn] = Field(min_length=1, max_length=100_000)


class DncRemoveIn(Strict):
    phones: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=100_000)


class PolicyIn(Strict):
    """PUT /v1/compliance: the tenant's whole policy (a field left out takes its default)."""

    calling_hours: tuple[time, time] | None = Field(
        default=None, description="[start, end): no call outside these hours of the callee's local time, e.g. "
                                  "[\"08:00\", \"21:00\"]; null: none")
    max_attempts_day: int | None = Field(default=None, ge=1, le=1000)
    max_attempts_week: int | None = Field(default=None, ge=1, le=10_000)
    abandoned_rest_h: int = Field(default=72, ge=0, le=720)

    @field_validator("calling_hours")
    @classmethod
    def _not_empty(cls, v: tuple[time, time] | None) -> tuple[time, time] | None:
        if v is not None and v[0] == v[1]:
            raise ValueError("start and end are the same time")
        return v
