"""A FreeSWITCH stand-in speaking the Event Socket as FreeSWITCH 1.10 does.

One :class:`Switch` holds the shared state (live channels, sessions-per-second
budget, max sessions, event sequence); every client gets a :class:`Session`
with its own subscription, format and filters, and a writer greenlet that
batches outgoing frames (so timers never block on a slow client). Call events
are scheduled on libev timers from the templates in :mod:`.script`.
Faults for tests: :meth:`Switch.drop_all`, :meth:`Switch.restart`,
``stall`` and ``split_writes`` on sessions.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.queue
from gevent.server import StreamServer

from . import script
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

CHANNEL_EVENTS = {
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
}
KNOWN_EVENTS = CHANNEL_EVENTS | {"BACKGROUND_JOB", "HEARTBEAT", "SHUTDOWN", "ALL", "CUSTOM", "API"}


@dataclass
class SimConfig:
    password: str = "ClueCon"
    time_scale: float = 1.0  # multiplies ring and talk times; 0 = instant calls
    sps: int = 30  # FreeSWITCH's sessions-per-second default
    max_sessions: int = 1000
    heartbeat_s: float = 20.0
    shuffle: bool = False  # deliver each call's events in random order
    hostname: str = "sim"
    rules: Rules = field(default_factory=Rules)


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


class Session:
    """One client connection."""

    def __init__(self, switch: Switch, sock: Any, addr: Any) -> None:
        self.switch = switch
        self.sock = sock
        self.addr = addr
        self.authed = False
        self.fmt: str | None = None
        self.events: set[str] = set()
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

    def wants(self, name: str, headers: list[tuple[str, str]]) -> bool:
        if self.fmt is None or not (self.all_events or name in self.events):
            return False
        if not self.filters:
            return True
        return any(v == value for h, value in self.filters for k, v in headers if k == h)

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
            fmt, _, names = rest.partition(" ")
            if fmt not in ("plain", "json", "xml"):
                names, fmt = rest, "plain"
            self.fmt = fmt
            for name in names.split():
                if name == "ALL":
                    self.all_events = True
                self.events.add(name)
            self.send(reply(f"+OK event listener enabled {fmt}"))
        elif verb == "nixevent":
            for name in rest.split():
                self.events.discard(name)
                if name == "ALL":
                    self.all_events = False
            self.send(reply("+OK events nixed"))
        elif verb == "noevents":
            self.events.clear()
            self.all_events = False
            self.fmt = None
            self.send(reply("+OK no longer listening for events"))
        elif verb == "filter":
            header, _, value = rest.partition(" ")
            if header == "delete":
                self.filters = [f for f in self.filters if f[0] != value.split(" ")[0]]
                self.send(reply("+OK filter deleted."))
            else:
                self.filters.append((header, value))
                self.send(reply(f"+OK filter added. [{header}]=[{value}]"))
        elif verb == "api" and rest.startswith("sim_flood"):
            self.flood(rest)
        elif verb == "api":
            self.send(api_response(sw.api(rest)))
        elif verb == "bgapi":
            job = headers.get("Job-UUID") or str(uuid.uuid4())
            self.send(reply(f"+OK Job-UUID: {job}", {"Job-UUID": job}))
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

    def __init__(self, config: SimConfig | None = None) -> None:
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
        if self._hb is not None:
            self._hb.kill()
        if self.server is not None:
            self.server.stop(timeout=1)
        self.drop_all()
        for call in list(self.calls.values()):
            self._cancel(call)
        self.calls.clear()

    def _accept(self, sock: Any, addr: Any) -> None:
        import socket as _s

        sock.setsockopt(_s.IPPROTO_TCP, _s.TCP_NODELAY, 1)
        session = Session(self, sock, addr)
        self.sessions.add(session)
        session.serve()

    # -- faults ------------------------------------------------------------
    def drop_all(self) -> None:
        """Close every client connection abruptly (no disconnect notice)."""
        for s in list(self.sessions):
            s.close()

    def restart(self) -> None:
        """As a FreeSWITCH restart: connections dropped, every channel gone, new Core-UUID."""
        self.drop_all()
        for call in list(self.calls.values()):
            self._cancel(call)
        self.calls.clear()
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

    def broadcast(self, name: str, headers: list[tuple[str, str]], body: str | None = None) -> None:
        cache: dict[str, bytes] = {}
        for s in list(self.sessions):
            if s.wants(name, headers):
                fmt = s.fmt if s.fmt in ("json", "xml") else "plain"
                data = cache.get(fmt)
                if data is None:
                    data = cache[fmt] = encode_event(headers, fmt, body)
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
        else:
            self._finish(call)

    def _emit(self, call: Call, idx: int) -> None:
        ev = call.plan.template.events[idx]
        if ev.name == "CHANNEL_ANSWER":
            call.answered = True
        now = int(time.time() * 1e6)
        if ev.name == "BACKGROUND_JOB":
            call.job_sent = True
            headers = script.render(ev, call.ctx, now, self.next_seq(), call.plan.job_body)
            self.broadcast(ev.name, headers, call.plan.job_body)
            return
        headers = script.render(ev, call.ctx, now, self.next_seq(), call.plan.job_body)
        self.broadcast(ev.name, headers)

    def _finish(self, call: Call) -> None:
        call.done = True
        self._cancel(call)
        self.calls.pop(call.a_uuid, None)

    def _cancel(self, call: Call) -> None:
        for t in call.timers:
            t.stop()
            t.close()
        call.timers.clear()

    def kill(self, a_uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        call = self.calls.get(a_uuid)
        if call is None:
            return False
        self._cancel(call)
        now = int(time.time() * 1e6)
        for marks in call.ctx.instants.values():
            marks["hangup"] = now
        call.ctx.leg_cache.clear()
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
            up = int(time.time() - self.started)
            n = self.session_count()
            return (
                f"UP 0 years, 0 days, 0 hours, {up // 60} minutes, {up % 60} seconds, 0 milliseconds, 0 microseconds\n"
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
        return f"-ERR {verb} Command not found!\n"

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
        return "+OK\n"

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

