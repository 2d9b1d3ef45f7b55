"""`eslbridge apply FILE`: upsert resources from YAML or JSON, validated before anything is written.

Layout (every section optional; ids are uuids the file chooses, so applying
twice updates rather than duplicates)::

    tenants: [{id, name}]
    lines: [{id, user_id, name, dial_string, call_number, call_line, node, cps, begin_at, deadline_at,
             number_format, call_number_prefix, is_call_number_enable, …}]
    time_groups: [{id, user_id, name, ranges: [{weekdays: [1..7], start: "12:00", end: "13:30"}]}]
    recycle_rules: [{id (integer), user_id, name, max_attempts, entries: [{status, interval_min, times}]}]
    outbound_groups: [{id (integer), user_id, name, debug, tag_scene_id}]
    number_groups: [{id (integer), user_id, name, description, timezone,
                     numbers: [caller id, or {caller_id, daily_cap}…]}]
    policies: [{user_id, calling_hours: ["08:00", "21:00"], max_attempts_day, max_attempts_week, abandoned_rest_h}]
    dnc_lists: [{name, user_id (absent: a global list), description, entries: [phone | {phone, expires_at, reason}]}]
    tasks: [{uuid, user_id, name, caller_line_id, destination_extension, maximumcall, …,
             outbound_number_group_id, strategy_display_switch, numbers: [phone…]}]

``destination_extension`` is as in the API: an integer names one of the tenant's
outbound (script) groups (``outbound_groups`` above, or already in the database),
as the seeds use it; a string is a dialplan extension. Numbers are stored in the
form of the task's line's ``number_format``. A number group's ``numbers`` replace
the group's (the day's counts of each caller id stay).

A do-not-call list is known by its tenant and name; the file's entries are
added to it (or take the file's expiry and reason), entries it does not name
are kept. A policy is written whole.
"""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import yaml
from pydantic import ConfigDict, Field, ValidationError

from .api import models as api
from .api.compliance import policy_values
from .dnc_import import entry_of
from .esl.originate import OriginateError
from .phones import Normaliser
from .plan import plan_task
from .store import dnc, imports, number_groups, plans, resources
from .store.db import Database
from .store.dnc import Entry

# The API's models, one per resource: `apply` adds only the ids a file chooses
# and the owning tenant, and the defaults of fields the API requires.
TenantId = Annotated[str, Field(min_length=1, max_length=64)]


class TenantIn(api.Strict):
    id: TenantId
    name: str = Field(default="", max_length=100)


class LineIn(api.LineIn):
    id: UUID
    user_id: TenantId


class TimeGroupIn(api.TimeGroupIn):
    id: UUID
    user_id: TenantId


class RuleIn(api.RuleIn):
    id: int = Field(gt=0)
    user_id: TenantId


class GroupIn(api.GroupIn):
    id: int = Field(gt=0)
    user_id: TenantId


class NumberGroupIn(api.NumberGroupIn):
    id: int = Field(gt=0, le=10**18 - 1)
    user_id: TenantId


class TaskIn(api.TaskIn):
    model_config = ConfigDict(populate_by_name=True)

    uuid: UUID
    user_id: TenantId
    start: api.Switch = 0
    disable_dial_timegroup: UUID | None = None  # type: ignore[assignment]
    maximumcall: api.MaximumCall = 1
    random_assignment_number: api.Switch = 0
    recycle_limit: api.RecycleLimit = 0
    originate_timeout: api.Timeout = Field(default=45, alias="_originate_timeout")
    call_pause_second: api.PauseSecond = 0
    originate_variables: api.OriginateVariables = ""
    date_start: date | None = None
    date_end: date | None = None
    daily_windows: list[tuple[time, time]] = Field(default_factory=list, max_length=10)
    numbers: list[str | int] = Field(default_factory=list, max_length=100_000)


class PolicyFile(api.PolicyIn):
    user_id: TenantId


class DncListFile(api.DncListIn):
    user_id: TenantId | None = None  # None: a global list
    entries: list[api.DncEntryIn | str | int] = Field(default_factory=list, max_length=1_000_000)


class Document(api.Strict):
    tenants: list[TenantIn] = Field(default_factory=list)
    lines: list[LineIn] = Field(default_factory=list)
    time_groups: list[TimeGroupIn] = Field(default_factory=list)
    recycle_rules: list[RuleIn] = Field(default_factory=list)
    outbound_groups: list[GroupIn] = Field(default_factory=list)
    number_groups: list[NumberGroupIn] = Field(default_factory=list)
    policies: list[PolicyFile] = Field(default_factory=list)
    dnc_lists: list[DncListFile] = Field(default_factory=list)
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
        raise ValueError(f"{path}: {api.validation_message(exc)}") from None


