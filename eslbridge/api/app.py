"""The WSGI application and its server."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import falcon

from ..phones import Normaliser
from ..store.db import Database
from . import openapi, resources, tasks
from .web import AuthMiddleware, Registry, Resource, dumps, error_handler

log = logging.getLogger(__name__)


def build(db: Database, region: str = "CN") -> tuple[falcon.App[Any, Any], Registry]:
    api = Registry()
    tasks.register(api, db, Normaliser(region))
    resources.register(api, db)
    app = falcon.App(middleware=[AuthMiddleware(db)], cors_enable=False)
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

    app.add_route("/openapi.json", Spec())
    app.add_route("/docs", Docs())
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
