"""The engine's operations endpoint: ``/metrics``, ``/healthz``, ``/readyz`` (``ESLBRIDGE_METRICS_LISTEN``).

A small WSGI app on gevent's server, beside the engine's greenlets: a scrape
or a probe is served between two batches of the engine's own work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson
from gevent.pywsgi import WSGIServer
from prometheus_client import make_wsgi_app

from .health import PING_TIMEOUT_S, NodeState, engine_ready

if TYPE_CHECKING:
    from ..service import Engine

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]


def json_response(start_response: StartResponse, status: str, body: Any) -> Iterable[bytes]:
    data = orjson.dumps(body)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store")])
    return [data]


def engine_readiness(engine: Engine) -> tuple[bool, dict[str, Any]]:
    paused = engine.dialer.paused
    nodes = [NodeState(name, link.is_up, name in paused, link.last_error) for name, link in engine.links.items()]
    return engine_ready(engine.db.ping(PING_TIMEOUT_S), nodes)


class OpsApp:
    """WSGI: ``/metrics`` (Prometheus text or OpenMetrics, by the scraper's Accept), ``/healthz``, ``/readyz``."""

    def __init__(self, engine: Engine, registry: Any) -> None:
        self.engine = engine
        self.metrics = make_wsgi_app(registry)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self.metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return json_response(start_response, "200 OK", {"alive": True, "engine": self.engine.engine_id})
        if path == "/readyz":
            ready, body = engine_readiness(self.engine)
            return json_response(start_response, "200 OK" if ready else "503 Service Unavailable", body)
        return json_response(start_response, "404 Not Found", {"error": "no such path; try /metrics, /healthz, /readyz"})


def serve(engine: Engine, registry: Any, host: str, port: int) -> WSGIServer:
    """Start the endpoint on (host, port) (port 0: any free one; see ``server_port``)."""
    server = WSGIServer((host, port), OpsApp(engine, registry), log=None,
                        error_log=logging.getLogger("eslbridge.ops.wsgi"))
    server.start()
    return server
