"""The engine's figures for Prometheus (``prometheus_client``; nothing hand-written on the wire).

Cheap by construction: nothing is counted per event or per call. Two
histograms are observed once per batch (a claim transaction, a recorder
transaction) and one per recorded batch of webhook deliveries; every other
figure is read when Prometheus scrapes, from counters the loops already keep
(plain integers) and from PostgreSQL (calls in flight, the outbox, the last
hour's abandonment), so a scrape costs a few statements and the hot path
nothing.

Labels are bounded: node names, line and task ids (as many as the operator
configured), status names and fixed words. Never a phone number or a call
uuid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..causes import Status
from ..store import board

if TYPE_CHECKING:
    from ..service import Engine

log = logging.getLogger(__name__)

# Seconds. A claim or a recorder batch is one pipelined transaction: ~1-20 ms when well.
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_name(code: int) -> str:
    try:
        return Status(code).name.lower()
    except ValueError:
        return str(code)


class EngineMetrics:
    """One engine's registry: batch timers wired into its loops, everything else read on scrape."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.claim_seconds = Histogram(
            "eslbridge_claim_batch_seconds", "Duration of one claim transaction (line lock, counts, attempts)",
            buckets=BATCH_BUCKETS, registry=self.registry)
        self.record_seconds = Histogram(
            "eslbridge_recorder_batch_seconds", "Duration of recording one batch of call events (one transaction)",
            buckets=BATCH_BUCKETS, registry=self.registry)
        self.deliveries = Counter(
            "eslbridge_webhook_deliveries", "Webhook delivery tries by result (delivered, retry, dead)",
            ["result"], registry=self.registry)
        self.delivery_seconds = Histogram(
            "eslbridge_webhook_delivery_seconds", "HTTP round trip of one webhook delivery",
            buckets=DELIVERY_BUCKETS, registry=self.registry)
        for result in ("delivered", "retry", "dead"):
            self.deliveries.labels(result)
        self.registry.register(EngineCollector(engine))
        ProcessCollector(registry=self.registry)
        engine.dialer.observe_claim = self.claim_seconds.observe
        engine.recorder.observe_batch = self.record_seconds.observe
        if engine.notifier is not None:
            engine.notifier.on_flush = self.delivered

    def delivered(self, results: list[dict[str, Any]]) -> None:
        """A batch of webhook tries was recorded: count them by result, time the HTTP round trips."""
        counts = {"delivered": 0, "retry": 0, "dead": 0}
        for r in results:
            counts["delivered" if r["delivered"] else "dead" if r["dead_reason"] else "retry"] += 1
            if r["latency_ms"] is not None:
                self.delivery_seconds.observe(r["latency_ms"] / 1000.0)
        for result, n in counts.items():
            if n:
                self.deliveries.labels(result).inc(n)


