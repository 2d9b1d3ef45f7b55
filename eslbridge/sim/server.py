"""A FreeSWITCH stand-in speaking the Event Socket as FreeSWITCH 1.10 does.

One :class:`Switch` holds the shared state (live channels, sessions-per-second
budget, max sessions, event sequence); every client gets a :class:`Session`
with its own subscription, format and filters, and a writer greenlet that
batches outgoing frames (so timers never block on a slow client). Call events
are scheduled on libev timers from the templates in :mod:`.script`.
:class:`Floor` is mod_callcenter: it runs the model of :mod:`.callcenter` and
plays the calls that an extension sends into a queue (``<queue> XML
eslbridge_queue``, the captures' ``sales XML queue``). Subscriptions and
filters follow mod_event_socket (every word after CUSTOM is a subclass;
filters are OR-ed, ``-`` ones veto, ``/…/`` ones are regexes).
Faults for tests: :meth:`Switch.drop_all`, :meth:`Switch.refuse`,
:meth:`Switch.restart`, ``stall`` and ``split_writes`` on sessions. With
``cdr_dir`` set it writes CDRs as mod_cdr_csv does (:mod:`.cdr`).
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.queue
from gevent.server import StreamServer

from ..causes import Q850 as Q850_CODES
from . import script
from .callcenter import (
    Agent,
    CallCenter,
    CallCenterConfig,
    Member,
    Offer,
    Out,
    Route,
    exported,
    route_of,
)
from .cdr import CdrWriter
from .script import (
    DISCONNECT_BYE,
    CallContext,
    Originate,
    OriginateUsage,
    Rules,
    api_response,
    encode_event,
    notice,
    reply,
)

log = logging.getLogger(__name__)

# switch_event.c's EVENT_NAMES: the words `event` and `nixevent` know (any case, or SWITCH_EVENT_<name>).
EVENT_NAMES = frozenset((
    "CUSTOM", "CLONE", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_ANSWER",
    "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HOLD",
    "CHANNEL_UNHOLD", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_APPLICATION", "CHANNEL_ORIGINATE",
    "CHANNEL_UUID", "API", "LOG", "INBOUND_CHAN", "OUTBOUND_CHAN", "STARTUP", "SHUTDOWN", "PUBLISH", "UNPUBLISH",
    "TALK", "NOTALK", "SESSION_CRASH", "MODULE_LOAD", "MODULE_UNLOAD", "DTMF", "MESSAGE", "PRESENCE_IN",
    "NOTIFY_IN", "PRESENCE_OUT", "PRESENCE_PROBE", "MESSAGE_WAITING", "MESSAGE_QUERY", "ROSTER", "CODEC",
    "BACKGROUND_JOB", "DETECTED_SPEECH", "DETECTED_TONE", "PRIVATE_COMMAND", "HEARTBEAT", "TRAP", "ADD_SCHEDULE",
    "DEL_SCHEDULE", "EXE_SCHEDULE", "RE_SCHEDULE", "RELOADXML", "NOTIFY", "PHONE_FEATURE",
    "PHONE_FEATURE_SUBSCRIBE", "SEND_MESSAGE", "RECV_MESSAGE", "REQUEST_PARAMS", "CHANNEL_DATA", "GENERAL",
    "COMMAND", "SESSION_HEARTBEAT", "CLIENT_DISCONNECTED", "SERVER_DISCONNECTED", "SEND_INFO", "RECV_INFO",
    "RECV_RTCP_MESSAGE", "SEND_RTCP_MESSAGE", "CALL_SECURE", "NAT", "RECORD_START", "RECORD_STOP", "PLAYBACK_START",
    "PLAYBACK_STOP", "CALL_UPDATE", "FAILURE", "SOCKET_DATA", "MEDIA_BUG_START", "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY", "CONFERENCE_DATA", "CALL_SETUP_REQ", "CALL_SETUP_RESULT", "CALL_DETAIL",
    "DEVICE_STATE", "TEXT", "SHUTDOWN_REQUESTED", "ALL",
))


def event_name(word: str) -> str | None:
    """switch_name_event: the event a word names, or None."""
    upper = word.upper()
    if upper in EVENT_NAMES:
        return upper
    if len(word) > 13 and upper[13:] in EVENT_NAMES:
        return upper[13:]
    return None


def filters_pass(filters: list[tuple[str, str]], get: Callable[[str], str | None]) -> bool:
    """mod_event_socket's filter test: with no filter every event passes; otherwise
    one matching ``+`` filter lets it through (filters are OR-ed) and a matching
    ``-`` filter stops it. A value starting with ``/`` is a regex; others compare
    case-insensitively. Header names are looked up case-insensitively."""
    if not filters:
        return True
    send = False
    for name, value in filters:
        hval = get(name)
        if hval is None:
            continue
        comp, pos = value, True
        while comp and comp[0] in "+- ":
            pos = {"+": True, "-": False}.get(comp[0], pos)
            comp = comp[1:]
        if send and pos:
            continue
        if value.startswith("/"):
            body, _, flags = comp[1:].rpartition("/") if comp.count("/") > 1 else (comp[1:], "", "")
            try:
                hit = re.search(body, hval, re.IGNORECASE if "i" in flags else 0) is not None
            except re.error:
                hit = False
        else:
            hit = hval.lower() == comp.lower()
        if hit:
            if not pos:
                return False
            send = True
    return send


@dataclass
class SimConfig:
    password: str = "ClueCon"
    # multiplies ring and talk times, and runs mod_callcenter's clock that much slower
    # (its timers, agents' answer, talk and wrap-up); 0 = instant calls
    time_scale: float = 1.0
    sps: int = 30  # FreeSWITCH's sessions-per-second default
    max_sessions: int = 1000
    heartbeat_s: float = 20.0
    shuffle: bool = False  # deliver each call's events in random order
    hostname: str = "sim"
    rules: Rules = field(default_factory=Rules)
    # mod_callcenter: queues, agents, tiers (default: sales@default, agent1..3@default Logged Out)
    callcenter: CallCenterConfig = field(default_factory=CallCenterConfig)
    cdr_dir: str | None = None  # mod_cdr_csv's directory (dialplan/cdr_csv.conf.xml); None: no CDRs


@dataclass
class Call:
    a_uuid: str
    b_uuid: str | None
    job_uuid: str
    plan: script.CallPlan
    ctx: CallContext
    base_us: int
    legs: int
    answered: bool = False
    pending: deque[int] = field(default_factory=deque)  # template event indexes not yet sent
    timers: list[Any] = field(default_factory=list)
    due_us: list[int] = field(default_factory=list)  # delivery time of each pending slot
    job_sent: bool = False
    done: bool = False
    cc: QueueCall | None = None  # set when the call's extension runs `callcenter`
    cause: str | None = None  # hung up by the switch (uuid_kill, hupall, shutdown) with this cause


class Session:
    """One client connection."""

    def __init__(self, switch: Switch, sock: Any, addr: Any) -> None:
        self.switch = switch
        self.sock = sock
        self.addr = addr
        self.authed = False
        self.fmt: str | None = None  # None until an `event` command (then the listener's format)
        self.format = "plain"  # mod_event_socket's listener format, kept across `noevents`
        self.events: set[str] = set()
        self.subclasses: set[str] = set()  # CUSTOM subclasses named after CUSTOM
        self.all_events = False
        self.filters: list[tuple[str, str]] = []
        self.out: gevent.queue.Queue[bytes | None] = gevent.queue.Queue()
        self.stalled = False
        self.split_writes = 0  # >0: send each frame in pieces of this many bytes
        self.closed = False

    # -- output ------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if not self.closed:
            self.out.put(data)

    def writer(self) -> None:
        """Send queued frames; small ones are coalesced (one syscall for many events)."""
        while True:
            chunks = [self.out.get()]
            size = len(chunks[0] or b"")
            while size < 65536 and not self.out.empty() and chunks[-1] is not None:
                item = self.out.get_nowait()
                chunks.append(item)
                size += len(item or b"")
            close = chunks[-1] is None
            data = b"".join(c for c in chunks if c) if len(chunks) > 1 else (chunks[0] or b"")
            try:
                if self.split_writes:
                    for i in range(0, len(data), self.split_writes):
                        self.sock.sendall(data[i : i + self.split_writes])
                        gevent.sleep(0)
                elif data:
                    self.sock.sendall(data)
            except OSError:
                close = True
            if close:
                self.close()
                return

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        self.switch.sessions.discard(self)

    def subscribed(self, name: str, subclass: str | None = None) -> bool:
        """As mod_event_socket: the session asked for this event (a CUSTOM event by its
        subclass, unless ALL). Filters are not looked at."""
        if self.fmt is None:
            return False
        if not self.all_events:
            if name not in self.events:
                return False
            if name == "CUSTOM" and subclass and subclass not in self.subclasses:
                return False
        return True

    def wants(self, name: str, get: Callable[[str], str | None], subclass: str | None = None) -> bool:
        """Subscribed, then the filters; ``get`` looks a header up by name, case-insensitively."""
        return self.subscribed(name, subclass) and filters_pass(self.filters, get)

    def subscribe(self, rest: str) -> str:
        """``event [plain|json|xml] NAMES…``: every word after CUSTOM is a subclass name."""
        custom = False
        keys = 0
        for i, word in enumerate(rest.split(" ")):
            if i == 0 and word.lower() in ("plain", "json", "xml"):
                self.format = word.lower()
                continue
            if custom:
                self.subclasses.add(word)
                continue
            name = event_name(word)
            if name is None:
                continue
            keys += 1
            if name == "ALL":
                self.all_events = True
            self.events.add(name)
            custom = custom or name == "CUSTOM"
        if not keys:
            return "-ERR no keywords supplied"
        self.fmt = self.format
        return f"+OK event listener enabled {self.format}"

    def unsubscribe(self, rest: str) -> str:
        custom = False
        keys = 0
        for word in rest.split(" "):
            if custom:
                self.subclasses.discard(word)
                continue
            name = event_name(word)
            if name is None:
                continue
            keys += 1
            if name == "CUSTOM":
                custom = True
            elif name == "ALL":
                self.all_events = False
                self.events.clear()
            else:
                if self.all_events:  # nixing one event of ALL leaves all the others
                    self.all_events = False
                    self.events |= EVENT_NAMES - {"ALL"}
                self.events.discard(name)
        if not keys:
            return "-ERR no keywords supplied"
        if self.fmt is None:
            self.fmt = self.format
        return "+OK events nixed"

    def filter(self, rest: str) -> str:
        header, _, value = rest.lstrip(" ").partition(" ")
        if header.lower() == "delete" and value:
            header, _, value = value.partition(" ")
            if header.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [f for f in self.filters
                                if not (f[0].lower() == header.lower() and (not value or f[1] == value))]
            return f"+OK filter deleted. [{header}][{value}]"
        if not value:
            return "-ERR invalid syntax"
        if header.lower() == "add":
            header, _, value = value.partition(" ")
        self.filters.append((header, value))
        return f"+OK filter added. [{header}]=[{value}]"

    # -- input -------------------------------------------------------------
    def serve(self) -> None:
        writer = gevent.spawn(self.writer)
        self.send(b"Content-Type: auth/request\n\n")
        buf = b""
        try:
            while not self.closed:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                buf += data
                while b"\n\n" in buf:
                    raw, buf = buf.split(b"\n\n", 1)
                    lines = raw.decode("utf-8", "replace").lstrip("\n").split("\n")
                    while self.stalled and not self.closed:
                        gevent.sleep(0.05)
                    self.handle(lines[0].rstrip("\r"), dict(x.split(": ", 1) for x in lines[1:] if ": " in x))
        finally:
            self.send(b"") if not self.closed else None
            self.out.put(None)
            writer.join(timeout=2)
            self.close()

    def handle(self, line: str, headers: dict[str, str]) -> None:
        sw = self.switch
        verb, _, rest = line.partition(" ")
        if not self.authed:
            if verb == "auth":
                if rest == sw.config.password:
                    self.authed = True
                    self.send(reply("+OK accepted"))
                else:
                    self.send(reply("-ERR invalid"))
                    self.send(notice(DISCONNECT_BYE))
                    self.out.put(None)
            elif verb == "exit":
                self.bye()
            else:
                self.send(reply("-ERR command not found"))
            return
        if verb == "exit":
            self.bye()
        elif verb == "event":
            self.send(reply(self.subscribe(rest)))
        elif verb == "nixevent":
            self.send(reply(self.unsubscribe(rest)))
        elif verb == "noevents":
            if self.fmt is None:
                self.send(reply("-ERR not listening for events"))
            else:
                self.events.clear()
                self.subclasses.clear()
                self.all_events = False
                self.fmt = None
                self.send(reply("+OK no longer listening for events"))
        elif verb == "filter":
            self.send(reply(self.filter(rest)))
        elif verb == "api" and rest.startswith("sim_flood"):
            self.flood(rest)
        elif verb == "api":
            # FreeSWITCH answers first; what the command fired (mod_callcenter's events) follows.
            with sw.floor.deferred():
                self.send(api_response(sw.api(rest)))
        elif verb == "bgapi":
            job = headers.get("Job-UUID") or str(uuid.uuid4())
            self.send(reply(f"+OK Job-UUID: {job}", {"Job-UUID": job}))
            with sw.floor.deferred():
                sw.bgapi(rest, job)
        else:
            self.send(reply("-ERR command not found"))

    def flood(self, rest: str) -> None:
        """Benchmark hook (not a FreeSWITCH command): ``api sim_flood N`` sends N
        realistic ~10 KB CHANNEL_HANGUP_COMPLETE events to this session."""
        parts = rest.split()
        count = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 1000
        frame = encode_event(self.switch.big_event(), self.fmt if self.fmt in ("json", "xml") else "plain")
        self.send(api_response(f"+OK flooding {count}\n"))
        batch = 100
        block = frame * batch
        for start in range(0, count, batch):
            self.send(block if count - start >= batch else frame * (count - start))
            while self.out.qsize() > 4 and not self.closed:
                gevent.sleep(0.001)

    def bye(self) -> None:
        self.send(reply("+OK bye"))
        self.send(notice(DISCONNECT_BYE))
        self.out.put(None)


class Switch:
    """Shared simulated FreeSWITCH state and the TCP server."""

    def __init__(self, config: SimConfig | None = None, *, cc_clock: Callable[[], float] | None = None) -> None:
        """``cc_clock``: the wall clock mod_callcenter reads (tests pin it to a capture's time)."""
        self.config = config or SimConfig()
        self.templates = script.load_templates()
        self.sessions: set[Session] = set()
        self.calls: dict[str, Call] = {}
        self.used_uuids: deque[str] = deque(maxlen=200_000)
        self._used_set: set[str] = set()
        self.core_uuid = str(uuid.uuid4())
        self.seq = 1000
        self.started = time.time()
        self.since_startup = 0
        self.sps_tick = 0
        self.sps_used = 0
        self.originates = 0
        self.aborts = 0  # times a command made FreeSWITCH abort (switch_assert) and restart
        self.extra_legs = 0  # legs beyond the first that originates asked for
        self.server: StreamServer | None = None
        self._hb: gevent.Greenlet | None = None
        self.rng = random.Random()
        self.tick_clock = time.monotonic  # the sessions-per-second budget renews each whole second of this clock
        self.floor = Floor(self, cc_clock)
        self.cdr = CdrWriter(self.config.cdr_dir) if self.config.cdr_dir else None
        self.refusing = False  # connections are closed at once (the ESL port is unreachable)

    # -- server ------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> Switch:
        self.server = StreamServer((host, port), self._accept)
        self.server.start()
        if self.config.heartbeat_s > 0:
            self._hb = gevent.spawn(self._heartbeats)
        return self

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        return self.server.address[0], self.server.address[1]

    def stop(self) -> None:
        self.floor.stop()
        if self._hb is not None:
            self._hb.kill()
        if self.server is not None:
            self.server.stop(timeout=1)
        self.drop_all()
        for call in list(self.calls.values()):
            self._cancel(call)
        self.calls.clear()
        if self.cdr is not None:
            self.cdr.close()

    def _accept(self, sock: Any, addr: Any) -> None:
        import socket as _s

        if self.refusing:
            sock.close()
            return
        sock.setsockopt(_s.IPPROTO_TCP, _s.TCP_NODELAY, 1)
        session = Session(self, sock, addr)
        self.sessions.add(session)
        session.serve()

    # -- faults ------------------------------------------------------------
    def drop_all(self) -> None:
        """Close every client connection abruptly (no disconnect notice)."""
        for s in list(self.sessions):
            s.close()

    def refuse(self, on: bool = True) -> None:
        """Cut ESL: every connection dropped and new ones closed at once, until ``refuse(False)``.
        The calls go on (and end, and write their CDRs) meanwhile."""
        self.refusing = on
        if on:
            self.drop_all()

    def restart(self, hangup_cause: str | None = None) -> None:
        """As a FreeSWITCH restart: connections dropped, every channel gone, new Core-UUID.

        Without ``hangup_cause`` the switch crashed: no channel wrote a CDR.
        With one it was shut down: each call is hung up with that cause
        (``SYSTEM_SHUTDOWN`` for ``fsctl shutdown``) and writes its CDR. A real
        FreeSWITCH also sends those hangups to the clients still connected;
        here the connections go first: the case of an engine that was away.
        """
        self.drop_all()
        if hangup_cause is not None:
            for u in list(self.calls):
                self.kill(u, hangup_cause)
        for call in list(self.calls.values()):
            self._cancel(call)
        self.calls.clear()
        self.floor.reset()
        self.core_uuid = str(uuid.uuid4())
        self.started = time.time()

    def abort(self, why: str) -> None:
        """As FreeSWITCH 1.10.12 hitting an assertion: every call of every tenant ends, and the
        process comes back (under its supervisor) as a new switch."""
        log.error("simulated FreeSWITCH aborted: %s", why)
        self.aborts += 1
        self.restart()

    def stall(self, on: bool = True) -> None:
        for s in self.sessions:
            s.stalled = on

    # -- events ------------------------------------------------------------
    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def broadcast(self, name: str, headers: list[tuple[str, str]], body: str | None = None,
                  subclass: str | None = None, arrays: bool = False) -> None:
        """Send an event to every session that wants it (``arrays``: values may be
        FreeSWITCH arrays, ``ARRAY::a|:b``)."""
        cache: dict[str, bytes] = {}
        exact: dict[str, str] = {}
        index: dict[str, str] = {}

        def get(header: str) -> str | None:
            # Filters name headers as events spell them: an exact-case map (one C-level
            # step) answers them; the case-insensitive one is built only when it misses.
            if not exact:
                exact.update(reversed(headers))
            value = exact.get(header)
            if value is not None:
                return value
            if not index:
                for k, v in reversed(headers):
                    index[k.lower()] = v
            return index.get(header.lower())

        if name == "CHANNEL_HANGUP_COMPLETE" and self.cdr is not None:
            self.cdr.write(get)  # mod_cdr_csv runs before the event is fired, listener or not
        encode = script.encode_event_arrays if arrays else encode_event
        for s in list(self.sessions):
            if s.wants(name, get, subclass):
                fmt = s.fmt if s.fmt in ("json", "xml") else "plain"
                data = cache.get(fmt)
                if data is None:
                    data = cache[fmt] = encode(headers, fmt, body)
                s.send(data)

    def _heartbeats(self) -> None:
        while True:
            gevent.sleep(self.config.heartbeat_s)
            self.heartbeat()

    def heartbeat(self) -> None:
        now = int(time.time() * 1e6)
        up = int(time.time() - self.started)
        headers = [
            ("Event-Name", "HEARTBEAT"),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.config.hostname),
            ("FreeSWITCH-Switchname", self.config.hostname),
            ("FreeSWITCH-IPv4", "127.0.0.1"),
            ("FreeSWITCH-IPv6", "::1"),
            ("Event-Date-Local", script.local_stamp(now)),
            ("Event-Date-GMT", script.event_dates(now)["ev_gmt"]),
            ("Event-Date-Timestamp", str(now)),
            ("Event-Calling-File", "switch_core.c"),
            ("Event-Calling-Function", "send_heartbeat"),
            ("Event-Calling-Line-Number", "86"),
            ("Event-Sequence", str(self.next_seq())),
            ("Event-Info", "System Ready"),
            ("Up-Time", f"0 years, 0 days, 0 hours, {up // 60} minutes, {up % 60} seconds, 0 milliseconds, 0 microseconds"),
            ("FreeSWITCH-Version", "1.10.12-release~64bit"),
            ("Uptime-msec", str(up * 1000)),
            ("Session-Count", str(self.session_count())),
            ("Max-Sessions", str(self.config.max_sessions)),
            ("Session-Per-Sec", str(self.config.sps)),
            ("Session-Per-Sec-Last", str(self.sps_used)),
            ("Session-Per-Sec-Max", str(self.config.sps)),
            ("Session-Per-Sec-FiveMin", "0"),
            ("Session-Since-Startup", str(self.since_startup)),
            ("Session-Peak-Max", "0"),
            ("Session-Peak-FiveMin", "0"),
            ("Idle-CPU", "98.000000"),
        ]
        self.broadcast("HEARTBEAT", headers)

    def big_event(self) -> list[tuple[str, str]]:
        """A SIP CHANNEL_HANGUP_COMPLETE padded to ~300 headers / ~10 KB (benchmarks)."""
        template = self.templates["sofia"]["answer"]
        ev = next(e for e in template.events if e.name == "CHANNEL_HANGUP_COMPLETE")
        plan = script.plan_call(template, script.OUTCOMES["answer"], 30, 1.0, str(uuid.uuid4()))
        base = int(time.time() * 1e6)
        values = {"A": str(uuid.uuid4()), "J": str(uuid.uuid4()), "P": "13800000000", "C": "1000", "CTX": "", "ARG": "", "CORE": self.core_uuid, "U": str(uuid.uuid4())}
        instants = {leg: {k: base + v for k, v in m.items()} for leg, m in plan.instants.items()}
        ctx = CallContext(values, [("eslbridge_engine", "bench"), ("eslbridge_attempt", "1")], instants)
        headers = script.render(ev, ctx, base, self.next_seq(), plan.job_body)
        i = 0
        while len(headers) < 300:
            headers.append((f"variable_x_{i}", "1"))
            i += 1
        return headers

    # -- calls -------------------------------------------------------------
    def session_count(self) -> int:
        return sum(c.legs for c in self.calls.values())

    def _job_event(self, job_uuid: str, arg: str, body: str, command: str = "originate") -> None:
        now = int(time.time() * 1e6)
        dates = script.event_dates(now)
        headers = [
            ("Event-Name", "BACKGROUND_JOB"),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.config.hostname),
            ("FreeSWITCH-Switchname", self.config.hostname),
            ("FreeSWITCH-IPv4", "127.0.0.1"),
            ("FreeSWITCH-IPv6", "::1"),
            ("Event-Date-Local", dates["ev_local"]),
            ("Event-Date-GMT", dates["ev_gmt"]),
            ("Event-Date-Timestamp", dates["ev_us"]),
            ("Event-Calling-File", "mod_event_socket.c"),
            ("Event-Calling-Function", "api_exec"),
            ("Event-Calling-Line-Number", "1572"),
            ("Event-Sequence", str(self.next_seq())),
            ("Job-UUID", job_uuid),
            ("Job-Command", command),
            ("Job-Command-Arg", arg),
            ("Content-Length", str(len(body.encode()))),
        ]
        if not arg:
            headers = [h for h in headers if h[0] != "Job-Command-Arg"]
        self.broadcast("BACKGROUND_JOB", headers, body)

    def _take_sps(self, n: int) -> bool:
        tick = int(self.tick_clock())
        if tick != self.sps_tick:
            self.sps_tick, self.sps_used = tick, 0
        if self.sps_used + n > self.config.sps:
            return False
        self.sps_used += n
        return True

    def bgapi(self, command: str, job_uuid: str) -> None:
        verb, _, arg = command.partition(" ")
        if verb != "originate":
            gevent.spawn(self._job_event, job_uuid, arg, self.api(command), verb)
            return
        self.originates += 1
        try:
            req = script.parse_originate(arg)
        except OriginateUsage:
            self._job_event(job_uuid, arg, script.USAGE)
            return
        if req.destination is None:
            self.abort("originate without an extension")
            return
        if len(req.legs) > 1:
            # FreeSWITCH would place every leg; the simulator plays the first and counts the rest.
            self.extra_legs += len(req.legs) - 1
        target = script.dial_target(req.dial)
        if target is None:
            self._job_event(job_uuid, arg, "-ERR CHAN_NOT_IMPLEMENTED\n")
            return
        kind, number, context = target
        legs = 2 if kind == "loopback" else 1
        if self.session_count() + legs > self.config.max_sessions or not self._take_sps(1):
            # FreeSWITCH refuses at once, with no channel events.
            self._job_event(job_uuid, arg, "-ERR DESTINATION_OUT_OF_ORDER\n")
            return
        self.since_startup += legs
        self._start_call(req, job_uuid, kind, number, context, legs)

    def _start_call(self, req: Originate, job_uuid: str, kind: str, number: str, context: str, legs: int) -> None:
        outcome = self.config.rules.pick(number)
        tpl_name = outcome.template if kind == "loopback" else script.SOFIA_TEMPLATE[outcome.template]
        template = self.templates[kind][tpl_name]
        a_uuid = req.variables.get("origination_uuid") or str(uuid.uuid4())
        if a_uuid in self._used_set or a_uuid in self.calls:
            a_uuid = str(uuid.uuid4())  # FreeSWITCH answers +OK with a fresh uuid
        self._remember(a_uuid)
        try:
            timeout_s = float(req.variables.get("originate_timeout", "60"))
        except ValueError:
            timeout_s = 60.0
        plan = script.plan_call(template, outcome, timeout_s, self.config.time_scale, a_uuid)
        base = int(time.time() * 1e6)
        b_uuid = str(uuid.uuid4()) if kind == "loopback" else None
        values = {
            "A": a_uuid,
            "B": b_uuid or "",
            "J": job_uuid,
            "P": number,
            "C": req.variables.get("origination_caller_id_number", "0000000000"),
            "CTX": context,
            "ARG": req.arg,
            "CORE": self.core_uuid,
            "U": str(uuid.uuid4()),
        }
        abs_instants = {leg: {k: base + v for k, v in marks.items()} for leg, marks in plan.instants.items()}
        ctx = CallContext(values, list(req.variables.items()), abs_instants)
        call = Call(a_uuid, b_uuid, job_uuid, plan, ctx, base, legs)
        self.calls[a_uuid] = call
        order = list(range(len(template.events)))
        route = route_of(req.destination or "", req.dialplan, req.context, req.variables,
                         self.config.callcenter.playback_s)
        if route is not None and template.answered:
            # The answered call runs `callcenter`: its hangup comes from the queue, not the template.
            cut = next(i for i, e in enumerate(template.events) if e.name == "CHANNEL_HANGUP")
            call.cc = self._queue_call(call, route, list(range(cut, len(template.events))), req.variables)
            order = order[:cut]
            plan.times_us = plan.times_us[:cut]
        if self.config.shuffle:
            self.rng.shuffle(order)
        # Delivery keeps the captured order: times are made non-decreasing
        # along it and one timer per call emits everything that is due.
        times = sorted(plan.times_us) if self.config.shuffle else list(plan.times_us)
        for i in range(1, len(times)):
            times[i] = max(times[i], times[i - 1])
        call.pending.extend(order)
        call.due_us = times
        self._arm(call, 0)

    def _arm(self, call: Call, slot: int) -> None:
        delay = max(0.0, (call.base_us + call.due_us[slot]) / 1e6 - time.time())
        timer = gevent.get_hub().loop.timer(delay)
        timer.start(self._fire, call, slot)
        call.timers = [timer]

    def _remember(self, u: str) -> None:
        if len(self.used_uuids) == self.used_uuids.maxlen:
            self._used_set.discard(self.used_uuids[0])
        self.used_uuids.append(u)
        self._used_set.add(u)

    def _fire(self, call: Call, slot: int) -> None:
        if call.done:
            return
        now_us = time.time() * 1e6 - call.base_us
        while call.pending and (slot >= len(call.due_us) or call.due_us[slot] <= now_us + 500):
            self._emit(call, call.pending.popleft())
            slot += 1
        if call.pending:
            self._arm(call, slot)
        elif call.cc is not None and call.cc.stage == "pre":
            self.floor.start(call)
        else:
            self._finish(call)

    def _emit(self, call: Call, idx: int) -> None:
        ev = call.plan.template.events[idx]
        if ev.name == "CHANNEL_ANSWER":
            call.answered = True
        if ev.name == "BACKGROUND_JOB":
            call.job_sent = True
        seq = self.next_seq()  # FreeSWITCH numbers every event, sent to anyone or not
        # Most of a call's events are ones no session asked for (CREATE, HANGUP, DESTROY):
        # filling their templates was most of the simulator's time per call.
        # A hangup is filled for the CDR writer too: mod_cdr_csv writes whether anyone listens or not.
        cdr = ev.name == "CHANNEL_HANGUP_COMPLETE" and self.cdr is not None
        if not cdr and not any(s.subscribed(ev.name) for s in self.sessions):
            return
        headers = script.render(ev, call.ctx, int(time.time() * 1e6), seq, call.plan.job_body)
        if call.cause is not None and ev.name in _HANGUP_EVENTS:
            headers = _with_cause(headers, call.cause)
        self.broadcast(ev.name, headers, call.plan.job_body if ev.name == "BACKGROUND_JOB" else None)

    def _finish(self, call: Call) -> None:
        call.done = True
        self._cancel(call)
        self.calls.pop(call.a_uuid, None)

    def _cancel(self, call: Call) -> None:
        for t in call.timers:
            t.stop()
            t.close()
        call.timers.clear()
        if call.cc is not None:  # a queue call's own timers (callee hangup, dialplan) go with it
            for t in call.cc.timers:
                t.stop()
            call.cc.timers.clear()

    def _queue_call(self, call: Call, route: Route, post: list[int], variables: dict[str, str]) -> QueueCall:
        dp_exports = None if "cc_export_vars" in variables else route.dp_exports
        marks = {leg: {k: v for k, v in m.items() if k != "hangup"} for leg, m in call.ctx.instants.items()}
        return QueueCall(route, post, marks, list(variables.items()), exported(variables, dp_exports), dp_exports,
                         variables.get("hangup_after_bridge", "").lower() == "true")

    def transfer(self, a_uuid: str, dest: str, dialplan: str, context: str) -> bool:
        """``uuid_transfer``: a queue member leaves its queue (BREAK_OUT) for the new
        extension; an answered call sent to a queue extension joins that queue."""
        call = self.calls.get(a_uuid)
        if call is None:
            return False
        if call.cc is None and call.answered and not call.done:
            route = route_of(dest, dialplan, context, dict(call.ctx.variables), self.config.callcenter.playback_s)
            events = call.plan.template.events
            post = [i for i in call.pending if events[i].name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
                                                                  "CHANNEL_DESTROY")]
            if route is not None and route.queue is not None and post:
                self._cancel(call)
                for idx in [i for i in call.pending if i not in post]:
                    self._emit(call, idx)
                call.pending.clear()
                call.cc = self._queue_call(call, route, post, dict(call.ctx.variables))
                self.floor.start(call)
            return True
        if call.cc is not None and call.cc.stage != "pre":
            self.floor.transfer(call, dest, dialplan, context)
        return True

    def kill(self, a_uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        call = self.calls.get(a_uuid)
        if call is None:
            return False
        if call.cc is not None:
            if call.cc.stage not in ("pre", "done"):
                self.floor.kill(call)
                return True
            call.pending.extend(i for i in call.cc.post if i not in call.pending)  # rings still: a plain call
            call.cc = None
        self._cancel(call)
        now = int(time.time() * 1e6)
        for marks in call.ctx.instants.values():
            marks["hangup"] = now
        call.ctx.leg_cache.clear()
        call.cause = cause
        events = call.plan.template.events
        remaining = sorted(call.pending)
        if not call.answered:
            remaining = [i for i in remaining if events[i].name not in ("CHANNEL_ANSWER",)]
            call.plan.job_body = f"-ERR {cause}\n"
        call.pending.clear()
        for idx in remaining:
            self._emit(call, idx)
        self._finish(call)
        return True

    # -- api ---------------------------------------------------------------
    def api(self, command: str) -> str:
        parts = command.split()
        verb = parts[0] if parts else ""
        args = parts[1:]
        if verb == "status":
            up_s = time.time() - self.started
            up, ms = int(up_s), int(up_s * 1000) % 1000
            n = self.session_count()
            return (
                f"UP 0 years, 0 days, 0 hours, {up // 60} minutes, {up % 60} seconds, {ms} milliseconds, 0 microseconds\n"
                "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
                f"{self.since_startup} session(s) since startup\n"
                f"{n} session(s) - peak {n}, last 5min {n} \n"
                f"{self.sps_used} session(s) per Sec out of max {self.config.sps}, peak {self.config.sps}, last 5min 0 \n"
                f"{self.config.max_sessions} session(s) max\n"
                "min idle cpu 0.00/98.00\n"
                "Current Stack Size/Max 240K/8192K\n"
            )
        if verb == "version":
            return "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n"
        if verb == "hostname":
            return self.config.hostname
        if verb == "global_getvar":
            return self._global_getvar(args)
        if verb == "cdr_csv" and self.cdr is not None:
            if args == ["rotate"]:
                self.cdr.rotate()
                return "+OK"
            return "-ERR cdr_csv Command not found!\n"
        if verb == "uptime":
            return f"{int(time.time() - self.started)}\n"
        if verb == "show" and args:
            return self._show(args)
        if verb == "uuid_exists" and args:
            return "true" if self._leg_exists(args[0]) else "false"
        if verb == "uuid_kill" and args:
            return "+OK\n" if self.kill(args[0], args[1] if len(args) > 1 else "NORMAL_CLEARING") else "-ERR No such channel!\n"
        if verb == "hupall":
            for u in list(self.calls):
                self.kill(u, args[0] if args else "MANAGER_REQUEST")
            return "+OK hupall\n"
        if verb == "fsctl":
            return self._fsctl(args)
        if verb == "callcenter_config":
            return self.floor.api(command.partition(" ")[2])
        if verb == "json":
            return self._json_api(command.partition(" ")[2])
        if verb == "uuid_transfer":
            return self._uuid_transfer(args)
        return f"-ERR {verb} Command not found!\n"

    def _uuid_transfer(self, args: list[str]) -> str:
        if not 2 <= len(args) <= 5:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        rest = args[2:] if args[1].startswith("-") else args[1:]
        if not rest:
            return "-ERR\n"
        dest, dialplan, context = rest[0], rest[1] if len(rest) > 1 else "XML", rest[2] if len(rest) > 2 else "default"
        return "+OK\n" if self.transfer(args[0], dest, dialplan, context) else "-ERR No such channel!\n"

    def _json_api(self, text: str) -> str:
        """``api json {...}`` (mod_commands' json_function): the request echoed with
        ``status`` and ``response``; only callcenter_config answers here."""
        if not text.strip():
            return "-ERR No JSON supplied.\n"
        try:
            req = json.loads(text)
        except ValueError:
            return "-ERR Parse error.\n"
        if not isinstance(req, dict):
            return "-ERR Parse error.\n"
        data = req.get("data")
        if req.get("command") == "callcenter_config" and isinstance(data, dict):
            response = self.floor.cc.json_api(str(data.get("arguments") or ""))
            if response is None:
                req["status"], req["message"], req["response"] = "error", "The command returned an error", None
            else:
                req["status"], req["response"] = "success", response
        else:
            req["status"], req["message"] = "error", "Invalid request or non-existant command"
            req["response"] = None
        return json.dumps(req, separators=(",", ":"), ensure_ascii=False) + "\n"

    def _leg_exists(self, u: str) -> bool:
        return u in self.calls or any(c.b_uuid == u for c in self.calls.values())

    def _fsctl(self, args: list[str]) -> str:
        if not args:
            return "-USAGE: [api_expansion [on|off]|recover|send_sighup|hupall|pause [inbound|outbound]|resume [inbound|outbound]|shutdown [cancel|elegant|asap|now|restart]|sps|sps_peak_reset|sync_clock|sync_clock_when_idle|reclaim_mem|max_sessions|min_dtmf_duration [num]|max_dtmf_duration [num]|default_dtmf_duration [num]|min_idle_cpu|loglevel [level]|debug_level [level]|mdns_resolve [enable|disable]]\n"
        if args[0] == "sps":
            if len(args) > 1 and args[1].isdigit():
                self.config.sps = int(args[1])
            return f"+OK sessions per second: {self.config.sps}\n"
        if args[0] == "max_sessions":
            if len(args) > 1 and args[1].isdigit():
                self.config.max_sessions = int(args[1])
            return f"+OK max sessions: {self.config.max_sessions}\n"
        if args[0] == "last_sps":
            return f"+OK last sessions per second: {self.sps_used}\n"
        if args[0] == "hupall":
            return self.api("hupall " + " ".join(args[1:]))
        if args[0] == "send_sighup" and self.cdr is not None:
            self.cdr.rotate()  # mod_cdr_csv with rotate-on-hup
        return "+OK\n"

    def _global_getvar(self, args: list[str]) -> str:
        """The core's global variables (switch_core.c sets core_uuid at startup); a value ends in a newline."""
        variables = {"core_uuid": self.core_uuid, "hostname": self.config.hostname}
        if not args:
            return "".join(f"{k}={v}\n" for k, v in variables.items())
        value = variables.get(args[0])
        return "-ERR no reply\n" if value is None else value + "\n"  # as mod_event_socket says an empty reply

    def _rows(self) -> list[dict[str, str]]:
        rows = []
        for c in self.calls.values():
            for leg, u in (("A", c.a_uuid), ("B", c.b_uuid)):
                if u is None:
                    continue
                created = c.ctx.instants.get(leg, {}).get("created", c.base_us)
                rows.append(
                    {
                        "uuid": u,
                        "direction": "outbound" if leg == "A" else "inbound",
                        "created": script.local_stamp(created),
                        "created_epoch": str(created // 1_000_000),
                        "name": f"loopback/{c.ctx.values['P']}-{leg.lower()}" if c.b_uuid else f"sofia/external/{c.ctx.values['P']}",
                        "state": "CS_EXECUTE",
                        "dest": c.ctx.values["P"],
                        "callstate": "ACTIVE" if c.answered else "RINGING",
                        "call_uuid": c.a_uuid,
                        "hostname": self.config.hostname,
                    }
                )
        return rows

    def _show(self, args: list[str]) -> str:
        # `show calls` and `show channels` both list every leg, as FreeSWITCH
        # does for loopback calls (captured: 3 calls → "6 total.").
        rows = self._rows()
        if "count" in args[1:]:
            return f"\n{len(rows)} total.\n"
        if args[1:3] == ["as", "json"]:
            if not rows:
                return '{"row_count": 0}\n'
            return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":")) + "\n"
        if not rows:
            return "\n0 total.\n"
        cols = list(rows[0])
        lines = [",".join(cols)] + [",".join(r[c] for c in cols) for r in rows]
        return "\n".join(lines) + f"\n\n{len(rows)} total.\n"



