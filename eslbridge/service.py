"""Composition root of ``eslbridge run``: links, dialer, recorder, CDR readers and sweeper greenlets."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import gevent

from .callcenter.attendant import Attendant
from .callcenter.desk import CallDesk
from .cdr.reader import CdrReader
from .config import Settings
from .dialer.loop import Dialer
from .esl.link import NodeConfig, NodeLink
from .esl.protocol import Event
from .notify.dispatcher import Dispatcher
from .notify.target import parse_nets
from .reconciler import Reconciler
from .recorder import Recorder
from .store import claims, recording, records
from .store.db import Database
from .tracker import EVENT_FIELDS, Fact

if TYPE_CHECKING:
    from .ops.metrics import EngineMetrics

log = logging.getLogger(__name__)
SWEEP_S = 0.5
RETENTION_EVERY_S = 3600.0  # how often old records are deleted (ESLBRIDGE_RECORD_RETENTION_DAYS)
RETENTION_PAUSE_S = 0.05  # between retention batches: the engine's own writes go first


class Engine:
    def __init__(self, db: Database, settings: Settings, nodes: list[NodeConfig] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.engine_id = settings.engine_id
        self.recorder = Recorder(db, settings.job_grace_s, on_final=self._wake_dialer)
        self.desk = CallDesk(self.engine_id)
        self.links = {
            n.name: NodeLink(n, self._on_event, on_up=self._on_link_up, on_down=self._on_link_down,
                             on_connect=self._on_link_connect, engine_id=self.engine_id, fields=EVENT_FIELDS)
            for n in (nodes or settings.nodes())
        }
        self.cdr_readers = {
            name: CdrReader(db, name, directory, base=settings.cdr_file, poll_s=settings.cdr_poll_s,
                            keep_days=settings.cdr_keep_days)
            for name, directory in settings.cdr_directories().items() if name in self.links
        }
        self.reconciler = Reconciler(db, self.recorder, self.engine_id, reconcile_after_s=settings.reconcile_after_s,
                                     readers=self.cdr_readers, grace_s=settings.cdr_grace_s)
        self.dialer = Dialer(db, self.links, self.engine_id, tick_s=settings.tick_s, batch=settings.claim_batch,
                             policy=settings.policy(), desk=self.desk, safe_harbor=settings.safe_harbor,
                             abandon_after_s=settings.abandon_after_s, phone_region=settings.phone_region,
                             on_blocked=self._refused)
        self.attendant = Attendant(db, self.desk, lambda: self.dialer.tasks, self.dialer.allowances, self.links,
                                   self._abandoned, self.engine_id)
        self.notifier: Dispatcher | None = None
        if settings.notify:
            self.notifier = Dispatcher(
                db, f"notify@{self.engine_id}", allow_nets=parse_nets(settings.webhook_allow_nets),
                concurrency=settings.notify_concurrency,
            )
        self.metrics: EngineMetrics | None = None
        self.ops_server: Any = None  # /metrics, /healthz, /readyz when ESLBRIDGE_METRICS_LISTEN is set
        if settings.metrics_address() is not None:
            from .ops.metrics import EngineMetrics

            self.metrics = EngineMetrics(self)
        self.greenlets: list[gevent.Greenlet] = []
        # Set before start() spawns the sweeper: a stop() that comes first must be what it sees.
        self.sweeping = True

    def _on_event(self, node: str, event: Event) -> None:
        """ESL handler: the desk follows agents and agent-task calls (in memory), the recorder the rest."""
        if event.name == "CUSTOM" or self.desk.times:
            self.desk.on_event(node, event, time.time(), time.monotonic())
        self.recorder.on_event(node, event)

    def _abandoned(self, call_uuid: str) -> None:
        """The attendant abandoned an answered call: the recorder records it with the call's events."""
        self.recorder.note(Fact("abandon", call_uuid, datetime.now(UTC)))

    def _refused(self, call_uuids: Sequence[str]) -> None:
        """Claims a do-not-call list refused: the recorder ends them blocked, with their notification."""
        at = datetime.now(UTC)
        for call_uuid in call_uuids:
            self.recorder.note(Fact("blocked", call_uuid, at))

    def _wake_dialer(self) -> None:
        self.dialer.slots_freed()
        if self.notifier is not None:
            self.notifier.wake.set()

    def start(self) -> Engine:
        with self.db.connection() as conn:
            claims.heartbeat(conn, self.engine_id)
            claims.node_states(conn, self.engine_id, self._node_states())
        self.recorder.load_rules()
        address = self.settings.metrics_address()
        if address is not None and self.metrics is not None:
            from .ops import http

            self.ops_server = http.serve(self, self.metrics.registry, *address)
            log.info("metrics and health on http://%s:%d (/metrics, /healthz, /readyz)", address[0], self.ops_server.server_port)
        for link in self.links.values():
            link.start()
        self.greenlets = [gevent.spawn(self.recorder.run), gevent.spawn(self.dialer.run), gevent.spawn(self._sweep),
                          gevent.spawn(self.attendant.run)]
        if self.settings.record_retention_days:
            self.greenlets.append(gevent.spawn(self._retain))
        if self.notifier is not None:
            self.greenlets.append(gevent.spawn(self.notifier.run))
        self.greenlets += [gevent.spawn(r.run) for r in self.cdr_readers.values()]
        return self

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop originating; with ``drain_s`` keep recording until calls in flight end."""
        self.dialer.stopping = True
        if drain_s > 0:
            deadline = gevent.Timeout(drain_s)
            deadline.start()
            try:
                while self.in_flight() > 0:
                    gevent.sleep(0.1)
            except gevent.Timeout:
                pass
            finally:
                deadline.close()
        # Let each loop finish what it is writing: a greenlet killed inside a
        # transaction would leave its pooled connection broken.
        self.recorder.stopping = True
        self.attendant.stopping = True
        self.sweeping = False
        for reader in self.cdr_readers.values():
            reader.stopping = True
            reader.wake.set()
        if self.notifier is not None:
            self.notifier.stopping = True
            self.notifier.wake.set()
        gevent.joinall(self.greenlets, timeout=5)
        for g in self.greenlets:
            g.kill(block=True, timeout=2)
        for link in self.links.values():
            link.stop()
        if self.ops_server is not None:
            self.ops_server.stop(timeout=2)
        try:
            with self.db.connection() as conn:
                claims.retire_engine(conn, self.engine_id)
        except Exception as exc:
            log.warning("could not retire engine %s: %s", self.engine_id, exc.__class__.__name__)

    def in_flight(self) -> int:
        with self.db.connection() as conn:
            return recording.count_in_flight(conn, self.engine_id)

    def _on_link_up(self, link: NodeLink) -> None:
        gevent.spawn(self.reconcile, link)
        gevent.spawn(self._save_node_states)

    def _on_link_down(self, link: NodeLink, reason: str) -> None:
        # What the node's mod_callcenter said is stale until the next sync after the reconnect.
        self.desk.forget_node(link.name)
        gevent.spawn(self._save_node_states)

    def _node_states(self) -> dict[str, bool]:
        return {name: link.is_up for name, link in self.links.items()}

    def _save_node_states(self) -> None:
        """What the API shows as each line's node_status; the sweeper rewrites it with the heartbeat."""
        try:
            with self.db.connection() as conn:
                claims.node_states(conn, self.engine_id, self._node_states())
        except Exception as exc:
            log.warning("could not record node states: %s", exc.__class__.__name__)

    def _on_link_connect(self, link: NodeLink) -> None:
        """Before a (re)connected link may dial: what a new switch cannot have is settled."""
        self.reconciler.after_connect(link)

    def reconcile(self, link: NodeLink) -> int:
        """Settle every attempt of ours FreeSWITCH no longer has (its CDR's outcome, else LOST)."""
        return self.reconciler.reconcile(link)

    def _retain(self) -> None:
        """Delete records older than the retention, once an hour, in small batches."""
        while self.sweeping:
            before = datetime.now(UTC) - timedelta(days=self.settings.record_retention_days)
            try:
                gone = records.purge(self.db, before, pause_s=RETENTION_PAUSE_S)
                if any(gone.values()):
                    log.info("retention: deleted %d attempt record(s) and %d notification(s) from before %s",
                             gone["attempts"], gone["notifications"], before.date().isoformat())
            except Exception as exc:
                log.error("retention failed: %s", exc.__class__.__name__)
            waited = 0.0
            while self.sweeping and waited < RETENTION_EVERY_S:
                gevent.sleep(SWEEP_S)
                waited += SWEEP_S

    def _sweep(self) -> None:
        ticks = 0
        while self.sweeping:
            gevent.sleep(SWEEP_S)
            ticks += 1
            try:
                with self.db.connection() as conn:
                    pending = recording.unconfirmed_job_failures(conn, self.settings.job_grace_s)
                    if ticks % 10 == 0:
                        claims.heartbeat(conn, self.engine_id)
                        claims.node_states(conn, self.engine_id, self._node_states())
                if pending:
                    self.recorder.settle(pending)
                if ticks % 10 == 0:
                    self.recorder.load_rules()
                if ticks % max(1, int(self.settings.reconcile_after_s / SWEEP_S)) == 0:
                    for link in self.links.values():
                        if link.is_up:
                            self.reconcile(link)
            except Exception as exc:
                log.error("sweep failed: %s", exc.__class__.__name__)