class EngineCollector(Collector):
    """Figures read when Prometheus scrapes: the loops' counters, link states, PostgreSQL counts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        yield from self._links()
        yield from self._loops()
        try:
            yield from self._database()
        except Exception as exc:  # the rest of the scrape still answers; readiness says why
            log.warning("metrics: PostgreSQL figures skipped: %s", exc.__class__.__name__)
        # Last, so that a scrape's own failed statements are in it.
        yield CounterMetricFamily("eslbridge_postgres_errors", "PostgreSQL errors met by the engine's statements",
                                  value=float(self.engine.db.errors))

    def _links(self) -> Iterator[Metric]:
        e = self.engine
        connected = GaugeMetricFamily("eslbridge_esl_connected", "1 while the ESL link to the node is up", labels=["node"])
        reconnects = CounterMetricFamily("eslbridge_esl_reconnects", "ESL connections after the first", labels=["node"])
        events = CounterMetricFamily("eslbridge_esl_events", "Events received from the node", labels=["node"])
        lag = GaugeMetricFamily("eslbridge_esl_event_lag_seconds",
                                "Handling time minus Event-Date-Timestamp of the newest event handled", labels=["node"])
        paused = GaugeMetricFamily("eslbridge_node_paused", "1 while the node is drained (no new calls)", labels=["node"])
        started = CounterMetricFamily("eslbridge_originates", "Originates FreeSWITCH accepted", labels=["node"])
        refused = CounterMetricFamily("eslbridge_originates_refused",
                                      "Originates not sent (link down) or refused in the reply; not attempts", labels=["node"])
        for name, link in e.links.items():
            connected.add_metric([name], 1.0 if link.is_up else 0.0)
            reconnects.add_metric([name], float(max(0, link.connects - 1)))
            events.add_metric([name], float(link.events_in))
            conn = link.conn
            handled = conn.last_handled if conn is not None else None
            if conn is not None and handled is not None and handled.timestamp_us:
                lag.add_metric([name], max(0.0, conn.last_handled_at - handled.timestamp_us / 1e6))
            paused.add_metric([name], 1.0 if name in e.dialer.paused else 0.0)
            started.add_metric([name], float(e.dialer.sent.get(name, 0)))
            refused.add_metric([name], float(e.dialer.refused.get(name, 0)))
        yield from (connected, reconnects, events, lag, paused, started, refused)

    def _loops(self) -> Iterator[Metric]:
        e = self.engine
        yield CounterMetricFamily("eslbridge_originates_throttled",
                                  "Originates FreeSWITCH throttled (-ERR with no channel): the number went back to the queue",
                                  value=float(e.recorder.requeued))
        outcomes = CounterMetricFamily("eslbridge_call_outcomes", "Attempts that ended, by final status", labels=["status"])
        for code, n in sorted(e.recorder.outcomes.items()):
            outcomes.add_metric([status_name(code)], float(n))
        yield outcomes
        yield GaugeMetricFamily("eslbridge_recorder_queue", "Events waiting for the recorder",
                                value=float(e.recorder.backlog()))
        yield GaugeMetricFamily("eslbridge_tasks_dialled", "Started tasks this engine plans", value=float(len(e.dialer.tasks)))
        agents = GaugeMetricFamily("eslbridge_agents", "Agents of an agent task's queue by state, as its pacing saw them",
                                   labels=["task", "state"])
        for task, allowance in sorted(e.dialer.allowances.items()):
            s = allowance.state
            if s is None:
                continue
            for state, n in (("ready", s.agents_ready), ("busy", s.agents_busy), ("wrap_up", s.agents_wrap_up),
                             ("logged_in", s.agents_logged_in)):
                agents.add_metric([task, state], float(n))
        yield agents

    def _database(self) -> Iterator[Metric]:
        e = self.engine
        agent_tasks = [p.task_id for p in e.dialer.tasks if p.agents is not None]
        started = time.perf_counter()
        with e.db.connection() as conn:
            in_flight = board.engine_in_flight(conn, e.engine_id)
            depth = board.outbox_depth(conn)
            abandonment = board.abandonment_last_hour(conn, agent_tasks)
        calls = GaugeMetricFamily("eslbridge_calls_in_flight", "This engine's calls in flight",
                                  labels=["node", "line", "task"])
        for r in in_flight:
            calls.add_metric([r["node"], str(r["line_id"]), str(r["task_id"])], float(r["n"]))
        yield calls
        outbox = GaugeMetricFamily("eslbridge_webhook_outbox", "Notifications by state (pending, due now, dead)",
                                   labels=["state"])
        for state in ("pending", "due", "dead"):
            outbox.add_metric([state], float(depth[state]))
        yield outbox
        yield GaugeMetricFamily("eslbridge_webhook_oldest_pending_seconds", "Age of the oldest undelivered notification",
                                value=float(depth["oldest_s"]))
        ratio = GaugeMetricFamily("eslbridge_task_abandonment_ratio",
                                  "Agent task: abandoned / answered by a person over the last hour", labels=["task"])
        for task in agent_tasks:
            answered, abandoned = abandonment.get(task, (0, 0))
            ratio.add_metric([task], abandoned / answered if answered else 0.0)
        yield ratio
        yield GaugeMetricFamily("eslbridge_scrape_database_seconds", "Time the scrape spent on PostgreSQL",
                                value=time.perf_counter() - started)
