"""CRUD routes for lines, time groups, recycle rules, script groups, agent queues, caller-id
number groups and tags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
import psycopg
from pydantic import BaseModel

from ..store import number_groups
from ..store import resources as store
from ..store import tasks as task_store
from ..store.db import Database
from ..store.resources import Table
from .models import (
    CustomerServiceIn,
    GroupIn,
    LineIn,
    NumberGroupIn,
    RuleIn,
    TagGroupIn,
    TagIn,
    TagSceneIn,
    TimeGroupIn,
)
from .web import Registry, bad, conflict, not_found, ok, parse, path_int, path_uuid, query_int


@dataclass(frozen=True)
class Spec:
    path: str
    table: Table
    model: type[BaseModel]
    label: str
    uuid_id: bool = False
    children: str | None = None  # "ranges" | "entries" | "numbers"


SPECS = [
    Spec("caller_line", Table("caller_line", order="created_at"), LineIn, "line", uuid_id=True),
    Spec("disable_dial_timegroup", Table("disable_dial_timegroup", order="created_at"), TimeGroupIn, "time group",
         uuid_id=True, children="ranges"),
    Spec("auto_recycle_rule", Table("auto_recycle_rule"), RuleIn, "recycle rule", children="entries"),
    Spec("outbound_group", Table("outbound_group"), GroupIn, "outbound group"),
    Spec("customer_service", Table("customer_service"), CustomerServiceIn, "customer service group"),
    Spec("tag_scene", Table("tag_scene", order="created_at"), TagSceneIn, "tag scene", uuid_id=True),
    Spec("number_group", Table("number_group"), NumberGroupIn, "number group", children="numbers"),
]


def register(api: Registry, db: Database) -> None:
    for spec in SPECS:
        _register_spec(api, db, spec)
    _register_tags(api, db)


def _with_children(conn: psycopg.Connection[Any], spec: Spec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if spec.children == "ranges":
        kids = store.ranges(conn, [r["id"] for r in rows])
        for r in rows:
            r["uuid"] = r["id"]
            r["ranges"] = kids.get(r["id"], [])
    elif spec.children == "entries":
        kids = store.entries(conn, [r["id"] for r in rows])
        for r in rows:
            r["entries"] = kids.get(r["id"], [])
            r["status"] = bool(r["status"])
            r["is_default"] = bool(r["is_default"])
    elif spec.children == "numbers":
        # Each caller id with its calls today (every engine's): what the daily cap is held against.
        numbers = number_groups.group_numbers(conn, [r["id"] for r in rows])
        for r in rows:
            r["numbers"] = [{"caller_id": n["caller_id"], "daily_cap": n["daily_cap"], "used_today": n["used_today"]}
                            for n in numbers.get(r["id"], [])]
    if spec.path == "outbound_group":
        for r in rows:
            r["default"] = r.pop("is_default")
            r["debug"] = bool(r["debug"])
    if spec.path == "caller_line" and rows:
        # As the task list nests a line: calls in flight, what is left, the node's ESL link.
        live = {r["id"]: r for r in task_store.lines_with_residue(conn, rows[0]["user_id"], line_ids=[r["id"] for r in rows])}
        for r in rows:
            r["node_ip"] = r["node"]
            state = live.get(r["id"]) or {"call_line_used": 0, "residue": r["call_line"], "node_status": 0}
            r["call_line_used"], r["residue"] = int(state["call_line_used"]), int(state["residue"])
            r["node_status"] = state["node_status"]
    return rows


def _values(spec: Spec, body: BaseModel, partial: bool) -> tuple[dict[str, Any], list[Any] | None]:
    data = body.model_dump(exclude_unset=partial)
    kids = data.pop(spec.children, None) if spec.children else None
    if spec.path == "auto_recycle_rule":
        for k in ("status", "is_default"):
            if k in data:
                data[k] = int(data[k])
    if spec.path == "outbound_group" and "debug" in data:
        data["debug"] = int(data["debug"])
    return data, kids


def _check_refs(conn: psycopg.Connection[Any], user: str, spec: Spec, data: dict[str, Any]) -> None:
    if data.get("caller_line_id") and not store.owned(conn, "caller_line", "id", data["caller_line_id"], user):
        raise bad("caller_line_id: no such line")
    if data.get("tag_scene_id") and not store.owned(conn, "tag_scene", "id", data["tag_scene_id"], user):
        raise bad("tag_scene_id: no such tag scene")


def _register_spec(api: Registry, db: Database, spec: Spec) -> None:
    base = f"/v1/{spec.path}"
    ident = path_uuid if spec.uuid_id else path_int
    partial_model = _partial(spec.model)

    def set_children(conn: psycopg.Connection[Any], row_id: Any, kids: list[Any] | None) -> None:
        if kids is None:
            return
        if spec.children == "ranges":
            store.set_ranges(conn, row_id, kids)
        elif spec.children == "entries":
            store.set_entries(conn, row_id, kids)
        elif spec.children == "numbers":
            number_groups.replace_group_numbers(conn, row_id, kids)

    def list_rows(req: falcon.Request, resp: falcon.Response) -> None:
        page = query_int(req, "page", 1, 1, 1_000_000) or 1
        size = query_int(req, "page_size", 20, 1, 100) or 20
        with db.connection() as conn:
            rows, total = store.list_rows(conn, spec.table, req.context.user, page, size)
            rows = _with_children(conn, spec, rows)
        ok(resp, {"total": total, "page": page, "page_size": size, "list": rows})

    def create(req: falcon.Request, resp: falcon.Response) -> None:
        body = parse(spec.model, req)
        data, kids = _values(spec, body, partial=False)
        with db.transaction() as conn:
            _check_refs(conn, req.context.user, spec, data)
            row = store.insert_row(conn, spec.table, req.context.user, data)
            set_children(conn, row["id"], kids)
            row = _with_children(conn, spec, [row])[0]
        ok(resp, row, f"{spec.label} created")

    def get_one(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        with db.connection() as conn:
            row = store.get_row(conn, spec.table, req.context.user, ident(item_id, spec.label))
            if row is None:
                raise not_found(spec.label)
            ok(resp, _with_children(conn, spec, [row])[0])

    def update(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        key = ident(item_id, spec.label)
        body = parse(partial_model, req)
        data, kids = _values(spec, body, partial=True)
        with db.transaction() as conn:
            _check_refs(conn, req.context.user, spec, data)
            row = store.update_row(conn, spec.table, req.context.user, key, data)
            if row is None:
                raise not_found(spec.label)
            set_children(conn, key, kids)
            row = _with_children(conn, spec, [row])[0]
        ok(resp, row, f"{spec.label} updated")

    def delete(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        key = ident(item_id, spec.label)
        try:
            with db.transaction() as conn:
                if not store.delete_row(conn, spec.table, req.context.user, key):
                    raise not_found(spec.label)
        except psycopg.errors.ForeignKeyViolation:  # a foreign key, or number_group's trigger
            raise conflict(f"{spec.label} is still used by a task") from None
        ok(resp, None, f"{spec.label} deleted")

    api.add("GET", base, f"List {spec.label}s (paged)", query={"page": "page number", "page_size": "rows per page"})(list_rows)
    api.add("POST", base, f"Create a {spec.label}", body=spec.model)(create)
    api.add("GET", base + "/{item_id}", f"One {spec.label}")(get_one)
    api.add("PUT", base + "/{item_id}", f"Update a {spec.label} (fields optional)", body=partial_model)(update)
    api.add("DELETE", base + "/{item_id}", f"Delete a {spec.label}")(delete)


def _partial(model: type[BaseModel]) -> type[BaseModel]:
    """The same model with every field optional (for PUT)."""
    import copy

    from pydantic import create_model

    fields: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        # Keep every constraint and validator of the field; only the default changes. The
        # type stays as it is: an explicit null for a field that cannot be empty is refused.
        optional = copy.copy(f)
        optional.default = None
        optional.default_factory = None
        fields[name] = (f.annotation, optional)
    return create_model(f"{model.__name__}Patch", __base__=model.__base__, **fields)


def _register_tags(api: Registry, db: Database) -> None:
    """Tag groups and tags belong to a tenant through their scene."""

    def scene_owned(conn: psycopg.Connection[Any], user: str, scene_id: Any) -> None:
        if store.owned(conn, "tag_scene", "id", scene_id, user) is None:
            raise bad("scene_id: no such tag scene")

    def group_owned(conn: psycopg.Connection[Any], user: str, group_id: int) -> None:
        if store.tag_group(conn, user, group_id) is None:
            raise bad("group_id: no such tag group")

    def crud(path: str, label: str, model: type[BaseModel], lister: Callable[..., Any], getter: Callable[..., Any],
             table: str, parent_check: Callable[..., None], parent_key: str) -> None:
        partial_model = _partial(model)

        def list_rows(req: falcon.Request, resp: falcon.Response) -> None:
            page = query_int(req, "page", 1, 1, 1_000_000) or 1
            size = query_int(req, "page_size", 20, 1, 100) or 20
            with db.connection() as conn:
                rows, total = lister(conn, req.context.user, page, size)
            ok(resp, {"total": total, "page": page, "page_size": size, "list": rows})

        def create(req: falcon.Request, resp: falcon.Response) -> None:
            body = parse(model, req)
            data = body.model_dump()
            with db.transaction() as conn:
                parent_check(conn, req.context.user, data[parent_key])
                row = store.insert_child_row(conn, table, data)
            ok(resp, row, f"{label} created")

        def get_one(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
            with db.connection() as conn:
                row = getter(conn, req.context.user, path_int(item_id, label))
            if row is None:
                raise not_found(label)
            ok(resp, row)

        def update(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
            key = path_int(item_id, label)
            body = parse(partial_model, req)
            data = body.model_dump(exclude_unset=True)
            with db.transaction() as conn:
                if getter(conn, req.context.user, key) is None:
                    raise not_found(label)
                if parent_key in data:
                    parent_check(conn, req.context.user, data[parent_key])
                store.update_by_id(conn, table, key, data)
                row = getter(conn, req.context.user, key)
            ok(resp, row, f"{label} updated")

        def delete(req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
            key = path_int(item_id, label)
            with db.transaction() as conn:
                if getter(conn, req.context.user, key) is None:
                    raise not_found(label)
                store.delete_by_id(conn, table, key)
            ok(resp, None, f"{label} deleted")

        api.add("GET", path, f"List {label}s (paged)", query={"page": "page number", "page_size": "rows per page"})(list_rows)
        api.add("POST", path, f"Create a {label}", body=model)(create)
        api.add("GET", path + "/{item_id}", f"One {label}")(get_one)
        api.add("PUT", path + "/{item_id}", f"Update a {label}", body=partial_model)(update)
        api.add("DELETE", path + "/{item_id}", f"Delete a {label}")(delete)

    crud("/v1/tag_group", "tag group", TagGroupIn, store.tag_groups, store.tag_group, "tag_group", scene_owned, "scene_id")
    crud("/v1/tag", "tag", TagIn, store.tags, store.tag_row, "tag", group_owned, "group_id")
