"""Reconciliation: calls the engine thinks are up but FreeSWITCH no longer has.

A call that ends while the engine cannot hear it (the engine was down, its
ESL connection broken, the switch restarted) leaves an open attempt. When the
switch is asked (``show channels``) and the call is not there, it ended; how
it ended is in the CDR FreeSWITCH wrote just before its last event
(:mod:`eslbridge.cdr`). So a gone call gets its CDR's outcome, marked
``recovered``; only a call with neither a channel nor a CDR ends as ``LOST``
(the switch died before writing one), and only once every CDR the files held
after the switch answered has been stored, or, if the files cannot be read,
after a grace period.

Two moments ask: every ``reconcile_after_s`` and after each reconnect, for
the engine's own attempts older than ``reconcile_after_s`` (a channel
created a moment ago may not be listed yet); and right after connecting,
before the dialer may use the link, for every attempt on the node, of any
engine, originated before the switch started: a new switch (a new
Core-UUID) has none of its predecessor's calls, and their slots are free
before the first new originate.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from .cdr.reader import CdrReader
from .esl.link import NodeLink
from .recorder import Recorder
from .store import cdrs, recording
from .store.db import Database
from .tracker import settle_gone

log = logging.getLogger(__name__)
CATCH_UP_S = 5.0  # at most this long reading the CDR files before judging


class Reconciler:
    def __init__(self, db: Database, recorder: Recorder, engine_id: str, *, reconcile_after_s: float,
                 readers: Mapping[str, CdrReader] | None = None, grace_s: float = 10.0) -> None:
        self.db = db
        self.recorder = recorder
        self.engine_id = engine_id
        self.reconcile_after_s = reconcile_after_s
        self.readers = dict(readers or {})
        self.grace_s = grace_s
        self.missing: dict[str, dict[str, float]] = {}  # node -> call uuid -> when first found without a CDR
        self.recovered = 0  # outcomes taken from CDRs
        self.lost = 0

    def reconcile(self, link: NodeLink) -> int:
        """Settle every attempt of this engine on ``link``'s node that the switch no longer has. Returns how many."""
        live = self._live(link)
        if live is None:
            return 0
        with self.db.connection() as conn:
            candidates = recording.in_flight(conn, self.engine_id, link.name, self.reconcile_after_s)
        return self._settle(link, [u for u in candidates if u not in live])

    def after_connect(self, link: NodeLink) -> int:
        """Right after (re)connecting: settle what a new switch cannot have. Returns how many."""
        if link.core_uuid:
            with self.db.transaction() as conn:
                changed, previous = cdrs.note_switch(conn, link.name, link.core_uuid)
            if changed and previous is not None:
                log.warning("node %s is a new switch (Core-UUID %s, was %s)", link.name, link.core_uuid, previous)
        if link.uptime_s is None:
            return 0
        with self.db.connection() as conn:
            before = cdrs.open_before_switch(conn, link.name, link.uptime_s)
        if not before:
            return 0
        live = self._live(link)
        if live is None:
            return 0
        gone = [u for u in before if u not in live]
        if gone:
            log.warning("node %s: %d call(s) of the previous switch, settling them now", link.name, len(gone))
        return self._settle(link, gone)

    def _live(self, link: NodeLink) -> set[str] | None:
        """The uuids of the switch's channels, once every event sent before that answer is recorded.

        A call that ended normally is also absent from ``show channels``; its
        hangup event came before the api answer on the same connection.
        None: the switch or the recorder did not answer in time.
        """
        try:
            body = link.api("show channels as json", timeout=30)
            if not link.barrier(timeout=30):
                return None
            data: dict[str, Any] = json.loads(body) if body.strip().startswith("{") else {}
        except Exception as exc:
            log.warning("reconcile on %s skipped: %s", link.name, exc)
            return None
        if not self.recorder.caught_up(self.recorder.enqueued, timeout=30):
            log.warning("reconcile on %s skipped: recorder is behind", link.name)
            return None
        return {r.get("uuid") for r in data.get("rows", [])}

    def _settle(self, link: NodeLink, gone: list[str]) -> int:
        missing = self.missing.setdefault(link.name, {})
        for u in set(missing) - set(gone):
            del missing[u]  # settled some other way
        if not gone:
            return 0
        reader = self.readers.get(link.name)
        caught_up = True if reader is None else reader.catch_up(min(CATCH_UP_S, self.grace_s))
        with self.db.connection() as conn:
            found = cdrs.of_calls(conn, gone) if reader is not None else {}
        facts, lost = settle_gone(gone, found, caught_up, missing, time.monotonic(), self.grace_s)
        if facts:
            log.warning("reconcile on %s: %d call(s) ended unheard, outcome taken from the CDR", link.name, len(facts))
        if lost:
            log.warning("reconcile on %s: %d call(s) gone with no hangup and no CDR, ending them as LOST",
                        link.name, len(lost))
        if facts or lost:
            self.recorder.apply_facts(facts, lost_uuids=lost)
        self.recovered += len(facts)
        self.lost += len(lost)
        return len(facts) + len(lost)
