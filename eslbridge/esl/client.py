"""One authenticated Event Socket connection, built on ``greenswitch.InboundESL``.

greenswitch gives us the class shape (``connect``/``send``/handler registry,
``stop``); we override the parts that are unsafe for a dialer (see
``shared`` notes in README "ESL link"). The protocol itself (framing, reply
matching, job results, the order of events against replies) is the sans-IO
:class:`~eslbridge.esl.session.Session`; this module only moves bytes between
it and the socket and turns its outputs into wake-ups: every command has a
deadline, tickets are taken and bytes written under one send lock so the wire
order equals the ticket order, ``sendall`` is used, CR/LF is refused, and when
the connection ends every pending command fails at once.

Handlers run in a dispatcher greenlet fed by a queue: a slow handler delays
other handlers, never the reader. Handlers should only enqueue.
"""

from __future__ import annotations

import logging
import socket as std_socket
import time
from collections.abc import Callable, Iterable, Mapping

import gevent
import gevent.event
import gevent.lock
import gevent.socket as gsocket
import greenswitch

from .protocol import LOG_DATA, Event, Frame, JsonEventReader, encode_command
from .session import (
    BadEvent,
    Barrier,
    Closed,
    Events,
    Greeting,
    Ignored,
    JobDone,
    JobLost,
    Rejected,
    Reply,
    ReplyLost,
    Session,
    SessionClosed,
    Ticket,
)

log = logging.getLogger(__name__)

RECV_CHUNK = 256 * 1024  # bytes per recv(); big reads keep syscalls per event low


class ESLError(Exception):
    """Base class of link failures."""


class ConnectError(ESLError):
    """Could not reach or greet the node (refused, timed out, ACL rejection)."""


class AuthError(ESLError):
    """The node refused the password."""


class ConnectionLost(ESLError):
    """The connection ended while a command was waiting for its reply."""


class CommandTimeout(ESLError):
    """A command got no reply within its deadline."""


class CommandError(ESLError):
    """FreeSWITCH answered a command with ``-ERR``."""


