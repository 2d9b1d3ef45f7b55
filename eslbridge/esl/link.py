"""A self-healing link to one FreeSWITCH node.

Owns the reconnect loop (capped exponential backoff with jitter), re-subscribes
after every connect, watches for silence (no frame for ``idle_timeout`` →
probe with ``api status``; no answer → reconnect) and reports each
(re)connection through ``on_up`` so the engine can reconcile calls in flight.
After each connect it asks which switch it reached (``core_uuid``, and how
long that switch has been up) and runs ``on_connect`` before the link counts
as up: a restarted switch's lost calls are settled before the first new
originate.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import gevent
import gevent.event

from ..backoff import Backoff
from .client import AuthError, ConnectError, ConnectionLost, ESLConnection, ESLError
from .originate import ENGINE_VAR
from .protocol import Event

log = logging.getLogger(__name__)
CALLCENTER_SUBCLASS = "callcenter::info"  # mod_callcenter's CUSTOM events
LOOPBACK_LEG = "variable_loopback_leg"  # mod_loopback marks its two legs A and B

# What the engine needs; narrow on purpose (FreeSWITCH drops slow listeners).
DEFAULT_EVENTS: tuple[str, ...] = (
    "BACKGROUND_JOB",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP_COMPLETE",
    "HEARTBEAT",
)
# `status`'s first line: "UP 0 years, 0 days, 1 hours, 2 minutes, 3 seconds, 4 milliseconds, 5 microseconds".
_UPTIME_UNITS = {"years": 31536000.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0,
                 "milliseconds": 1e-3, "microseconds": 1e-6}
_UPTIME_RE = re.compile(r"(\d+) (years|days|hours|minutes|seconds|milliseconds|microseconds)")


def uptime_of(status: str) -> float | None:
    """Seconds since the switch started, from the first line of ``api status``; None if it says otherwise."""
    first = status.lstrip().split("\n", 1)[0]
    if not first.startswith("UP "):
        return None
    parts = _UPTIME_RE.findall(first)
    return sum(int(n) * _UPTIME_UNITS[unit] for n, unit in parts) if parts else None


@dataclass(frozen=True)
class NodeConfig:
    """How to reach one FreeSWITCH node. ``password`` is never logged."""

    name: str = "fs1"
    host: str = "127.0.0.1"
    port: int = 8021
    password: str = field(default="ClueCon", repr=False)
    calls_per_second: float = 30.0
    connect_timeout_s: float = 5.0
    command_timeout_s: float = 10.0
    idle_timeout_s: float = 45.0  # HEARTBEAT comes every 20 s
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0


class NodeLink:
    """Keeps one ESL connection to ``node`` alive and subscribed."""

    def __init__(
        self,
        node: NodeConfig,
        on_event: Callable[[str, Event], None],
        *,
        on_up: Callable[[NodeLink], None] | None = None,
        on_down: Callable[[NodeLink, str], None] | None = None,
        on_connect: Callable[[NodeLink], None] | None = None,
        engine_id: str | None = None,
        events: Sequence[str] = DEFAULT_EVENTS,
        fields: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.node = node
        self.fields = fields
        self._on_event = on_event
        self._on_up = on_up
        self._on_down = on_down
        self._on_connect = on_connect
        self.engine_id = engine_id
        self.events = tuple(events)
        self.conn: ESLConnection | None = None
        self.backoff = Backoff(node.backoff_base_s, node.backoff_cap_s)
        self.connects = 0
        self.events_before = 0  # events of the connections that ended (metrics add the current one's)
        self._counted: ESLConnection | None = None  # the ended connection already in events_before
        self.last_error: str | None = None
        self._up = gevent.event.Event()
        self._stopping = False
        self._loop: gevent.Greenlet | None = None
        self.callcenter = False  # subscribed to mod_callcenter's events (some task dials for agents)
        self.core_uuid: str | None = None  # the switch this connection reached (FreeSWITCH's Core-UUID)
        self.uptime_s: float | None = None  # how long that switch had been up when the link connected

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def events_in(self) -> int:
        """Events received from the node since the link started, over every connection."""
        conn = self.conn
        return self.events_before + (conn.events_in if conn is not None and conn is not self._counted else 0)

    @property
    def is_up(self) -> bool:
        return self._up.is_set() and self.conn is not None and self.conn.connected

    def wait_up(self, timeout: float | None = None) -> bool:
        return bool(self._up.wait(timeout))

    def start(self) -> NodeLink:
        self._loop = gevent.spawn(self._run)
        return self

    def stop(self) -> None:
        self._stopping = True
        conn = self.conn
        if conn is not None:
            conn.stop()
        if self._loop is not None:
            self._loop.kill(block=True, timeout=5)
        self._up.clear()

    # -- loop ------------------------------------------------------------
    def _open(self) -> ESLConnection:
        n = self.node
        conn = ESLConnection(
            n.host,
            n.port,
            n.password,
            connect_timeout=n.connect_timeout_s,
            command_timeout=n.command_timeout_s,
            name=n.name,
            fields=self.fields,
        )
        conn.connect()
        conn.on("*", self._dispatch)
        conn.command("event json " + " ".join(self.events))
        if self.engine_id:
            # Once a filter exists only matching events pass: ours, plus the
            # job results (no channel variables) and heartbeats.
            conn.command(f"filter variable_{ENGINE_VAR} {self.engine_id}")
            conn.command("filter Event-Name BACKGROUND_JOB")
            conn.command("filter Event-Name HEARTBEAT")
            # A loopback dial string's B leg carries our variables too, and two
            # of a call's five events are its. Nothing reads them (the outcome
            # is the originated A leg's, and mod_callcenter's events speak of
            # the A leg): a matching "-" filter vetoes them in FreeSWITCH, so
            # they are neither serialised, sent nor parsed.
            conn.command(f"filter {LOOPBACK_LEG} -B")
        if self.callcenter:
            self._subscribe_callcenter(conn)
        return conn

    def _subscribe_callcenter(self, conn: ESLConnection) -> None:
        # A command of its own: every word after CUSTOM is read as a subclass name, so in one
        # list with the channel events CUSTOM must be last (esl_event_custom_must_be_last).
        conn.command(f"event json CUSTOM {CALLCENTER_SUBCLASS}")
        if self.engine_id:
            # Agent and queue events carry no channel variables: let the subclass through.
            conn.command(f"filter Event-Subclass {CALLCENTER_SUBCLASS}")

    def follow_callcenter(self) -> None:
        """Receive mod_callcenter's events from now on (and after every reconnect)."""
        if self.callcenter:
            return
        self.callcenter = True
        conn = self.conn
        if conn is not None and conn.connected:
            try:
                self._subscribe_callcenter(conn)
            except ESLError as exc:  # the reconnect subscribes again
                log.warning("ESL %s: could not subscribe to %s: %s", self.name, CALLCENTER_SUBCLASS, exc,
                            extra={"node": self.name})

    def _dispatch(self, event: Event) -> None:
        self._on_event(self.node.name, event)

    def _run(self) -> None:
        while not self._stopping:
            try:
                conn = self._open()
            except (AuthError, ConnectError, ESLError, OSError) as exc:
                self._note_failure(str(exc))
                continue
            self.conn = conn
            self.connects += 1
            self.backoff.reset()
            self.last_error = None
            self._identify(conn)
            if self._on_connect is not None:
                try:
                    self._on_connect(self)
                except Exception as exc:  # the link still goes up; the engine's sweeps try again
                    log.error("ESL %s: after connecting: %s", self.name, exc.__class__.__name__ + ": " + str(exc)[:200])
            self._up.set()
            log.info("ESL %s: connected to %s:%s (connection #%d)", self.name, self.node.host, self.node.port, self.connects,
                     extra={"node": self.name})
            if self._on_up is not None:
                gevent.spawn(self._on_up, self)
            self._watch(conn)
            self._up.clear()
            self.events_before += conn.events_in
            self._counted = conn
            reason = conn.close_reason or "closed"
            if not self._stopping:
                log.warning("ESL %s: connection lost (%s); reconnecting", self.name, reason, extra={"node": self.name})
                if self._on_down is not None:
                    self._on_down(self, reason)

    def _identify(self, conn: ESLConnection) -> None:
        """Which switch this is (Core-UUID) and since when (``status``); None for what it does not say."""
        timeout = self.node.command_timeout_s
        try:
            core = conn.api("global_getvar core_uuid", timeout=timeout).strip()
            self.uptime_s = uptime_of(conn.api("status", timeout=timeout))
        except ESLError as exc:
            log.warning("ESL %s: could not tell which switch this is: %s", self.name, exc)
            self.core_uuid = self.uptime_s = None
            return
        if core and not core.startswith("-ERR") and core != self.core_uuid:
            if self.core_uuid is not None:
                log.warning("ESL %s: a new switch (Core-UUID %s, was %s)", self.name, core, self.core_uuid)
            self.core_uuid = core

    def _note_failure(self, message: str) -> None:
        delay = self.backoff.next_delay()
        if message != self.last_error:
            log.error("ESL %s: %s; retrying in %.1fs", self.name, message, delay, extra={"node": self.name})
        self.last_error = message
        gevent.sleep(delay)

    def _watch(self, conn: ESLConnection) -> None:
        """Return when ``conn`` closes; close it if it falls silent and fails a probe."""
        idle = self.node.idle_timeout_s
        while not conn.wait_closed(timeout=idle / 3):
            if time.monotonic() - conn.last_rx < idle:
                continue
            try:
                conn.api("status", timeout=min(5.0, idle / 3))
            except ESLError as exc:
                conn.close(f"silent for {idle:g}s and no answer to a probe ({exc})")

    # -- commands --------------------------------------------------------
    def _conn(self) -> ESLConnection:
        conn = self.conn
        if conn is None or not conn.connected:
            raise ConnectionLost(f"{self.name} is not connected")
        return conn

    def bgapi(self, command: str, job_uuid: str) -> None:
        self._conn().bgapi(command, job_uuid)

    def bgapi_many(self, commands: list[tuple[str, str]]) -> list[ESLError | None]:
        return self._conn().bgapi_many(commands)

    def api(self, command: str, timeout: float | None = None) -> str:
        return self._conn().api(command, timeout=timeout)

    def barrier(self, timeout: float | None = None) -> bool:
        return self._conn().barrier(timeout)
