"""The API's own figures for Prometheus: requests by route and status, their latency, PostgreSQL errors.

``eslbridge api --workers N`` forks N processes that share one socket; a scrape
lands on any one of them. So the CLI runs ``prometheus_client``'s
multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, set before the library is
imported): each process writes its values to memory-mapped files there and
``/metrics`` adds up every process's. An API built in a process without that
directory (tests, the demo) keeps its values in memory.

Labels: method, the route's template (``/v1/task/{task_id}``, never the id
itself), the status code, the wallboard's scope kind. Counting a request is a
few microseconds beside a request's few hundred.
"""

from __future__ import annotations

import os
import time
from typing import Any

import falcon
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, multiprocess
from prometheus_client.exposition import choose_encoder

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)  # seconds


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("eslbridge_api_requests", "HTTP requests by method, route template and status",
                                ["method", "route", "status"], registry=self.registry)
        self.seconds = Histogram("eslbridge_api_request_seconds", "Time to answer a request, by route template",
                                 ["route"], buckets=BUCKETS, registry=self.registry)
        self.pg_errors = Counter("eslbridge_api_postgres_errors", "PostgreSQL errors met by the API's statements",
                                 registry=self.registry)
        self.snapshots = Counter("eslbridge_api_wallboard_snapshots", "Wallboard figures computed (not served from cache)",
                                 ["scope"], registry=self.registry)
        directory = os.environ.get(MULTIPROC_ENV)
        if directory:
            self.scrape_registry = CollectorRegistry(auto_describe=False)
            multiprocess.MultiProcessCollector(self.scrape_registry, path=directory)  # type: ignore[no-untyped-call]
        else:
            self.scrape_registry = self.registry
            ProcessCollector(registry=self.registry)


class MetricsMiddleware:
    """First in the chain: times every request, including authentication and failures."""

    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics
        self.router: Any = None  # the app's, to name the route of a request refused before routing

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        route = req.uri_template
        if route is None:  # refused in process_request (authentication), before falcon routed it
            found = self.router.find(req.path) if self.router is not None else None
            route = found[3] if found else "unmatched"
        self.metrics.requests.labels(req.method, route, str(resp.status_code)).inc()
        if started is not None:
            self.metrics.seconds.labels(route).observe(time.perf_counter() - started)


class MetricsResource:
    """``GET /metrics``: the exposition (text or OpenMetrics by Accept), of every worker process."""

    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        encode, content_type = choose_encoder(req.get_header("Accept") or "")
        resp.content_type = content_type
        resp.data = encode(self.metrics.scrape_registry)
