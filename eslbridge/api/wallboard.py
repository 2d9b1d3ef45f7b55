"""The live wallboard: ``/ui`` (a page, a stylesheet, a script) and the figures it polls.

Who sees what: ``GET /ui/data`` takes a bearer token (``eslbridge ui token
create``): an operator's token shows every tenant, a tenant's token only that
tenant's tasks, lines and notifications. ``GET /v1/wallboard`` is the same
figures for a signed request of a tenant's app (the API's usual auth). The
page's files are public: they hold no data.

Figures are computed at most once per scope per ``ttl`` (1 s, plus 1 s per
200,000 numbers counted: a wallboard over a million numbers costs
PostgreSQL a count every 6 s, not every poll), by one request while the
others that arrive meanwhile wait for it; every wallboard on the same scope
then gets the same bytes. A revoked token is refused within
``TOKEN_CACHE_S``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import falcon
import gevent.lock

from ..causes import Status
from ..store import board, nodes
from ..store.db import Database
from .web import ApiError, Registry, dumps

REFRESH_S = 2  # how often the page polls
TOKEN_CACHE_S = 2.0  # seconds a token's scope is reused
NUMBERS_PER_EXTRA_S = 200_000  # the figures of this many numbers are reused one second longer
SECURITY_HEADERS = {
    # The page runs only its own script and talks only to its own origin; no framing.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSETS = {"wallboard.js": "text/javascript; charset=utf-8", "wallboard.css": "text/css; charset=utf-8"}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else None


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _task(r: Mapping[str, Any]) -> dict[str, Any]:
    total, dialled = int(r["total"]), int(r["dialled"])
    centre = None
    if r["last_hour"] is not None:
        answered, abandoned = int(r["last_hour"]["answered"]), int(r["last_hour"]["abandoned"])
        p = r["pacing"]
        centre = {
            "answered_1h": answered, "abandoned_1h": abandoned, "abandonment_1h_pct": _pct(abandoned, answered),
            "agents": None if p is None else {"ready": p["agents_ready"], "busy": p["agents_busy"],
                                              "wrap_up": p["agents_wrap_up"], "logged_in": p["agents_logged_in"]},
            "calls_ringing": None if p is None else p["calls_ringing"],
            "calls_waiting": None if p is None else p["calls_waiting"],
        }
    return {
        "id": str(r["id"]), "tenant": r["tenant"], "name": r["name"], "running": r["start"] == 1,
        "total": total, "dialled": dialled, "percent": (100 * dialled) // total if total else 0,
        "finished": int(r["finished"]), "in_flight": int(r["in_flight"]), "answered": int(r["answered"]),
        "error": r["error"], "held": r["held"], "call_centre": centre,
    }


def compose(tenant: str | None, task_rows: Sequence[Mapping[str, Any]], line_rows: Sequence[Mapping[str, Any]],
            node_rows: Sequence[Mapping[str, Any]], outcomes: Mapping[int, int], outbox: Mapping[str, Any],
            now: datetime) -> dict[str, Any]:
    """The wallboard's figures from the store's rows (pure). A tenant sees the nodes of its own
    lines, with its own calls on them; an operator (``tenant`` None) every node and call."""
    lines = [{"id": str(r["id"]), "tenant": r["tenant"], "name": r["name"], "node": r["node"],
              "call_line": int(r["call_line"]), "in_flight": int(r["in_flight"])} for r in line_rows]
    own_calls: dict[str, int] = {}
    for line in lines:
        own_calls[line["node"]] = own_calls.get(line["node"], 0) + line["in_flight"]
    shown_nodes = []
    for r in node_rows:
        if tenant is not None and r["name"] not in own_calls:
            continue
        shown_nodes.append({
            "name": r["name"], "paused": r["paused_at"] is not None, "paused_at": _iso(r["paused_at"]),
            "paused_by": r["paused_by"] if tenant is None else None, "reason": r["reason"],
            "in_flight": int(r["in_flight"]) if tenant is None else own_calls[r["name"]],
            "links": [{"engine": link["engine"], "connected": link["connected"], "since": link["since"]}
                      for link in r["links"]],
        })
    tasks = [_task(r) for r in task_rows]
    by_status = [{"status": code, "name": Status(code).name.lower() if code in Status._value2member_map_ else str(code),
                  "calls": n} for code, n in sorted(outcomes.items())]
    return {
        "at": _iso(now), "scope": {"tenant": tenant}, "refresh_s": REFRESH_S,
        "totals": {"tasks": len(tasks), "in_flight": sum(x["in_flight"] for x in lines),
                   "ended_last_hour": sum(outcomes.values())},
        "tasks": tasks, "lines": lines, "nodes": shown_nodes, "outcomes_last_hour": by_status,
        "webhooks": {"pending": int(outbox["pending"]), "due": int(outbox["due"]), "dead": int(outbox["dead"]),
                     "oldest_pending_s": round(float(outbox["oldest_s"]), 1)},
    }


class Wallboard:
    """Figures per scope, computed by one request at a time and reused for their ``ttl``."""

    def __init__(self, db: Database, on_compute: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.on_compute = on_compute
        self.clock = clock
        self._figures: dict[str | None, tuple[float, bytes]] = {}
        self._locks: dict[str | None, gevent.lock.Semaphore] = {}
        self._tokens: dict[str, tuple[float, bool, str | None]] = {}

    def figures(self, tenant: str | None) -> bytes:
        """The JSON figures of ``tenant`` (None: every tenant)."""
        hit = self._figures.get(tenant)
        if hit is not None and self.clock() < hit[0]:
            return hit[1]
        lock = self._locks.setdefault(tenant, gevent.lock.Semaphore())
        with lock:  # one computes; the others wait and take its result
            hit = self._figures.get(tenant)
            if hit is not None and self.clock() < hit[0]:
                return hit[1]
            data, numbers = self._compute(tenant)
            if len(self._figures) > 10_000:
                self._figures.clear()
            self._figures[tenant] = (self.clock() + 1.0 + numbers / NUMBERS_PER_EXTRA_S, data)
            return data

    def _compute(self, tenant: str | None) -> tuple[bytes, int]:
        with self.db.connection() as conn:
            task_rows = board.tasks(conn, tenant)
            line_rows = board.lines(conn, tenant)
            node_rows = nodes.listing(conn)
            outcomes = board.outcomes_last_hour(conn, tenant)
            outbox = board.outbox_depth(conn, tenant)
        if self.on_compute is not None:
            self.on_compute("tenant" if tenant is not None else "operator")
        figures = compose(tenant, task_rows, line_rows, node_rows, outcomes, outbox, datetime.now(UTC))
        return dumps(figures), sum(int(r["total"]) for r in task_rows)

    def scope_of(self, token: str) -> tuple[bool, str | None]:
        """(known, tenant) of a bearer token, reused for TOKEN_CACHE_S."""
        now = self.clock()
        hit = self._tokens.get(token)
        if hit is not None and now < hit[0]:
            return hit[1], hit[2]
        with self.db.connection() as conn:
            known, tenant = board.token_scope(conn, token)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[token] = (now + TOKEN_CACHE_S, known, tenant)
        return known, tenant


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("ui", name).read_bytes()


class PageResource:
    """``/ui`` and its two files, read once from the package."""

    def __init__(self) -> None:
        self.page = _asset("index.html")
        self.assets = {name: _asset(name) for name in ASSETS}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/html; charset=utf-8"
        resp.set_headers(SECURITY_HEADERS)
        resp.cache_control = ["no-cache"]
        resp.data = self.page

    def on_get_asset(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in self.assets:
            raise ApiError(404, 404, "no such file")
        resp.content_type = ASSETS[name]
        resp.set_headers(SECURITY_HEADERS)
        resp.cache_control = ["no-cache"]
        resp.data = self.assets[name]


class DataResource:
    """``GET /ui/data`` with ``Authorization: Bearer <token>``."""

    def __init__(self, wallboard: Wallboard) -> None:
        self.wallboard = wallboard

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, 401, "authentication failed: an Authorization: Bearer token is required")
        known, tenant = self.wallboard.scope_of(token.strip())
        if not known:
            raise ApiError(401, 401, "authentication failed: unknown or revoked token")
        resp.content_type = "application/json"
        resp.cache_control = ["no-store"]
        resp.data = self.wallboard.figures(tenant)


def register(api: Registry, wallboard: Wallboard) -> None:
    @api.add("GET", "/v1/wallboard", "The wallboard's figures (what /ui shows) for the caller's tenant")
    def figures(req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "application/json"
        resp.cache_control = ["no-store"]
        resp.data = b'{"code":200,"status":"ok","message":"ok","data":' + wallboard.figures(req.context.user) + b"}"
