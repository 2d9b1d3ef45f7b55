"""Compliance routes of a tenant: its do-not-call lists and entries, and its calling policy.

Everything is scoped to the caller's tenant: a tenant sees and changes only
its own lists (global lists are an operator's, managed with `eslbridge dnc`
and `apply`), and ``check`` answers for its own lists and the global ones,
which is what its calls meet.
"""

from __future__ import annotations

from typing import Any

import falcon
import psycopg

from ..dnc_import import entry_of, file_chunks, import_chunks, key_of
from ..phones import Normaliser
from ..store import dnc
from ..store.db import Database
from ..store.dnc import Entry
from .models import DncEntriesIn, DncListIn, DncRemoveIn, PolicyIn
from .upload import spooled
from .web import Registry, bad, not_found, ok, parse, path_int, query_int

MAX_REJECTED_SHOWN = 1000


def policy_entity(user: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """The tenant's policy as the API shows it (the defaults when it has none)."""
    row = row or {}
    start, end = row.get("calling_hours_start"), row.get("calling_hours_end")
    return {
        "user_id": user,
        "calling_hours": [start.strftime("%H:%M"), end.strftime("%H:%M")] if start and end else None,
        "max_attempts_day": row.get("max_attempts_day"),
        "max_attempts_week": row.get("max_attempts_week"),
        "abandoned_rest_h": row.get("abandoned_rest_h", 72),
        "updated_at": row.get("updated_at"),
    }


def register(api: Registry, db: Database, phones: Normaliser) -> None:
    def own_list(conn: psycopg.Connection[Any], req: falcon.Request, list_id: str) -> dict[str, Any]:
        row = dnc.list_by_id(conn, req.context.user, path_int(list_id, "do-not-call list"))
        if row is None:
            raise not_found("do-not-call list")
        return row

    @api.add("GET", "/v1/dnc", "The tenant's do-not-call lists")
    def lists(req: falcon.Request, resp: falcon.Response) -> None:
        with db.connection() as conn:
            ok(resp, {"list": dnc.lists(conn, req.context.user)})

    @api.add("POST", "/v1/dnc", "Create a do-not-call list (an existing one of that name is returned)", body=DncListIn)
    def create(req: falcon.Request, resp: falcon.Response) -> None:
        body: DncListIn = parse(DncListIn, req)
        with db.transaction() as conn:
            ok(resp, dnc.create_list(conn, req.context.user, body.name, body.description))

    @api.add("GET", "/v1/dnc/{list_id}", "One list, with how many entries it has and how many are in force")
    def one(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        with db.connection() as conn:
            row = own_list(conn, req, list_id)
            ok(resp, {**row, **dnc.count_entries(conn, row["id"])})

    @api.add("DELETE", "/v1/dnc/{list_id}", "Delete a list and its entries")
    def delete(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        with db.transaction() as conn:
            dnc.delete_list(conn, own_list(conn, req, list_id)["id"])
        ok(resp, None)

    @api.add("POST", "/v1/dnc/{list_id}/entries", "Add entries (up to 100,000 per request; a known one takes the new "
             "expiry and reason)", body=DncEntriesIn)
    def add(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        body: DncEntriesIn = parse(DncEntriesIn, req)
        good: list[Entry] = []
        rejected = []
        for i, e in enumerate(body.entries):
            expires = e.expires_at if e.expires_at is None or e.expires_at.tzinfo else e.expires_at.astimezone()
            item = entry_of(phones, e.phone, None, e.reason)
            if isinstance(item, str):
                rejected.append({"index": i, "phone": e.phone[:40], "reason": item})
            else:
                good.append(item._replace(expires_at=expires))
        with db.transaction() as conn:
            lst = own_list(conn, req, list_id)
            counts = dnc.add_entries(conn, lst["id"], good)
        ok(resp, {**counts, "rejected": len(rejected), "rejected_rows": rejected[:MAX_REJECTED_SHOWN]})

    @api.add("POST", "/v1/dnc/{list_id}/entries/csv", "Upload a CSV or text file of entries (streamed; millions): "
             "phone, and optional expires_at and reason columns", content="text/csv")
    def upload(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        with db.connection() as conn:
            lst = own_list(conn, req, list_id)
        with spooled(req) as path:
            report = import_chunks(db, lst["id"], file_chunks(path, phones))
        if report["entries"] == 0 and report["rejected"] == 0:
            raise bad("body: no entries in the upload")
        errors = report.pop("errors")
        ok(resp, {**report, "rejected_rows": [{"line": n, "reason": why} for n, why in errors]})

    @api.add("POST", "/v1/dnc/{list_id}/entries/remove", "Take phones off a list", body=DncRemoveIn)
    def remove(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        body: DncRemoveIn = parse(DncRemoveIn, req)
        stored = [p for p in (key_of(phones, raw) for raw in body.phones) if p is not None]
        with db.transaction() as conn:
            removed = dnc.remove_entries(conn, own_list(conn, req, list_id)["id"], stored)
        ok(resp, {"removed": removed})

    @api.add("DELETE", "/v1/dnc/{list_id}/entries/{phone}", "Take one phone off a list")
    def remove_one(req: falcon.Request, resp: falcon.Response, list_id: str, phone: str) -> None:
        stored = key_of(phones, phone)
        if stored is None:
            raise bad("phone: not a phone number")
        with db.transaction() as conn:
            removed = dnc.remove_entries(conn, own_list(conn, req, list_id)["id"], [stored])
        if not removed:
            raise not_found("entry")
        ok(resp, {"removed": removed})

    @api.add("GET", "/v1/dnc/{list_id}/entries", "A list's entries in phone order (a page after a phone)",
             query={"after": "the last phone of the previous page", "limit": "entries per page (1–10000)"})
    def entries(req: falcon.Request, resp: falcon.Response, list_id: str) -> None:
        limit = query_int(req, "limit", 1000, 1, 10_000) or 1000
        after = req.get_param("after") or ""
        with db.connection() as conn:
            rows = dnc.entries_page(conn, own_list(conn, req, list_id)["id"], after[:40], limit)
        ok(resp, {"list": rows, "next_after": rows[-1]["phone"] if len(rows) == limit else None})

    @api.add("GET", "/v1/dnc/check/{phone}", "The lists (the tenant's and the global ones) that stop calls to a phone now")
    def check(req: falcon.Request, resp: falcon.Response, phone: str) -> None:
        stored = key_of(phones, phone)
        if stored is None:
            raise bad("phone: not a phone number")
        with db.connection() as conn:
            held = dnc.holding(conn, req.context.user, stored)
        ok(resp, {"phone": stored, "listed": bool(held), "lists": held})

    @api.add("GET", "/v1/compliance", "The tenant's policy: calling hours in the callee's time, contact caps, "
             "the rest after an abandoned call")
    def get_policy(req: falcon.Request, resp: falcon.Response) -> None:
        with db.connection() as conn:
            ok(resp, policy_entity(req.context.user, dnc.policy(conn, req.context.user)))

    @api.add("PUT", "/v1/compliance", "Set the tenant's whole policy (fields left out take their defaults)",
             body=PolicyIn)
    def set_policy(req: falcon.Request, resp: falcon.Response) -> None:
        body: PolicyIn = parse(PolicyIn, req)
        with db.transaction() as conn:
            row = dnc.set_policy(conn, req.context.user, policy_values(body))
        ok(resp, policy_entity(req.context.user, row))


def policy_values(body: PolicyIn) -> dict[str, Any]:
    """The policy's columns from the request (the API's and `apply`'s)."""
    start, end = body.calling_hours or (None, None)
    return {"calling_hours_start": start, "calling_hours_end": end, "max_attempts_day": body.max_attempts_day,
            "max_attempts_week": body.max_attempts_week, "abandoned_rest_h": body.abandoned_rest_h}
