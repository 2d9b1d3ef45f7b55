"""Task routes of seed 000 (`/v1/task…`) and seed 001's edit call."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import falcon
import psycopg

from ..esl.originate import OriginateError
from ..phones import Normaliser
from ..plan import plan_task
from ..store import imports, plans, resources
from ..store import tasks as task_store
from ..store.db import Database
from .cache import CostlyResults
from .models import (
    NOT_STARTED_ONLY,
    NOT_STARTED_REQUIRED,
    POLICY,
    ImportIn,
    NumberResetIn,
    OutboundEdit,
    TaskIn,
    TaskPatch,
)
from .web import (
    ApiError,
    Registry,
    bad,
    conflict,
    dumps,
    not_found,
    ok,
    parse,
    path_uuid,
    query_int,
)

START_STR = {0: "暂停", 1: "开启"}  # the seed's "paused" / "running"
MAX_RECYCLE_LIMIT = 50
# Columns as seed 001's edit call names them, for its error messages.
SEED_001_FIELDS = {"skill_set_id": "skillSetId", "multiply_power": "multiplyPower", "abandonment_rate": "abandonmentRate",
                   "_originate_timeout": "maxRingingDuration", "name": "taskName", "daily_windows": "taskExecTimes",
                   "date_end": "taskExecEndDate", "outbound_number_group_id": "outboundNumberGroupId",
                   "number_group.timezone": "outboundNumberGroupId"}


# -- entities (the seed's shapes) ------------------------------------------------------
def group_entity(g: dict[str, Any] | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"id": g["id"], "name": g["name"], "user_id": g["user_id"], "debug": bool(g["debug"]), "deleted_at": None,
            "created_at": g["created_at"], "updated_at": g["updated_at"], "link_word_group_id": None,
            "tag_scene_id": g["tag_scene_id"], "default": g["is_default"]}


def line_entity(ln: dict[str, Any] | None) -> dict[str, Any] | None:
    if ln is None:
        return None
    return {"id": ln["id"], "name": ln["name"], "user_id": ln["user_id"], "description": ln["description"],
            "begin_at": ln["begin_at"], "deadline_at": ln["deadline_at"], "available_time": ln["available_time"],
            "call_line": ln["call_line"], "call_line_used": int(ln["call_line_used"]), "residue": int(ln["residue"]),
            "call_number": ln["call_number"], "call_number_prefix": ln["call_number_prefix"],
            "is_call_number_enable": ln["is_call_number_enable"],
            "is_call_number_prefix_editable": ln["is_call_number_prefix_editable"], "dial_string": ln["dial_string"],
            "dial_string_mode": ln["dial_string_mode"], "number_format": ln["number_format"],
            "db_public_id": None, "db_private_id": None, "node_ip": ln["node"], "node": ln["node"],
            "node_status": ln["node_status"], "cps": ln["cps"], "created_at": ln["created_at"],
            "updated_at": ln["updated_at"], "feature": ln["feature"]}


def rule_entity(r: dict[str, Any] | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"id": r["id"], "user_id": r["user_id"], "name": r["name"], "remark": r["remark"], "status": bool(r["status"]),
            "is_default": bool(r["is_default"]), "max_attempts": r["max_attempts"], "created_at": r["created_at"],
            "updated_at": r["updated_at"]}


def timegroup_entity(g: dict[str, Any] | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"uuid": g["id"], "name": g["name"], "domain": "", "user_id": g["user_id"], "created_at": g["created_at"],
            "updated_at": g["updated_at"]}


def task_entity(t: dict[str, Any], nested: bool) -> dict[str, Any]:
    line = t.get("caller_line") or {}
    ext = t["destination_extension"]
    out = {
        "uuid": t["uuid"], "taskId": t["seq"], "name": t["name"], "remark": t["remark"], "start": t["start"],
        "start_str": START_STR[t["start"]], "maximumcall": t["maximumcall"], "call_per_second": t["call_per_second"],
        "recycle_limit": t["recycle_limit"], "random_assignment_number": t["random_assignment_number"],
        "call_pause_second": t["call_pause_second"], "_originate_timeout": t["_originate_timeout"],
        "_origination_caller_id_number": t["_origination_caller_id_number"] or line.get("call_number"),
        "dial_format": t["dial_format"] or line.get("dial_string"),
        "destination_extension": int(ext) if ext.isdigit() else ext,
        "destination_dialplan": t["destination_dialplan"], "destination_context": t["destination_context"],
        "scheduling_policy_ratio": t["scheduling_policy_ratio"], "scheduling_queue": t["scheduling_queue"],
        "domain": t["domain"], "sort": t["sort"],
        "outbound_number_group_id": t["outbound_number_group_id"], "strategy_display_switch": t["strategy_display_switch"],
        "originate_variables": t["originate_variables"], "disable_dial_timegroup": t["disable_dial_timegroup"],
        "caller_line_id": t["caller_line_id"], "customer_service_id": t["customer_service_id"],
        "auto_recycle_rule_id": t["auto_recycle_rule_id"], "call_notify_url": t["call_notify_url"],
        "call_notify_type": t["call_notify_type"], "user_id": t["user_id"], "timezone": t["timezone"],
        "fallback_timezone": t.get("fallback_timezone"), "recall_abandoned": t.get("recall_abandoned", False),
        "create_datetime": t["created_at"], "alter_datetime": t["updated_at"],
        "group_str": (t.get("group") or {}).get("name", ""), "progress_bar": t["progress_bar"],
        "plan_error": t.get("plan_error"),  # why the engine cannot dial it (rows written with SQL)
        "group": group_entity(t.get("group")),
    }
    if nested:
        out["caller_line"] = line_entity(t.get("caller_line"))
        out["auto_recycle_rule"] = rule_entity(t.get("auto_recycle_rule"))
        out["disable_time_group"] = timegroup_entity(t.get("disable_time_group"))
    return out


def progress_ttl(p: dict[str, Any] | None) -> float:
    """Seconds a task's progress may be reused: none below 50,000 numbers (a count
    under ~10 ms), then 1 s per 200,000 numbers, at least 1 s (5 s for a million)."""
    if p is None or p["total"] < 50_000:
        return 0.0
    return max(1.0, float(p["total"]) / 200_000)


def register(api: Registry, db: Database, phones: Normaliser) -> None:
    def load_task(conn: psycopg.Connection[Any], user: str, task_id: Any, nested: bool = False) -> dict[str, Any]:
        rows, _ = task_store.task_rows(conn, user, [task_id])
        if not rows:
            raise not_found("task")
        return task_entity(rows[0], nested)

    def check_refs(conn: psycopg.Connection[Any], user: str, body: TaskIn | TaskPatch, task_id: Any = None,
                   current: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Every referenced resource must be the caller's own; concurrency must fit the line.
        Returns the task's line (with its residue)."""
        line_id = body.caller_line_id or (current or {}).get("caller_line_id")
        lines = task_store.lines_with_residue(conn, user, line_id) if line_id else []
        if line_id and not lines:
            raise bad("caller_line_id: no such line")
        maximumcall = body.maximumcall if body.maximumcall is not None else (current or {}).get("maximumcall")
        if lines and maximumcall is not None:
            # The seed's residue: the line's total minus calls live on it now; a task's own
            # live calls do not count against its update.
            limit = int(lines[0]["residue"]) + (task_store.live_calls(conn, task_id) if task_id else 0)
            if maximumcall > limit:
                raise bad(f"maximumcall: {maximumcall} exceeds the line's residue ({max(limit, 0)})")
        ext = body.destination_extension
        if current is not None and ext is not None and str(ext) == current["destination_extension"]:
            ext = None  # unchanged (GET shows a digit-only extension as a number)
        problem = resources.task_reference_problem(
            conn, user, disable_dial_timegroup=body.disable_dial_timegroup,
            auto_recycle_rule_id=body.auto_recycle_rule_id, customer_service_id=body.customer_service_id,
            destination_extension=ext)
        if problem:
            raise bad(problem)
        return lines[0] if lines else None

    def check_plan(conn: psycopg.Connection[Any], task_id: Any, names: dict[str, str] | None = None) -> None:
        """The written task must plan, by the rule the dialer uses (its line's settings included).
        ``names``: the request's own words for columns (seed 001's field names)."""
        rows = plans.plan_rows(conn, [task_id])
        try:
            plan_task(rows[0], POLICY)
        except OriginateError as exc:
            field = (names or {}).get(exc.field, exc.field)
            raise bad(f"{field}: {exc.reason}") from None

    def columns(body: TaskIn | TaskPatch, partial: bool) -> dict[str, Any]:
        data = body.model_dump(exclude_unset=partial, by_alias=False)
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "originate_timeout":
                out["_originate_timeout"] = value
            elif key == "origination_caller_id_number":
                out["_origination_caller_id_number"] = value
            elif key == "destination_extension" and value is not None:
                out[key] = str(value)
            else:
                out[key] = value
        return out

    def echoed(values: dict[str, Any], current: dict[str, Any], line: dict[str, Any] | None) -> dict[str, Any]:
        """A task sent back as GET showed it: a dial format or caller id that GET took from the
        line (the task names none) stays the line's, so the task follows later changes of it."""
        for column, line_column in (("dial_format", "dial_string"), ("_origination_caller_id_number", "call_number")):
            if (column in values and current[column] is None and line is not None
                    and current["caller_line_id"] == line["id"] and values[column] == line[line_column]):
                del values[column]
        return values

    @api.add("GET", "/v1/task/create", "Task creation options: usable lines with residue, time groups, rules, groups")
    def options(req: falcon.Request, resp: falcon.Response) -> None:
        user = req.context.user
        with db.connection() as conn:
            opts = task_store.creation_options(conn, user)
        now = datetime.now().astimezone()
        usable = [ln for ln in opts["lines"] if int(ln["residue"]) >= 1 and (ln["deadline_at"] is None or ln["deadline_at"] > now)
                  and (ln["begin_at"] is None or ln["begin_at"] <= now)]
        groups, rules, cs, og = opts["time_groups"], opts["rules"], opts["customer_service"], opts["outbound_groups"]
        ok(resp, {
            "enum_disable_dial_timegroup": [{"uuid": g["id"], "name": g["name"]} for g in groups],
            "caller_line_list": [{"name": ln["name"], "value": ln["id"], "residue": int(ln["residue"]), "call_line": ln["call_line"],
                                  "available_at": ln["begin_at"], "call_number": ln["call_number"]} for ln in usable],
            "max_recycle_limit": MAX_RECYCLE_LIMIT,
            "auto_recycle_rules": [{"id": r["id"], "name": r["name"], "remark": r["remark"], "status": bool(r["status"])} for r in rules],
            "customer_service": [{"id": c["id"], "user_id": c["user_id"], "name": c["name"], "created_at": c["created_at"],
                                  "updated_at": c["updated_at"], "caller_line_id": c["caller_line_id"], "status": c["status"]} for c in cs],
            "outbound_group": [group_entity(g) for g in og],
        }, "获取创建任务选项成功")

    @api.add("POST", "/v1/task", "Create a task", body=TaskIn)
    def create(req: falcon.Request, resp: falcon.Response) -> None:
        body: TaskIn = parse(TaskIn, req)
        user = req.context.user
        try:
            with db.transaction() as conn:
                check_refs(conn, user, body)
                task_id = task_store.insert_task(conn, user, columns(body, partial=False))
                check_plan(conn, task_id)
                entity = load_task(conn, user, task_id)
        except psycopg.errors.UniqueViolation:
            raise bad("name: a task with this name already exists") from None
        ok(resp, entity, "创建任务成功")

    @api.add("GET", "/v1/task", "List tasks (paged; filter by name and start)",
             query={"page": "page number, from 1", "page_size": "rows per page (1–100)", "name": "name contains", "start": "0 paused, 1 running"})
    def list_tasks(req: falcon.Request, resp: falcon.Response) -> None:
        page = query_int(req, "page", 1, 1, 1_000_000)
        size = query_int(req, "page_size", 20, 1, 100)
        start = query_int(req, "start", None, 0, 1)
        name = req.get_param("name")
        with db.connection() as conn:
            rows, total = task_store.task_rows(conn, req.context.user, name=name, start=start, page=page or 1, size=size or 20)
        resp.context.total = total
        # The seed's `data` is the array of tasks; the paging figures stand beside it.
        ok(resp, [task_entity(r, True) for r in rows], "获取任务列表成功",
           beside={"total": total, "page": page, "page_size": size})

    @api.add("GET", "/v1/task/{task_id}", "One task, with what the list nests")
    def get_task(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        with db.connection() as conn:
            ok(resp, load_task(conn, req.context.user, path_uuid(task_id, "task"), nested=True))

    @api.add("PUT", "/v1/task/{task_id}", "Update a task (fields as creation, all optional)", body=TaskPatch)
    def update(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        body: TaskPatch = parse(TaskPatch, req)
        user = req.context.user
        try:
            with db.transaction() as conn:
                current = task_store.task_owned(conn, user, tid, lock=True)
                if current is None:
                    raise not_found("task")
                line = check_refs(conn, user, body, tid, current)
                task_store.update_task(conn, user, tid, echoed(columns(body, partial=True), current, line))
                check_plan(conn, tid)
                entity = load_task(conn, user, tid)
        except psycopg.errors.UniqueViolation:
            raise bad("name: a task with this name already exists") from None
        ok(resp, entity, "修改任务成功")

    def destroy(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        with db.transaction() as conn:
            result = task_store.delete_task(conn, tid, req.context.user)
        if result == "not_found":
            raise not_found("task")
        if result == "in_flight":
            raise conflict("task has calls in flight; stop it and retry when they have ended")
        ok(resp, None, "删除任务成功")

    api.add("GET", "/v1/task/destroy/{task_id}", "Delete a task (refused while calls are in flight)")(destroy)
    api.add("DELETE", "/v1/task/{task_id}", "Delete a task (refused while calls are in flight)")(destroy)

    def set_start(value: int) -> Any:
        def handler(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
            tid = path_uuid(task_id, "task")
            with db.transaction() as conn:
                if not task_store.set_task_start(conn, tid, value, req.context.user):
                    raise not_found("task")
            ok(resp, None, "启动任务成功" if value else "暂停任务成功")

        return handler

    api.add("GET", "/v1/task/start/{task_id}", "Start a task")(set_start(1))
    api.add("GET", "/v1/task/stop/{task_id}", "Stop a task: no new calls; calls in flight finish")(set_start(0))

    @api.add("POST", "/v1/task/import_task_customer/{task_id}", "Import numbers (up to 100,000 per request)", body=ImportIn)
    def import_numbers(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        body: ImportIn = parse(ImportIn, req)
        with db.connection() as conn:
            number_format = task_store.number_format(conn, req.context.user, tid)
        if number_format is None:
            raise not_found("task")
        normalise = phones.for_format(number_format).normalise
        good, rejected = [], []
        for i, c in enumerate(body.customer_info_list):
            phone = normalise(c.phone)
            if phone is None:
                rejected.append({"index": i, "phone": c.phone[:40], "reason": f"not a phone number ({number_format})"})
            else:
                good.append(phone)
        with db.transaction() as conn:
            if task_store.task_owned(conn, req.context.user, tid) is None:
                raise not_found("task")
            imported = imports.import_numbers(conn, tid, good, phones.region) if good else 0
        ok(resp, {"imported": imported, "duplicates": len(good) - imported, "rejected": len(rejected),
                  "rejected_rows": rejected[:1000]}, "导入号码成功")

    costly = CostlyResults(progress_ttl)  # a big task's progress is not recounted on every poll

    @api.add("GET", "/v1/task/task_progress/{task_id}", "Task progress")
    def progress(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        user = req.context.user

        def count() -> dict[str, Any] | None:
            with db.connection() as conn:
                return task_store.progress(conn, tid, user)

        p = costly.get((user, tid), count)
        if p is None:
            raise not_found("task")
        ok(resp, {"task_id": tid, "progress": {"total": p["total"], "progress": p["progress"], "percent": p["percent"]},
                  "finished": p["finished"], "in_flight": p["in_flight"], "waiting_retry": p["waiting_retry"],
                  "answered": p["answered"], "pending": p["pending"], "abandoned": p["abandoned"],
                  "error": p["error"], "held": p["held"], "call_centre": p["call_centre"]}, "获取任务进度成功")

    @api.add("PUT", "/v1/task/{task_id}/number_reset", "Reset numbers to pending (never one in flight)", body=NumberResetIn)
    def number_reset(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        body: NumberResetIn = parse(NumberResetIn, req) if req.context.body else NumberResetIn()
        since = until = None
        if body.created_at:  # whole days, both included
            since = datetime.combine(body.created_at[0], time.min).astimezone()
            until = datetime.combine(body.created_at[1] + timedelta(days=1), time.min).astimezone()
        with db.transaction() as conn:
            number_format = task_store.number_format(conn, req.context.user, tid)
            if number_format is None:
                raise not_found("task")
            keyword = None
            if body.keyword is not None:
                # "指定号码", one given number: the form the task's line stores it in, matched exactly.
                keyword = phones.for_format(number_format).keyword(body.keyword)
                if keyword is None:
                    raise bad("keyword: not a phone number")
            n = task_store.reset_numbers(conn, tid, body.status, since, until, keyword)
        ok(resp, {"reset": n}, "重呼号码成功")

    @api.add("GET", "/v1/task/{task_id}/tag", "Tag scene, tag groups and tags of the task's script group")
    def task_tags(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        with db.connection() as conn:
            data = resources.task_tags(conn, req.context.user, path_uuid(task_id, "task"))
        if data is None:
            raise not_found("task")
        ok(resp, data, "获取标签信息成功")

    @api.add("GET", "/v1/task/{task_id}/numbers", "A task's numbers (paged; filter by status)",
             query={"status": "status code", "page": "page number", "page_size": "rows per page (1–1000)"})
    def numbers(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        status = query_int(req, "status", None, 0, 18)
        page = query_int(req, "page", 1, 1, 10_000_000)
        size = query_int(req, "page_size", 100, 1, 1000)
        with db.connection() as conn:
            if task_store.task_owned(conn, req.context.user, tid) is None:
                raise not_found("task")
            rows, total = task_store.numbers_page(conn, tid, status, page or 1, size or 100)
        ok(resp, {"total": total, "page": page, "page_size": size, "list": rows})

    @api.add("POST", "/v1/task/{task_id}/numbers/csv", "Upload a CSV or text file of numbers (streamed; millions)",
             content="text/csv")
    def upload(req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tid = path_uuid(task_id, "task")
        from .upload import stream_import

        result = stream_import(db, req, tid, phones)
        ok(resp, result, "导入号码成功")

    @api.add("POST", "/speech/openapi/v1/task/outbound/edit", "Edit an auto-outbound task (call-centre open API)", body=OutboundEdit)
    def outbound_edit(req: falcon.Request, resp: falcon.Response) -> None:
        body: OutboundEdit = parse(OutboundEdit, req)
        sent = body.model_fields_set
        user = req.context.user
        with db.transaction() as conn:
            task = task_store.task_by_seq(conn, user, body.taskId)
            if task is None:
                raise ApiError(404, 404, "taskId: no such task")
            not_started = task["started_at"] is None
            if not_started:
                missing = [f for f in NOT_STARTED_REQUIRED if f not in sent or getattr(body, f) is None]
                if missing:
                    raise bad(f"{missing[0]}: required while the task has not started")
            else:
                extra = [f for f in NOT_STARTED_ONLY if f in sent]
                if extra:
                    raise bad(f"{extra[0]}: cannot be changed once the task has started")
            group = body.outboundPhoneGroups[0]
            values: dict[str, Any] = {
                "outbound_number_group_id": body.outboundNumberGroupId,
                "strategy_display_switch": body.strategyDisplaySwitch,
                "send_number_strategy": body.sendNumberStrategy,
                "multiply_power": body.multiplyPower,
                "abandonment_rate": body.abandonmentRate,
                "phone_groups": [group.model_dump()],
            }
            if not_started:
                values.update({
                    "name": body.taskName, "date_start": body.taskExecStartDate, "date_end": body.taskExecEndDate,
                    "daily_windows": [[w.taskExecTimeStartStr.strftime("%H:%M:%S"), w.taskExecTimeEndStr.strftime("%H:%M:%S")]
                                      for w in body.taskExecTimes or []],
                    "skill_set_id": body.skillSetId, "_originate_timeout": body.maxRingingDuration, "acw": body.acw,
                })
                if "taskDesc" in sent:
                    values["remark"] = body.taskDesc or ""
            try:
                with conn.transaction():
                    task_store.update_task(conn, user, task["uuid"], values)
                    check_plan(conn, task["uuid"], SEED_001_FIELDS)
            except psycopg.errors.UniqueViolation:
                raise bad("taskName: another task has this name") from None
        resp.content_type = "application/json"
        resp.data = dumps({"code": "10000", "message": "请求成功", "data": True})