class ESLConnection(greenswitch.InboundESL):  # type: ignore[misc]
    """A single ESL session. Not reconnecting: see :class:`~eslbridge.esl.link.NodeLink`."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        name: str | None = None,
        fields: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``fields``: per event name, the headers the handlers read; JSON events
        then parse only those up front (others on demand, see :class:`JsonEventReader`)."""
        super().__init__(host, port, password, timeout=connect_timeout)
        self.command_timeout = command_timeout
        self.name = name or f"{host}:{port}"
        self._session = Session(JsonEventReader(fields) if fields is not None else None)
        self._send_lock = gevent.lock.Semaphore()
        self._waiters: dict[Ticket, gevent.event.AsyncResult] = {}
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        self._closed = gevent.event.Event()
        self._rejected: str | None = None
        self.last_rx = time.monotonic()
        self.last_handled: Event | None = None
        self.last_handled_at = 0.0  # epoch seconds
        self.sock: gsocket.socket | None = None

    @property
    def close_reason(self) -> str | None:
        return self._session.close_reason

    @property
    def frames_in(self) -> int:
        return self._session.frames_in

    @property
    def events_in(self) -> int:
        return self._session.events_in

    @property
    def bad_events(self) -> int:
        return self._session.bad_events

    # -- connection -------------------------------------------------------
    def connect(self) -> None:
        """Connect, wait for the greeting and authenticate, each within ``connect_timeout``.

        Raises ConnectError (refused, timeout, ACL) or AuthError (bad password).
        """
        try:
            sock = gsocket.create_connection((self.host, self.port), timeout=self.timeout)
        except (OSError, gevent.Timeout) as exc:
            raise ConnectError(f"cannot connect to {self.name}: {exc}") from None
        sock.setsockopt(std_socket.IPPROTO_TCP, std_socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self.sock = sock
        self.connected = True
        self._receive_events_greenlet = gevent.spawn(self.receive_events)
        self._process_events_greenlet = gevent.spawn(self.process_events)
        greeted = self._auth_request_event.wait(timeout=self.timeout)
        if self._rejected:
            self.close(self._rejected)
            raise ConnectError(f"{self.name} refused the connection: {self._rejected}")
        if not greeted or not self.connected:
            reason = self.close_reason or f"no greeting within {self.timeout:g}s"
            self.close(reason)
            raise ConnectError(f"{self.name}: {reason}")
        try:
            reply = self.send(f"auth {self.password}", timeout=self.timeout)
        except ESLError as exc:
            self.close(str(exc))
            raise ConnectError(f"{self.name}: no answer to auth ({exc})") from None
        if not reply.reply_text.startswith("+OK"):
            self.close("authentication failed")
            raise AuthError(f"{self.name} refused the ESL password (check ESLBRIDGE_FS_PASSWORD)")

    def close(self, reason: str = "closed by client") -> None:
        """Drop the socket and fail everything pending. Idempotent."""
        if self._closed.is_set():
            return
        self._session.close(reason)
        self._deliver()  # the session's failures, then Closed, which shuts the socket
        self._shut()

    def _shut(self) -> None:
        if self._closed.is_set():
            return
        self.connected = False
        self._run = False
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self._esl_event_queue.put(None)  # wakes the dispatcher so it can exit
        self._auth_request_event.set()
        self._closed.set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return bool(self._closed.wait(timeout))

    @property
    def closed(self) -> bool:
        return bool(self._closed.is_set())

    def stop(self) -> None:
        """Say ``exit`` politely (bounded), then close."""
        if self.connected:
            try:
                self.send("exit", timeout=1.0)
            except ESLError:
                pass
        self.close("stopped")

    # -- reading ----------------------------------------------------------
    def receive_events(self) -> None:
        """Reader greenlet: recv → session → replies resolved, events queued."""
        sock = self.sock
        assert sock is not None
        session = self._session
        try:
            while self.connected:  # cleared when the session's Closed is delivered
                data = sock.recv(RECV_CHUNK)
                if data:
                    self.last_rx = time.monotonic()
                session.receive_data(data)  # b"" ends the session
                self._deliver()
        except OSError as exc:
            self.close(f"socket error: {exc}")
        except Exception as exc:  # never let the reader die silently
            log.exception("ESL %s reader failed", self.name)
            self.close(f"reader failed: {exc!r}")
        finally:
            self.close("reader stopped")

    def _deliver(self) -> None:
        """Turn the session's outputs into wake-ups, in their order.

        Events go to the dispatcher as one batch per output (one queue hand-off
        per recv() unless a reply cuts it); a batch is queued before the reply
        that follows it is released, which is what :meth:`barrier` relies on.
        """
        session = self._session
        put = self._esl_event_queue.put
        while (out := session.next_output()) is not None:
            if type(out) is Events:
                put(out.events)
            elif type(out) is Reply:
                waiter = self._waiters.pop(out.ticket, None)
                if waiter is not None:
                    waiter.set(out.frame)
            elif type(out) is JobDone:
                job = self._jobs.pop(out.job_uuid, None)
                if job is not None:
                    job.set(out.event)
            elif type(out) is ReplyLost:
                waiter = self._waiters.pop(out.ticket, None)
                if waiter is not None:
                    waiter.set_exception(ConnectionLost(f"{self.name}: {out.reason}"))
            elif type(out) is JobLost:
                job = self._jobs.pop(out.job_uuid, None)
                if job is not None:
                    job.set_exception(ConnectionLost(f"{self.name}: {out.reason}"))
            elif type(out) is Barrier:
                put(out.token)
            elif type(out) is BadEvent:
                log.warning("ESL %s: skipped an unparsable event: %s", self.name, out.reason)
            elif type(out) is Greeting:
                self._auth_request_event.set()
            elif type(out) is Rejected:
                self._rejected = out.text
                self._auth_request_event.set()
            elif type(out) is Ignored:
                frame = out.frame
                if frame.content_type == LOG_DATA:
                    log.debug("ESL %s log: %s", self.name, frame.text()[:200])
                else:
                    log.warning("ESL %s: ignored frame of type %r", self.name, frame.content_type)
            elif type(out) is Closed:
                if out.protocol_error:
                    log.error("ESL %s: %s; dropping the connection", self.name, out.reason)
                self._shut()

    def process_events(self) -> None:
        """Dispatcher greenlet: hand events to registered handlers, one at a time."""
        while True:
            batch = self._esl_event_queue.get()
            if batch is None:
                break
            if isinstance(batch, gevent.event.Event):
                batch.set()
                continue
            for event in batch:
                handlers = self.event_handlers.get(event.name) or self.event_handlers.get("*") or ()
                for handler in handlers:
                    try:
                        handler(event)
                    except Exception:
                        log.exception("ESL %s: handler %r failed on %s", self.name, handler, event.name)
            if batch:  # the newest event handled and when: its lag is read on a metrics scrape
                self.last_handled, self.last_handled_at = batch[-1], time.time()

    # -- commands ---------------------------------------------------------
    def _write(self, raw: bytes, results: list[gevent.event.AsyncResult]) -> Ticket:
        """Take a ticket per result and write ``raw`` (their commands) as one step.

        Returns the first ticket; the others follow it in order. Raises
        ConnectionLost if not connected. A failed write closes the connection,
        which fails the results.
        """
        if not self.connected or self.sock is None:
            raise ConnectionLost(f"{self.name} is not connected")
        session = self._session
        with self._send_lock:
            try:
                if len(results) == 1:  # the usual single command: no range, no zip
                    first = session.expect_reply()
                    self._waiters[first] = results[0]
                else:
                    tickets = session.expect_replies(len(results))
                    first = tickets.start
                    self._waiters.update(zip(tickets, results))
            except SessionClosed:  # closed while we waited for the lock
                raise ConnectionLost(f"{self.name}: {self.close_reason}") from None
            try:
                self.sock.sendall(raw)
            except OSError as exc:
                self.close(f"send failed: {exc}")
        return first

    def _abandon(self, ticket: Ticket) -> None:
        # The session keeps counting it, so its late reply is consumed in turn, not given to the next command.
        self._session.abandon(ticket)
        self._waiters.pop(ticket, None)

    def send(
        self,
        data: str,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Frame:
        """Send one command and wait for its reply frame.

        Raises ValueError (CR/LF in the command), ConnectionLost (not
        connected, or the connection ended first) or CommandTimeout.
        """
        raw = encode_command(data, headers)
        result = gevent.event.AsyncResult()
        ticket = self._write(raw, [result])
        deadline = self.command_timeout if timeout is None else timeout
        try:
            frame: Frame = result.get(timeout=deadline)
        except gevent.Timeout:
            self._abandon(ticket)
            verb = data.split(" ", 2)[:2]
            raise CommandTimeout(f"{self.name}: no reply to {' '.join(verb)!r} in {deadline:g}s") from None
        return frame

    def api(self, command: str, timeout: float | None = None) -> str:
        """Run ``api COMMAND`` and return its body (which may itself say ``-ERR``)."""
        return self.send(f"api {command}", timeout=timeout).text()

    def bgapi(self, command: str, job_uuid: str, *, wait: bool = False, timeout: float | None = None) -> gevent.event.AsyncResult | None:
        """Send ``bgapi COMMAND`` with our own Job-UUID.

        With ``wait`` an AsyncResult for the BACKGROUND_JOB event is registered
        *before* sending (the job event can arrive right after the reply).
        Raises CommandError if the reply is not ``+OK``, ConnectionLost or CommandTimeout.
        """
        job = None
        if wait:
            if self._session.closed:
                raise ConnectionLost(f"{self.name} is not connected")
            job = gevent.event.AsyncResult()
            self._session.expect_job(job_uuid)
            self._jobs[job_uuid] = job
        (error,) = self.bgapi_many([(command, job_uuid)], timeout=timeout)
        if error is not None:
            self._session.forget_job(job_uuid)
            self._jobs.pop(job_uuid, None)
            raise error
        return job

    def bgapi_many(self, commands: list[tuple[str, str]], timeout: float | None = None) -> list[ESLError | None]:
        """Send many ``bgapi`` commands in one write and wait for all replies.

        ``commands`` are (command, job_uuid) pairs. Returns, per command, None
        if FreeSWITCH accepted it or the error. Pipelining matters: waiting for
        each reply cost ~0.8 ms per originate in the engine benchmark's profile.
        """
        if not commands:
            return []
        raws = [encode_command(f"bgapi {cmd}", {"Job-UUID": job}) for cmd, job in commands]
        results = [gevent.event.AsyncResult() for _ in raws]
        try:
            first = self._write(b"".join(raws), results)
        except ConnectionLost as err:
            return [err for _ in commands]
        deadline = self.command_timeout if timeout is None else timeout
        out: list[ESLError | None] = []
        with gevent.Timeout(deadline, False):
            for result in results:
                try:
                    frame: Frame = result.get()
                except ESLError as exc:
                    out.append(exc)
                    continue
                ok = frame.reply_text.startswith("+OK")
                out.append(None if ok else CommandError(f"{self.name}: bgapi refused: {frame.reply_text}"))
        for ticket in range(first + len(out), first + len(results)):
            self._abandon(ticket)
            out.append(CommandTimeout(f"{self.name}: no reply to bgapi in {deadline:g}s"))
        return out

    def command(self, command: str, timeout: float | None = None) -> str:
        """Send a plain command (``event``, ``filter`` …); raise CommandError unless ``+OK``."""
        reply = self.send(command, timeout=timeout)
        if not reply.reply_text.startswith("+OK"):
            raise CommandError(f"{self.name}: {command.split(' ', 1)[0]} refused: {reply.reply_text}")
        return reply.reply_text

    def barrier(self, timeout: float | None = None) -> bool:
        """Wait until handlers have seen every event received before the last reply.

        Replies and events share the connection in order, so after ``api …``
        returns, this guarantees the handlers got everything FreeSWITCH sent
        before its answer.
        """
        marker = gevent.event.Event()
        self._session.barrier(marker)  # after every event the session has read
        self._deliver()  # the reader has delivered all else, so this queues the marker behind those events
        return bool(marker.wait(timeout))

    def on(self, name: str, handler: Callable[[Event], None]) -> None:
        self.register_handle(name, handler)
