"""`eslbridge apply FILE`: upsert resources from YAML or JSON, validated before anything is written.

Layout (every section optional; ids are uuids the file chooses, so applying
twice updates rather than duplicates)::

    tenants: [{id, name}]
    lines: [{id, user_id, name, dial_string, call_number, call_line, node, cps, begin_at, deadline_at}]
    time_groups: [{id, user_id, name, ranges: [{weekdays: [1..7], start: "12:00", end: "13:30"}]}]
    recycle_rules: [{id (integer), user_id, name, max_attempts, entries: [{status, interval_min, times}]}]
    outbound_groups: [{id (integer), user_id, name, debug, tag_scene_id}]
    tasks: [{uuid, user_id, name, caller_line_id, destination_extension, maximumcall, …, numbers: [phone…]}]
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .esl.originate import OriginateError, check_token, check_variables, dial_string
from .phones import Normaliser
from .store import api_queries as aq
from .store import queries as q
from .store.db import Database


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantIn(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = ""


class LineIn(_Model):
    id: uuid.UUID
    user_id: str
    name: str = Field(min_length=1, max_length=100)
    dial_string: str
    call_number: str = ""
    call_line: int = Field(ge=0, le=100_000)
    node: str = "fs1"
    cps: float | None = Field(default=None, gt=0)
    begin_at: datetime | None = None
    deadline_at: datetime | None = None

    @field_validator("dial_string")
    @classmethod
    def _dial(cls, v: str) -> str:
        try:
            dial_string(v, "1")
        except OriginateError as exc:
            raise ValueError(str(exc)) from None
        return v


class RangeIn(_Model):
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    start: time
    end: time

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not v or any(d < 1 or d > 7 for d in v):
            raise ValueError("weekdays are 1 (Monday) … 7 (Sunday)")
        return v


class TimeGroupIn(_Model):
    id: uuid.UUID
    user_id: str
    name: str
    ranges: list[RangeIn] = Field(default_factory=list)


class EntryIn(_Model):
    status: int = Field(ge=11, le=18)
    interval_min: float = Field(ge=0, le=100_000)
    times: int = Field(ge=0, le=100)


class RuleIn(_Model):
    id: int = Field(gt=0)
    user_id: str
    name: str
    remark: str = ""
    max_attempts: int = Field(default=3, ge=1, le=100)
    entries: list[EntryIn] = Field(default_factory=list)


class GroupIn(_Model):
    id: int = Field(gt=0)
    user_id: str
    name: str
    debug: int = 0
    tag_scene_id: uuid.UUID | None = None


class TaskIn(_Model):
    uuid: uuid.UUID
    user_id: str
    name: str = Field(min_length=1, max_length=100)
    remark: str = ""
    start: Literal[0, 1] = 0
    maximumcall: int = Field(default=1, ge=0)
    call_pause_second: int = Field(default=0, ge=0, le=3600)
    originate_timeout: int = Field(default=45, ge=1, le=600, alias="_originate_timeout")
    caller_id_number: str | None = Field(default=None, alias="_origination_caller_id_number")
    dial_format: str | None = None
    destination_extension: str
    destination_dialplan: str = "XML"
    destination_context: str = "default"
    originate_variables: str = ""
    caller_line_id: uuid.UUID
    disable_dial_timegroup: uuid.UUID | None = None
    auto_recycle_rule_id: int | None = None
    call_notify_url: str = ""
    call_notify_type: Literal[0, 1, 2] = 0
    random_assignment_number: Literal[0, 1] = 0
    recycle_limit: Literal[0] = 0
    timezone: str | None = None
    date_start: date | None = None
    date_end: date | None = None
    daily_windows: list[tuple[time, time]] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("destination_extension", "destination_dialplan", "destination_context")
    @classmethod
    def _token(cls, v: str, info: Any) -> str:
        try:
            return check_token(v, info.field_name)
        except OriginateError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("originate_variables")
    @classmethod
    def _vars(cls, v: str) -> str:
        try:
            check_variables(v)
        except OriginateError as exc:
            raise ValueError(str(exc)) from None
        return v


class Document(_Model):
    tenants: list[TenantIn] = Field(default_factory=list)
    lines: list[LineIn] = Field(default_factory=list)
    time_groups: list[TimeGroupIn] = Field(default_factory=list)
    recycle_rules: list[RuleIn] = Field(default_factory=list)
    outbound_groups: list[GroupIn] = Field(default_factory=list)
    tasks: list[TaskIn] = Field(default_factory=list)


def load(path: str | Path) -> Document:
    """Parse and validate; raises ValueError naming the field."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    try:
        return Document.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from None


def apply_file(db: Database, path: str | Path, region: str = "CN") -> list[tuple[str, str]]:
    doc = load(path)
    normaliser = Normaliser(region)
    done: list[tuple[str, str]] = []
    with db.transaction() as conn:
        for t in doc.tenants:
            aq.upsert(conn, "tenant", "id", t.model_dump())
            done.append(("tenant", t.id))
        for line in doc.lines:
            aq.upsert(conn, "caller_line", "id", line.model_dump())
            done.append(("line", str(line.id)))
        for g in doc.time_groups:
            aq.upsert(conn, "disable_dial_timegroup", "id", {"id": g.id, "user_id": g.user_id, "name": g.name})
            aq.set_ranges(conn, g.id, [{"weekdays": r.weekdays, "start_time": r.start, "end_time": r.end} for r in g.ranges])
            done.append(("time_group", str(g.id)))
        for r in doc.recycle_rules:
            aq.upsert(conn, "auto_recycle_rule", "id", r.model_dump(exclude={"entries"}))
            aq.set_entries(conn, r.id, [e.model_dump() for e in r.entries])
            done.append(("recycle_rule", str(r.id)))
        for g in doc.outbound_groups:
            aq.upsert(conn, "outbound_group", "id", g.model_dump())
            done.append(("outbound_group", str(g.id)))
        for t in doc.tasks:
            line = aq.owned(conn, "caller_line", "id", t.caller_line_id, t.user_id)
            if line is None:
                raise ValueError(f"task {t.uuid}: caller_line_id {t.caller_line_id} not found for tenant {t.user_id}")
            if t.maximumcall > line["call_line"]:
                raise ValueError(f"task {t.uuid}: maximumcall {t.maximumcall} exceeds the line's call_line {line['call_line']}")
            row = t.model_dump(exclude={"numbers", "originate_timeout", "caller_id_number"})
            row["_originate_timeout"] = t.originate_timeout
            row["_origination_caller_id_number"] = t.caller_id_number
            row["daily_windows"] = json.dumps([[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in t.daily_windows])
            aq.upsert(conn, "task", "uuid", row)
            phones = [p for p in (normaliser.normalise(x) for x in t.numbers) if p]
            if len(phones) != len(t.numbers):
                raise ValueError(f"task {t.uuid}: numbers: {len(t.numbers) - len(phones)} invalid phone number(s)")
            added = q.import_numbers(conn, t.uuid, phones) if phones else 0
            done.append(("task", f"{t.uuid} (+{added} numbers)"))
    return done