def dnc_entries(phones: Normaliser, raw: list[api.DncEntryIn | str | int], where: str) -> list[Entry]:
    """The file's entries in the stored number form; raises ValueError naming the first bad one."""
    out = []
    for k, item in enumerate(raw):
        if isinstance(item, api.DncEntryIn):
            got = entry_of(phones, item.phone, None, item.reason)
            expires = item.expires_at
            if isinstance(got, Entry) and expires is not None:
                got = got._replace(expires_at=expires if expires.tzinfo else expires.astimezone())
        else:
            got = entry_of(phones, str(item), None, None)
        if not isinstance(got, Entry):
            raise ValueError(f"{where}.{k}: {got}")  # noqa: TRY004 (bad input: apply's ValueError)
        out.append(got)
    return out


def apply_file(db: Database, path: str | Path, region: str = "CN") -> list[tuple[str, str]]:
    doc = load(path)
    normaliser = Normaliser(region)
    done: list[tuple[str, str]] = []
    with db.transaction() as conn:
        for tenant in doc.tenants:
            resources.upsert(conn, "tenant", "id", tenant.model_dump())
            done.append(("tenant", tenant.id))
        for ln in doc.lines:
            resources.upsert(conn, "caller_line", "id", ln.model_dump())
            done.append(("line", str(ln.id)))
        for g in doc.time_groups:
            resources.upsert(conn, "disable_dial_timegroup", "id", {"id": g.id, "user_id": g.user_id, "name": g.name})
            resources.set_ranges(conn, g.id, [r.model_dump() for r in g.ranges])
            done.append(("time_group", str(g.id)))
        for r in doc.recycle_rules:
            rule = r.model_dump(exclude={"entries"})
            resources.upsert(conn, "auto_recycle_rule", "id", {**rule, "status": int(r.status), "is_default": int(r.is_default)})
            resources.set_entries(conn, r.id, [e.model_dump() for e in r.entries])
            done.append(("recycle_rule", str(r.id)))
        for og in doc.outbound_groups:
            resources.upsert(conn, "outbound_group", "id", {**og.model_dump(), "debug": int(og.debug)})
            done.append(("outbound_group", str(og.id)))
        for ng in doc.number_groups:
            resources.upsert(conn, "number_group", "id", ng.model_dump(exclude={"numbers"}))
            number_groups.replace_group_numbers(conn, ng.id, [n.model_dump() for n in ng.numbers])
            done.append(("number_group", f"{ng.id} ({len(ng.numbers)} numbers)"))
        if doc.number_groups:
            number_groups.ids_past(conn)
        for pol in doc.policies:
            dnc.set_policy(conn, pol.user_id, policy_values(pol))
            done.append(("policy", pol.user_id))
        for i, d in enumerate(doc.dnc_lists):
            entries = dnc_entries(normaliser, d.entries, f"dnc_lists.{i}.entries")
            lst = dnc.create_list(conn, d.user_id, d.name, d.description)
            counts = dnc.add_entries(conn, lst["id"], entries)
            owner = d.user_id or "(global)"
            done.append(("dnc_list", f"{owner}/{d.name} (+{counts['added']} entries, {counts['changed']} changed)"))
        for i, t in enumerate(doc.tasks):
            where = f"tasks.{i}"
            line = resources.owned(conn, "caller_line", "id", t.caller_line_id, t.user_id)
            if line is None:
                raise ValueError(f"{where}.caller_line_id: no such line for tenant {t.user_id}")
            if t.maximumcall > line["call_line"]:
                raise ValueError(f"{where}.maximumcall: {t.maximumcall} exceeds the line's call_line {line['call_line']}")
            problem = resources.task_reference_problem(
                conn, t.user_id, disable_dial_timegroup=t.disable_dial_timegroup,
                auto_recycle_rule_id=t.auto_recycle_rule_id, customer_service_id=t.customer_service_id,
                destination_extension=t.destination_extension)
            if problem:  # the API's words, after the task's place in the file
                raise ValueError(f"{where}.{problem}")
            row = t.model_dump(exclude={"numbers", "originate_timeout", "origination_caller_id_number"})
            row["destination_extension"] = str(t.destination_extension)
            row["_originate_timeout"] = t.originate_timeout
            row["_origination_caller_id_number"] = t.origination_caller_id_number
            row["daily_windows"] = json.dumps([[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in t.daily_windows])
            resources.upsert(conn, "task", "uuid", row)
            try:  # the rule the API and the dialer use, on the row as written (line included)
                plan_task(plans.plan_rows(conn, [t.uuid])[0], api.POLICY)
            except OriginateError as exc:
                raise ValueError(f"{where}.{exc}") from None
            number_format = line["number_format"]
            normalise = normaliser.for_format(number_format).normalise
            phones = [p for p in (normalise(x) for x in t.numbers) if p]
            if len(phones) != len(t.numbers):
                raise ValueError(f"{where}.numbers: {len(t.numbers) - len(phones)} invalid phone number(s) "
                                 f"for the line's number_format {number_format}")
            added = imports.import_numbers(conn, t.uuid, phones, region) if phones else 0
            done.append(("task", f"{t.uuid} (+{added} numbers)"))
    return done