# -- mod_callcenter on the floor ---------------------------------------------------
@dataclass
class QueueCall:
    """A call routed to a queue extension: where it is, and its channels' instants."""

    route: Route
    post: list[int]  # the base template's hangup-phase events, held back
    marks: dict[str, dict[str, int]]  # A (member) and B (callee) instants, absolute µs
    variables: list[tuple[str, str]]
    exports: list[tuple[str, str]]  # what cc_export_vars copies onto the agent legs
    dp_exports: str | None  # cc_export_vars as the queue's dialplan sets it
    hangup_after_bridge: bool
    stage: str = "pre"  # pre | queue | bridged | after | done
    member: Member | None = None
    offer: Offer | None = None
    huc: str = ""  # the member's hangup event while in stage "after": A:huc-cancel | A:huc-after-bridge
    reason: str = ""
    cc_cause: str = ""
    timers: list[Any] = field(default_factory=list)


class Floor:
    """mod_callcenter inside the simulated switch: runs the model on the switch's
    clock (scaled like the calls), turns its :class:`~.callcenter.Out` records into
    events from the ``cc`` templates, and plays the member calls' channels."""

    def __init__(self, switch: Switch, clock: Callable[[], float] | None = None) -> None:
        self.switch = switch
        self.clock = clock or time.time
        self.scale = switch.config.time_scale if switch.config.time_scale > 0 else 0.001
        self.t0 = self.clock()
        self.templates = switch.templates.get("cc", {})
        self.cc = CallCenter(switch.config.callcenter, self.now(), epoch=self.epoch)
        self._timer: Any = None
        self._defer: list[Callable[[], None]] | None = None

    # -- clocks --------------------------------------------------------------------
    def now(self) -> float:
        """The model's clock: the switch's, run 1/time_scale times faster."""
        return self.t0 + (self.clock() - self.t0) / self.scale

    def epoch(self, model_s: float) -> int:
        return int(self.t0 + (model_s - self.t0) * self.scale)

    def _later(self, qc: QueueCall | None, model_s: float, fn: Callable[..., None], *args: Any) -> Any:
        timer = gevent.get_hub().loop.timer(max(0.0, model_s * self.scale))
        timer.start(fn, *args)
        if qc is not None:
            qc.timers.append(timer)
        return timer

    def arm(self) -> None:
        """Wake the model when it next has work (re-armed after every input)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        now = self.now()
        due = self.cc.next_wakeup(now)
        if due is None:
            return
        delay = max(0.001, (due - now) * self.scale + 0.0002)
        self._timer = gevent.get_hub().loop.timer(delay)
        self._timer.start(self._wake)

    def _wake(self) -> None:
        self._timer = None
        self.play(self.cc.tick(self.now()))
        self.arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def reset(self) -> None:
        """A switch restart: every member and offer is gone with its channels."""
        self.stop()
        for offer in list(self.cc.offers):
            offer.agent.state = "Waiting"
        self.cc.offers.clear()
        self.cc.members.clear()

    # -- deferral: an api reply goes out before the events its command fired -------
    class _Deferred:
        def __init__(self, floor: Floor) -> None:
            self.floor = floor

        def __enter__(self) -> None:
            if self.floor._defer is None:
                self.floor._defer = []

        def __exit__(self, *exc: object) -> None:
            pending, self.floor._defer = self.floor._defer or [], None
            for fn in pending:
                fn()
            self.floor.arm()

    def deferred(self) -> Floor._Deferred:
        return Floor._Deferred(self)

    def _batch(self) -> Floor._Deferred | _nothing:
        """Send what a timer or command fires together, then re-arm the model."""
        return self.deferred() if self._defer is None else _nothing()

    def _send(self, fn: Callable[[], None]) -> None:
        if self._defer is not None:
            self._defer.append(fn)
        else:
            fn()

    # -- api --------------------------------------------------------------------------
    def api(self, args: str) -> str:
        text, outs = self.cc.api(args, self.now())
        self.play(outs)
        self.arm()
        return text or "-ERR no reply\n"

    # -- rendering ------------------------------------------------------------------
    def _render(self, name: str, values: dict[str, str | None], marks: dict[str, dict[str, int]],
                variables: Sequence[tuple[str, str]] = (), exports: Sequence[tuple[str, str]] = ()) -> None:
        tpl = self.templates.get(name)
        if tpl is None:
            return
        ev = tpl.events[0]
        sw = self.switch
        values.setdefault("CORE", sw.core_uuid)
        values.setdefault("U", str(uuid.uuid4()))
        now_us = int(time.time() * 1e6)
        marks = {leg: dict(m) for leg, m in marks.items()}  # as they are now, not when a deferred send goes

        def send() -> None:
            headers = script.render_fragment(ev, values, marks, variables, exports, now_us, sw.next_seq())
            subclass = "callcenter::info" if ev.name == "CUSTOM" else None
            sw.broadcast(ev.name, headers, subclass=subclass, arrays=True)

        self._send(send)

    def _values(self, call: Call | None, out: Out | None = None) -> dict[str, str | None]:
        v: dict[str, str | None] = {}
        if call is not None:
            qc = call.cc
            v.update(call.ctx.values)
            v["A"], v["B"] = call.a_uuid, call.b_uuid or ""
            if qc is not None:
                v["DEST"], v["DCTX"] = qc.route.dest, qc.route.context
                v["DP_EXPORTS"] = qc.dp_exports
        m = out.member if out is not None and out.member is not None else (call.cc.member if call and call.cc else None)
        if m is not None:
            v["Q"], v["M"] = m.queue, m.uuid
            v["A"] = str(m.data.get("session", v.get("A", "")))
            v["e:joined"] = str(self.epoch(m.joined_epoch))
            v["e:leaving"] = str(self.epoch(m.abandoned_epoch)) if m.abandoned_epoch else None
            v.setdefault("P", m.dnis)
            v.setdefault("CTX", m.cid_number)
        offer = out.offer if out is not None and out.offer is not None else (call.cc.offer if call and call.cc else None)
        if offer is not None:
            v.update(offer.legs)
            self._agent_values(v, offer.agent)
            v["e:called"] = str(self.epoch(offer.called_epoch))
            v["e:agent_answered"] = v["e:bridged"] = str(self.epoch(offer.answered_epoch))
            v["e:bridge_end"] = str(self.epoch(offer.bridge_end_epoch))
            v["e:aborted"] = str(self.epoch(offer.aborted_epoch))
            if offer.member.bridge_epoch == 0 and not offer.bridge_end_epoch:
                v["e:leaving"] = str(self.epoch(offer.member.abandoned_epoch or offer.aborted_epoch))
            else:
                v["e:leaving"] = v["e:bridge_end"]
        if out is not None:
            if out.agent is not None:
                self._agent_values(v, out.agent)
            v.update({"COUNT": out.value, "STATE": out.value, "STATUS": out.value, "REASON": out.value,
                      "CAUSE": out.value, "CAUSE_Q850": Q850.get(out.value, "16"), "CONTACT": out.value,
                      "NA_STATUS": out.value})
            if out.queue:
                v["Q"] = out.queue
        return v

    @staticmethod
    def _agent_values(v: dict[str, str | None], agent: Agent) -> None:
        target = agent.contact.rsplit("]", 1)[-1].split("/")
        v["AG"], v["AGTYPE"] = agent.name, agent.type
        v["AGN"] = target[1] if len(target) > 2 else agent.name.split("@", 1)[0]
        v["NA_COUNT"] = str(agent.max_no_answer)

    @staticmethod
    def _call_of(member: Member | None) -> Call | None:
        if member is None:
            return None
        call = member.data.get("call")
        return call if isinstance(call, Call) else None

    def _marks(self, call: Call | None, offer: Offer | None) -> dict[str, dict[str, int]]:
        marks: dict[str, dict[str, int]] = {}
        if call is not None and call.cc is not None:
            marks.update(call.cc.marks)
        if offer is not None:
            legs = offer.data.setdefault("marks", {})
            assert isinstance(legs, dict)
            marks.update(legs)
        return marks

    def _mark(self, offer: Offer, legs: str, *names: str) -> None:
        us = int(time.time() * 1e6)
        table = offer.data.setdefault("marks", {})
        assert isinstance(table, dict)
        for leg in legs.split():
            for name in names:
                table.setdefault(leg, {})[name] = us

    # -- what mod_callcenter does ---------------------------------------------------
    def play(self, outs: list[Out]) -> None:
        for out in outs:
            self._play(out)

    def _play(self, out: Out) -> None:
        k = out.kind
        call = self._call_of(out.member)
        offer = out.offer
        if k in ("agent-state-change", "agent-status-change", "agent-status-get", "agent-state-get",
                 "agent-contact-change", "members-count"):
            self._render(k, self._values(None, out), {})
            return
        values = self._values(call, out)
        marks = self._marks(call, offer)
        qc = call.cc if call is not None else None
        variables = qc.variables if qc is not None else []
        exports = qc.exports if qc is not None else []
        if k in ("agent-offering", "bridge-agent-fail", "agent-max-no-answer"):
            if k == "agent-offering" and offer is not None:
                self._mark(offer, "LA LB", "created", "profile")
                if qc is not None:
                    qc.offer = offer
            self._render(k, values, marks)
        elif k == "member-queue-start":
            self._render(k, values, marks, variables)
        elif k == "agent-legs-up" and offer is not None:
            self._mark(offer, "PA PB", "created", "profile", "answered")
            self._mark(offer, "LA LB", "answered", "progress_media")
            self._mark(offer, "LB PA", "bridged")
            marks = self._marks(call, offer)
            for name in ("PA:answer", "PB:answer", "LA:answer", "LB:answer", "LB:bridge"):
                self._render(name, values, marks, variables, exports)
        elif k == "bridge-agent-start":
            self._render(k, values, marks, variables, exports)
        elif k == "agent-line-gone" and offer is not None:
            self._mark(offer, "LA LB", "hangup")
            marks = self._marks(call, offer)
            for name in ("LB:unbridge", "LB:huc", "LA:huc"):
                self._render(name, values, marks, variables, exports)
        elif k == "member-bridged" and qc is not None:
            qc.stage, qc.cc_cause = "bridged", "answered"
            qc.marks["A"]["bridged"] = int(time.time() * 1e6)
            self._render("A:bridge", values, self._marks(call, offer), variables)
        elif k == "agent-legs-answered" and offer is not None:
            self._mark(offer, "LA LB", "answered", "progress_media")
            marks = self._marks(call, offer)
            self._render("LA:answer", values, marks, variables, exports)
            self._render("LB:answer", values, marks, variables, exports)
        elif k == "agent-legs-failed" and offer is not None:
            if out.value == "SUCCESS":
                values["CAUSE"], values["CAUSE_Q850"] = "DESTINATION_OUT_OF_ORDER", "27"
            self._mark(offer, "LA LB", "hangup")
            marks = self._marks(call, offer)
            self._render("LA:huc-failed", values, marks, variables, exports)
            self._render("LB:huc-failed", values, marks, variables, exports)
            if qc is not None:
                qc.offer = None
        elif k == "agent-hangup" and offer is not None and call is not None and qc is not None:
            self._mark(offer, "PA PB", "hangup")
            marks = self._marks(call, offer)
            self._render("PB:huc-first", values, marks, variables, exports)
            self._render("A:unbridge-up", values, marks, variables)
            self._render("PA:huc-first", values, marks, variables, exports)
            if qc.hangup_after_bridge:
                # hangup_after_bridge=true: the member hangs up with its agent.
                self._hangup_member(call, "A:huc-answered", "B:huc-peer")
                self.play(self.cc.member_hangup(call.a_uuid, self.now()))
        elif k == "bridge-agent-end" and offer is not None:
            name = k if offer.ended_by == "member" else "bridge-agent-end:agent-first"
            self._render(name, values, marks, variables, exports)
        elif k == "member-queue-end":
            name = "member-queue-end:" + (out.variant or "cancel-up")
            if qc is not None and out.value != "Terminated":
                qc.cc_cause, qc.reason = "cancel", out.value
            self._render(name, values, marks, variables)
        elif k == "member-released" and call is not None and qc is not None and qc.stage != "done":
            # callcenter returned: the dialplan goes on (playback, then hangup).
            qc.stage, qc.offer = "after", None
            qc.huc = "A:huc-after-bridge" if out.value == "after-bridge" else "A:huc-cancel"
            if qc.route.after_s is not None:
                self._later(qc, qc.route.after_s, self._dialplan_done, call)

    # -- the member call's channels ---------------------------------------------------
    def start(self, call: Call) -> None:
        """The queue call's answer phase is over: the member joins its queue."""
        qc = call.cc
        assert qc is not None
        now = self.now()
        us = int(time.time() * 1e6)
        qc.marks["A"]["profile"] = us
        callee_up_to = call.base_us + max(
            call.plan.instants.get("B" if call.b_uuid else "A", {}).get("hangup", 0), 0)
        self._later(qc, max(0.0, callee_up_to / 1e6 - time.time()) / self.scale, self._callee_hangup, call)
        if qc.route.queue is None:
            self._route_elsewhere(call)
            return
        answered = call.ctx.instants.get("A", {}).get("answered", us) / 1e6
        member, outs = self.cc.join(qc.route.queue, call.a_uuid, "Outbound Call",
                                    call.ctx.values.get("CTX") or call.ctx.values.get("C", ""),
                                    call.ctx.values.get("P", ""), self.t0 + (answered - self.t0) / self.scale, now)
        if member is None:  # no such queue: the dialplan goes on at once
            self._route_elsewhere(call)
            return
        member.data["call"], member.data["session"] = call, call.a_uuid
        qc.member, qc.stage = member, "queue"
        with self._batch():
            self.play(outs)

    def _route_elsewhere(self, call: Call) -> None:
        qc = call.cc
        assert qc is not None
        qc.stage = "after"
        qc.huc = ""  # not a member: its hangup is the base call's
        if qc.route.after_s is not None:
            self._later(qc, qc.route.after_s, self._dialplan_done, call)

    def _callee_hangup(self, call: Call) -> None:
        """The called party hangs up (its talk time from the digit rules is over)."""
        qc = call.cc
        if qc is None or qc.stage in ("done", "pre"):
            return
        self._hangup(call, by_callee=True)

    def _dialplan_done(self, call: Call) -> None:
        """The extension after ``callcenter`` ends: ``hangup NORMAL_CLEARING``."""
        qc = call.cc
        if qc is None or qc.stage != "after":
            return
        self._hangup(call, by_callee=False)

    def kill(self, call: Call) -> None:
        self._hangup(call, by_callee=False)

    def _hangup(self, call: Call, by_callee: bool) -> None:
        qc = call.cc
        assert qc is not None
        with self._batch():
            if qc.stage == "queue":
                if by_callee:
                    self._leg_down(call, "B", "B:huc-self")
                outs = self.cc.member_hangup(call.a_uuid, self.now())
                self.play(outs)
                self._leg_down(call, "A", "A:huc-break-out")
                if not by_callee:
                    self._leg_down(call, "B", "B:huc-peer")
            elif qc.stage == "bridged":
                offer = qc.offer
                if by_callee:
                    self._leg_down(call, "B", "B:huc-self")
                self._render("A:unbridge-gone", self._values(call), self._marks(call, offer), qc.variables)
                self._leg_down(call, "A", "A:huc-answered")
                if not by_callee:
                    self._leg_down(call, "B", "B:huc-peer")
                if offer is not None:
                    self._mark(offer, "PA PB", "hangup")
                    values = self._values(call)
                    marks = self._marks(call, offer)
                    self._render("PA:huc-second", values, marks, qc.variables, qc.exports)
                    self._render("PB:huc-second", values, marks, qc.variables, qc.exports)
                self.play(self.cc.member_hangup(call.a_uuid, self.now()))
            elif qc.stage == "after" and qc.huc:
                if by_callee:
                    self._leg_down(call, "B", "B:huc-self")
                self._leg_down(call, "A", qc.huc)
                if not by_callee:
                    self._leg_down(call, "B", "B:huc-peer")
            elif qc.stage == "after":  # never a member: the base call's own hangup
                self._base_hangup(call)
                return
            self._done(call)

    def _hangup_member(self, call: Call, a_name: str, b_name: str) -> None:
        self._leg_down(call, "A", a_name)
        self._leg_down(call, "B", b_name)
        self._done(call)

    def _leg_down(self, call: Call, leg: str, name: str) -> None:
        qc = call.cc
        if qc is None or (leg == "B" and not call.b_uuid) or "hangup" in qc.marks.get(leg, {}):
            return
        us = int(time.time() * 1e6)
        qc.marks.setdefault(leg, {})["hangup"] = us
        call.ctx.instants.setdefault(leg, {})["hangup"] = us
        call.ctx.leg_cache.clear()
        self._base_event(call, leg, "CHANNEL_HANGUP")
        values = self._values(call)
        values["REASON"] = qc.reason or None  # cc_cancel_reason, as mod_callcenter left it
        self._render(name, values, self._marks(call, qc.offer), qc.variables)

    def _base_event(self, call: Call, leg: str, name: str) -> None:
        ev = next((e for e in call.plan.template.events if e.leg == leg and e.name == name), None)
        if ev is None:
            return
        sw = self.switch

        def send() -> None:
            headers = script.render(ev, call.ctx, int(time.time() * 1e6), sw.next_seq(), call.plan.job_body)
            sw.broadcast(ev.name, headers)

        self._send(send)

    def _base_hangup(self, call: Call) -> None:
        """A queue call that never became a member ends as the base template does."""
        qc = call.cc
        assert qc is not None
        now = int(time.time() * 1e6)
        for marks in call.ctx.instants.values():
            marks["hangup"] = now
        call.ctx.leg_cache.clear()
        for idx in qc.post:
            self._send(functools.partial(self._emit_base, call, idx))
        self._done(call)

    def _emit_base(self, call: Call, idx: int) -> None:
        ev = call.plan.template.events[idx]
        sw = self.switch
        sw.broadcast(ev.name, script.render(ev, call.ctx, int(time.time() * 1e6), sw.next_seq(), call.plan.job_body))

    def _done(self, call: Call) -> None:
        qc = call.cc
        assert qc is not None
        if qc.stage == "done":
            return
        qc.stage = "done"
        if qc.huc or qc.member is not None:
            for leg in ("A", "B"):
                self._base_event(call, leg, "CHANNEL_DESTROY")
        for t in qc.timers:
            t.stop()
        qc.timers.clear()
        self.switch._finish(call)

    # -- uuid_transfer ----------------------------------------------------------------
    def transfer(self, call: Call, dest: str, dialplan: str, context: str) -> None:
        qc = call.cc
        now = self.now()
        route = route_of(dest, dialplan, context, dict(call.ctx.variables), self.switch.config.callcenter.playback_s)
        if qc is None:
            return  # a call outside the queues: the simulator keeps it as it is
        with self._batch():
            if qc.stage == "queue":
                self.play(self.cc.member_transfer(call.a_uuid, now))
            elif qc.stage == "bridged" and qc.offer is not None:
                offer = qc.offer
                self._mark(offer, "PA PB", "hangup")
                values, marks = self._values(call), self._marks(call, offer)
                self._render("A:unbridge-up", values, marks, qc.variables)
                self._render("PA:huc-second", values, marks, qc.variables, qc.exports)
                self._render("PB:huc-second", values, marks, qc.variables, qc.exports)
                self.play(self.cc.member_transfer(call.a_uuid, now))
            for t in qc.timers:
                t.stop()
            qc.timers.clear()
            qc.route = route or Route(None, dest, context, dialplan, None, None)
            qc.offer = None
            if route is not None and route.queue is not None and qc.stage != "done":
                qc.stage, qc.member = "pre", None
                self.start(call)
                return
            qc.stage = "after"
            qc.huc = "A:huc-cancel" if qc.member is not None else ""
            qc.reason = qc.reason or "BREAK_OUT"
            callee_up_to = call.base_us + call.plan.instants.get("B" if call.b_uuid else "A", {}).get("hangup", 0)
            self._later(qc, max(0.0, callee_up_to / 1e6 - time.time()) / self.scale, self._callee_hangup, call)
            if route is not None and route.after_s is not None:
                self._later(qc, route.after_s, self._dialplan_done, call)


_HANGUP_EVENTS = frozenset({"CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"})
_CAUSE_HEADERS = frozenset({"Hangup-Cause", "variable_hangup_cause"})


def _with_cause(headers: list[tuple[str, str]], cause: str) -> list[tuple[str, str]]:
    """A hangup event of a call the switch hung up itself: its cause is the one it was given."""
    q850 = str(Q850_CODES.get(cause, 16))
    return [(k, cause if k in _CAUSE_HEADERS else q850 if k == "variable_hangup_cause_q850" else v) for k, v in headers]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# Q.850 codes FreeSWITCH writes with a failed agent leg's cause (ALLOTTED_TIMEOUT: 16 as captured).
Q850 = {"ALLOTTED_TIMEOUT": "16", "ORIGINATOR_CANCEL": "487", "USER_BUSY": "17", "CALL_REJECTED": "21",
        "NO_ANSWER": "19", "NORMAL_CLEARING": "16", "SUCCESS": "16"}
