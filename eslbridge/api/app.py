"""The WSGI application and its server."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import falcon

from ..ops.health import PING_TIMEOUT_S, api_ready
from ..phones import Normaliser
from ..store import nodes
from ..store.db import Database
from . import compliance, openapi, resources, tasks, wallboard
from .metrics import ApiMetrics, MetricsMiddleware, MetricsResource
from .web import AuthMiddleware, Registry, Resource, dumps, error_handler

log = logging.getLogger(__name__)


def build(db: Database, region: str = "CN") -> tuple[falcon.App[Any, Any], Registry]:
    api = Registry()
    metrics = ApiMetrics()
    db.on_error = metrics.pg_errors.inc
    board = wallboard.Wallboard(db, on_compute=lambda scope: metrics.snapshots.labels(scope).inc())
    phones = Normaliser(region)
    tasks.register(api, db, phones)
    resources.register(api, db)
    compliance.register(api, db, phones)
    wallboard.register(api, board)
    timing = MetricsMiddleware(metrics)
    middleware: list[Any] = [timing, AuthMiddleware(db)]  # timing first: it sees authentication failures
    app = falcon.App(middleware=middleware, cors_enable=False)
    timing.router = app._router  # falcon has no public handle on it
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    by_path: dict[str, dict[str, Callable[..., None]]] = defaultdict(dict)
    for r in api.routes:
        by_path[r.path][r.method] = r.handler
    # Falcon names path fields per route; give every placeholder the handler's own name.
    for path, handlers in by_path.items():
        app.add_route(path, Resource(handlers))
    spec = openapi.document(api)
    spec_bytes = dumps(spec)
    docs = openapi.docs_html(api).encode()

    class Spec:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.content_type = "application/json"
            resp.data = spec_bytes

    class Docs:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.content_type = "text/html; charset=utf-8"
            resp.data = docs

    class Alive:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.content_type = "application/json"
            resp.data = dumps({"alive": True})

    class Ready:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            error = db.ping(PING_TIMEOUT_S)
            rows: list[Any] = []
            if error is None:
                try:
                    with db.connection() as conn:
                        rows = nodes.listing(conn)
                except Exception as exc:
                    error = exc.__class__.__name__
            ready, body = api_ready(error, rows)
            resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
            resp.content_type = "application/json"
            resp.data = dumps(body)

    app.add_route("/openapi.json", Spec())
    app.add_route("/docs", Docs())
    app.add_route("/metrics", MetricsResource(metrics))
    app.add_route("/healthz", Alive())
    app.add_route("/readyz", Ready())
    page = wallboard.PageResource()
    app.add_route("/ui", page)
    app.add_route("/ui/data", wallboard.DataResource(board))
    app.add_route("/ui/{name}", page, suffix="asset")
    app.add_error_handler(Exception, error_handler)
    app.add_error_handler(falcon.HTTPError, error_handler)  # more specific than Exception: must be named too
    return app, api


def serve(db: Database, host: str, port: int, region: str = "CN", listener: Any = None) -> Any:
    """Start gevent's WSGI server on (host, port) or an already bound ``listener``; returns it."""
    from .wsgi import NoDelayWSGIServer

    app, _ = build(db, region)
    server = NoDelayWSGIServer(listener if listener is not None else (host, port), app, log=None,
                               error_log=logging.getLogger("eslbridge.api.wsgi"))
    server.start()
    return server
