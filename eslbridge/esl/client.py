"""One authenticated Event Socket connection, built on ``greenswitch.InboundESL``.

greenswitch gives us the class shape (``connect``/``send``/handler registry,
``stop``); we override the parts that are unsafe for a dialer (see
``shared`` notes in README "ESL link"): reading is done by our sans-IO
:class:`~eslbridge.esl.protocol.FrameReader` on raw ``recv`` chunks (bodies kept
apart, values decoded per line, JSON events parsed as JSON), every command has
a deadline, replies are matched first-in first-out under a send lock so the
wire order equals the queue order, ``sendall`` is used, CR/LF is refused, and
when the connection ends every pending command fails at once.

Handlers run in a dispatcher greenlet fed by a queue: a slow handler delays
other handlers, never the reader. Handlers should only enqueue.
"""

from __future__ import annotations

import logging
import socket as std_socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

import gevent
import gevent.event
import gevent.lock
import gevent.queue
import gevent.socket as gsocket
import greenswitch

from .protocol import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_TYPES,
    LOG_DATA,
    RUDE_REJECTION,
    Event,
    EventParseError,
    Frame,
    FrameReader,
    JsonEventReader,
    ProtocolError,
    encode_command,
    parse_event,
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


_ABANDONED = object()  # FIFO slot of a timed-out command: its late reply is dropped


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
        self._reader = FrameReader()
        self._json = JsonEventReader(fields) if fields is not None else None
        self._replies: deque[object] = deque()
        self._send_lock = gevent.lock.Semaphore()
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        self._batch: list[Event] = []
        self._closed = gevent.event.Event()
        self._rejected: str | None = None
        self.close_reason: str | None = None
        self.last_rx = time.monotonic()
        self.frames_in = 0
        self.events_in = 0
        self.bad_events = 0
        self.sock: gsocket.socket | None = None

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
        self.close_reason = self.close_reason or reason
        self.connected = False
        self._run = False
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        err = ConnectionLost(f"{self.name}: {self.close_reason}")
        while self._replies:
            slot = self._replies.popleft()
            if isinstance(slot, gevent.event.AsyncResult):
                slot.set_exception(err)
        for job in self._jobs.values():
            job.set_exception(err)
        self._jobs.clear()
        self._esl_event_queue.put(None)  # wakes the dispatcher so it can exit
        self._auth_request_event.set()
        self._closed.set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return bool(self._closed.wait(timeout))

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

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
        """Reader greenlet: recv → frames → replies resolved, events queued."""
        reason = "connection closed by FreeSWITCH"
        sock = self.sock
        assert sock is not None
        try:
            while True:
                data = sock.recv(RECV_CHUNK)
                if not data:
                    self._reader.close()
                    break
                self.last_rx = time.monotonic()
                self._reader.receive_data(data)
                while (frame := self._reader.next_frame()) is not None:
                    self.handle_event(frame)
                if self._batch:
                    # One queue hand-off per recv() instead of per event.
                    self._esl_event_queue.put(self._batch)
                    self._batch = []
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.error("ESL %s: %s; dropping the connection", self.name, reason)
        except OSError as exc:
            reason = f"socket error: {exc}"
        except Exception as exc:  # never let the reader die silently
            reason = f"reader failed: {exc!r}"
            log.exception("ESL %s reader failed", self.name)
        finally:
            self.close(reason)

    def handle_event(self, frame: Frame) -> None:  # greenswitch's name for "handle one frame"
        self.frames_in += 1
        ctype = frame.content_type
        if ctype in EVENT_TYPES:
            try:
                event = parse_event(frame, self._json)
            except EventParseError as exc:
                self.bad_events += 1
                log.warning("ESL %s: skipped an unparsable event: %s", self.name, exc)
                return
            self.events_in += 1
            if event.name == "BACKGROUND_JOB":
                job = self._jobs.pop(event.job_uuid or "", None)
                if job is not None:
                    job.set(event)
            self._batch.append(event)
        elif ctype in (COMMAND_REPLY, API_RESPONSE):
            if self._batch:
                # Events read before this reply must reach the dispatcher first,
                # so whoever waits on the reply can also wait for them (barrier()).
                self._esl_event_queue.put(self._batch)
                self._batch = []
            if not self._replies:
                raise ProtocolError(f"{ctype} for a command nobody sent")
            slot = self._replies.popleft()
            if isinstance(slot, gevent.event.AsyncResult):
                slot.set(frame)
        elif ctype == AUTH_REQUEST:
            self._auth_request_event.set()
        elif ctype == DISCONNECT_NOTICE:
            if frame.headers.get("Content-Disposition") != "linger":
                self.close_reason = f"disconnect notice: {frame.text().strip()[:200]}"
        elif ctype == RUDE_REJECTION:
            self._rejected = frame.text().strip() or "access denied"
            self._auth_request_event.set()
        elif ctype == LOG_DATA:
            log.debug("ESL %s log: %s", self.name, frame.text()[:200])
        else:
            log.warning("ESL %s: ignored frame of type %r", self.name, ctype)

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

    # -- commands ---------------------------------------------------------
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
        if not self.connected or self.sock is None:
            raise ConnectionLost(f"{self.name} is not connected")
        result = gevent.event.AsyncResult()
        with self._send_lock:
            self._replies.append(result)
            try:
                self.sock.sendall(raw)
            except OSError as exc:
                self.close(f"send failed: {exc}")
                raise ConnectionLost(f"{self.name}: send failed: {exc}") from None
        deadline = self.command_timeout if timeout is None else timeout
        try:
            frame: Frame = result.get(timeout=deadline)
        except gevent.Timeout:
            self._abandon(result)
            verb = data.split(" ", 2)[:2]
            raise CommandTimeout(f"{self.name}: no reply to {' '.join(verb)!r} in {deadline:g}s") from None
        return frame

    def _abandon(self, result: gevent.event.AsyncResult) -> None:
        # Keep the slot so the late reply is consumed in order, not matched to the next command.
        for i, slot in enumerate(self._replies):
            if slot is result:
                self._replies[i] = _ABANDONED
                return

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
            job = gevent.event.AsyncResult()
            self._jobs[job_uuid] = job
        (error,) = self.bgapi_many([(command, job_uuid)], timeout=timeout)
        if error is not None:
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
        if not self.connected or self.sock is None:
            err = ConnectionLost(f"{self.name} is not connected")
            return [err for _ in commands]
        results = [gevent.event.AsyncResult() for _ in commands]
        with self._send_lock:
            self._replies.extend(results)
            try:
                self.sock.sendall(b"".join(raws))
            except OSError as exc:
                self.close(f"send failed: {exc}")
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
        for result in results[len(out):]:
            self._abandon(result)
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
        self._esl_event_queue.put(marker)
        return bool(marker.wait(timeout))

    def on(self, name: str, handler: Callable[[Event], None]) -> None:
        self.register_handle(name, handler)
