"""Request models: the seeds' field names, ranges and required fields. Unknown fields are refused."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..esl.originate import OriginateError, check_token, check_variables, dial_string

Name = Annotated[str, Field(min_length=1, max_length=100)]


def _originate_vars(v: str) -> str:
    try:
        check_variables(v)
    except OriginateError as exc:
        raise ValueError(str(exc)) from None
    return v


def _token(v: str) -> str:
    try:
        return check_token(v, "value")
    except OriginateError as exc:
        raise ValueError(str(exc)) from None


def _dial(v: str) -> str:
    try:
        dial_string(v, "1")
    except OriginateError as exc:
        raise ValueError(str(exc)) from None
    return v


def _caller_id(v: str) -> str:
    if v and not (v.lstrip("+").isdigit() and len(v) <= 32):
        raise ValueError("must be digits with an optional leading '+'")
    return v


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
class TaskIn(Strict):
    """POST /v1/task (every field of the seed; PUT takes the same, all optional)."""

    name: Name
    remark: str = Field(default="", max_length=500)
    caller_line_id: uuid.UUID
    customer_service_id: int | None = Field(default=None, gt=0)
    destination_extension: int | Annotated[str, AfterValidator(_token)]
    disable_dial_timegroup: uuid.UUID
    maximumcall: int = Field(ge=1, le=100_000)
    random_assignment_number: Literal[0, 1]
    recycle_limit: Literal[0] = Field(description="deprecated; must be 0 (use auto_recycle_rule_id)")
    originate_timeout: int = Field(alias="_originate_timeout", ge=1, le=600)
    call_pause_second: int = Field(ge=0, le=3600)
    auto_recycle_rule_id: int = Field(gt=0)
    destination_dialplan: Annotated[str, AfterValidator(_token)] = "XML"
    destination_context: Annotated[str, AfterValidator(_token)] = "default"
    originate_variables: Annotated[str, AfterValidator(_originate_vars)] = "{execute_on_media=start_da2}"
    dial_format: Annotated[str, AfterValidator(_dial)] | None = None
    origination_caller_id_number: Annotated[str, AfterValidator(_caller_id)] | None = Field(
        default=None, alias="_origination_caller_id_number"
    )
    call_notify_url: str = Field(default="", max_length=2000)
    call_notify_type: Literal[0, 1, 2] = 0
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("call_notify_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class TaskPatch(TaskIn):
    """PUT /v1/task/{id}: the creation fields, each optional."""

    name: Name | None = None  # type: ignore[assignment]
    caller_line_id: uuid.UUID | None = None  # type: ignore[assignment]
    destination_extension: int | Annotated[str, AfterValidator(_token)] | None = None  # type: ignore[assignment]
    disable_dial_timegroup: uuid.UUID | None = None  # type: ignore[assignment]
    maximumcall: int | None = Field(default=None, ge=1, le=100_000)  # type: ignore[assignment]
    random_assignment_number: Literal[0, 1] | None = None  # type: ignore[assignment]
    recycle_limit: Literal[0] | None = None  # type: ignore[assignment]
    originate_timeout: int | None = Field(default=None, alias="_originate_timeout", ge=1, le=600)  # type: ignore[assignment]
    call_pause_second: int | None = Field(default=None, ge=0, le=3600)  # type: ignore[assignment]
    auto_recycle_rule_id: int | None = Field(default=None, gt=0)  # type: ignore[assignment]
    remark: str | None = Field(default=None, max_length=500)  # type: ignore[assignment]
    destination_dialplan: Annotated[str, AfterValidator(_token)] | None = None  # type: ignore[assignment]
    destination_context: Annotated[str, AfterValidator(_token)] | None = None  # type: ignore[assignment]
    originate_variables: Annotated[str, AfterValidator(_originate_vars)] | None = None  # type: ignore[assignment]
    call_notify_url: str | None = Field(default=None, max_length=2000)  # type: ignore[assignment]
    call_notify_type: Literal[0, 1, 2] | None = None  # type: ignore[assignment]


class Customer(Strict):
    phone: str = Field(min_length=1, max_length=40)


class ImportIn(Strict):
    customer_info_list: list[Customer] = Field(min_length=1, max_length=100_000)


class NumberResetIn(Strict):
    status: list[int] | None = Field(default=None, max_length=20)
    created_at: list[date] | None = Field(default=None, min_length=2, max_length=2)
    keyword: str | None = Field(default=None, max_length=40)

    @field_validator("status")
    @classmethod
    def _final(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(s < 10 or s > 18 for s in v):
            raise ValueError("only final statuses (10–18) can be reset")
        return v


# -- seed 000: other resources ---------------------------------------------------
class LineIn(Strict):
    name: Name
    dial_string: Annotated[str, AfterValidator(_dial)]
    call_number: Annotated[str, AfterValidator(_caller_id)] = ""
    call_line: int = Field(ge=0, le=100_000)
    node: Annotated[str, AfterValidator(_token)] = "fs1"
    cps: float | None = Field(default=None, gt=0, le=10_000)
    begin_at: datetime | None = None
    deadline_at: datetime | None = None
    description: str = Field(default="", max_length=500)


class RangeIn(Strict):
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1)
    start_time: time
    end_time: time


class TimeGroupIn(Strict):
    name: Name
    ranges: list[RangeIn] = Field(default_factory=list, max_length=100)


class RuleEntryIn(Strict):
    status: int = Field(ge=11, le=18)
    interval_min: float = Field(ge=0, le=100_000)
    times: int = Field(ge=0, le=100)


def _distinct_statuses(v: list[RuleEntryIn] | None) -> list[RuleEntryIn] | None:
    seen: set[int] = set()
    for e in v or []:
        if e.status in seen:
            raise ValueError(f"status {e.status} appears twice")
        seen.add(e.status)
    return v


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


class CustomerServiceIn(Strict):
    name: Name
    status: Literal[0, 1] = 1
    caller_line_id: uuid.UUID | None = None


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
    autoOutboundSwitch: Literal[0, 1] = 0
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
    sendNumberStrategy: Literal[0, 1]
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
