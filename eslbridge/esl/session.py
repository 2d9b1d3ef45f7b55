"""Sans-IO Event Socket session: bytes in, replies and events out; no sockets, no gevent.

Theory of operation
-------------------
An inbound ESL connection carries, from the switch, one stream of frames
(see :mod:`eslbridge.esl.protocol`) and, from us, one stream of commands.
FreeSWITCH answers every command with exactly one ``command/reply`` or
``api/response``, in the order the commands were written, and says nothing
else about which command a reply belongs to. So the whole of reply matching is
a count: command number *n* gets reply number *n*. A :class:`Session` hands
out consecutive integer *tickets* (:meth:`Session.expect_reply`), and the
k-th reply read is the answer to ticket k. The caller must take the ticket and
write the command's bytes in one step (under one lock): the order of tickets
has to be the order on the wire.

A command whose caller gave up waiting (a deadline) is *abandoned*, not
forgotten: FreeSWITCH still owes its reply, and if we stopped counting it that
late reply would be taken as the answer to the next command. Its reply is
consumed in turn and dropped. A reply when no ticket is outstanding means the
two sides no longer agree on the count; nothing after it can be trusted, so
it is a protocol error and the session closes.

``bgapi`` replies only say the job was accepted; its result comes later as a
``BACKGROUND_JOB`` event carrying the Job-UUID we chose. A job registered with
:meth:`Session.expect_job` (before its command is written: the event can
follow the reply at once) is answered by :class:`JobDone`; the event is also
delivered like any other.

Outputs follow the stream order exactly. Events are grouped: consecutive
events read in one :meth:`Session.receive_data` call come out as one
:class:`Events` batch, so a caller can hand a whole ``recv()`` worth of events
on in one step; a batch is cut short by anything else (a reply, a job result,
the end of the data). Hence the guarantee the reconciliation relies on: by
the time a :class:`Reply` comes out, every event read before it has come out
in an earlier output, and a :class:`Barrier` placed now comes out after every
event received so far.

The session ends once (:meth:`Session.close`, the end of the stream, or a
protocol error). Then every outstanding ticket gets :class:`ReplyLost`, every
registered job :class:`JobLost`, and the last output is :class:`Closed`. So
each ticket ends exactly once, in a Reply or a ReplyLost, unless abandoned;
no ticket or job is taken after the end (:class:`SessionClosed`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar, dataclass_transform

from .protocol import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_TYPES,
    MAX_BODY,
    RUDE_REJECTION,
    Event,
    EventParseError,
    Frame,
    FrameReader,
    JsonEventReader,
    ProtocolError,
    parse_event,
)

Ticket: TypeAlias = int  # position of a command on the wire, from 0
CLOSED_BY_PEER: Final = "connection closed by FreeSWITCH"
REPLY_TYPES: Final = frozenset({COMMAND_REPLY, API_RESPONSE})

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _output(cls: type[_T]) -> type[_T]:
    """An output type: frozen for the type checker, a plain slots dataclass at run time.

    A frozen dataclass costs ~3,000 more instructions per object (measured), on
    the path of every reply; outputs are read once and dropped.
    """
    return dataclass(slots=True)(cls)


@_output
class Greeting:
    """``auth/request``: the switch is ready for the password."""


@_output
class Rejected:
    """``text/rude-rejection``: the switch's ACL refused us (it closes next)."""

    text: str


@_output
class Events:
    """Consecutive events, in stream order."""

    events: list[Event]


@_output
class Reply:
    """The reply frame to the command that took ``ticket``."""

    ticket: Ticket
    frame: Frame


@_output
class ReplyLost:
    """The session ended before the reply to ``ticket`` came."""

    ticket: Ticket
    reason: str


@_output
class JobDone:
    """The ``BACKGROUND_JOB`` event of a registered job (also delivered among the events)."""

    job_uuid: str
    event: Event


@_output
class JobLost:
    """The session ended before the registered job's result came."""

    job_uuid: str
    reason: str


@_output
class BadEvent:
    """An event whose body could not be parsed was skipped; the stream is intact."""

    reason: str


@_output
class Ignored:
    """A frame that means nothing to the session: ``log/data`` or an unknown type."""

    frame: Frame


@_output
class Barrier:
    """Placed by :meth:`Session.barrier`: every event received before it came out first."""

    token: object


@_output
class Closed:
    """The session is over; always the last output. ``protocol_error``: we dropped a broken stream."""

    reason: str
    protocol_error: bool = False


Output: TypeAlias = (
    Events | Reply | ReplyLost | JobDone | JobLost | Greeting | Rejected | BadEvent | Ignored | Barrier | Closed
)


class SessionClosed(Exception):
    """A command or job was registered after the session ended (the caller checks ``closed``)."""


class Session:
    """Protocol state of one ESL connection (see the module's theory of operation).

    Feed received bytes to :meth:`receive_data` (``b""`` at end of stream) and
    take outputs with :meth:`next_output` until it returns ``None``. Nothing
    here raises on bad input: a broken stream ends the session with
    ``Closed(protocol_error=True)``.
    """

    __slots__ = (
        "_abandoned", "_batch", "_close_reason", "_closed", "_jobs", "_json", "_next", "_oldest",
        "_out", "_reader", "bad_events", "events_in", "frames_in",
    )  # fmt: skip

    def __init__(self, json_reader: JsonEventReader | None = None, *, max_body: int = MAX_BODY) -> None:
        self._reader = FrameReader(max_body)
        self._json = json_reader
        self._out: deque[Output] = deque()
        self._batch: list[Event] = []
        self._next: Ticket = 0  # ticket of the next command
        self._oldest: Ticket = 0  # ticket the next reply answers
        self._abandoned: set[Ticket] = set()
        self._jobs: dict[str, None] = {}  # ordered, so failures come in registration order
        self._closed = False
        self._close_reason: str | None = None
        self.frames_in = 0
        self.events_in = 0
        self.bad_events = 0

    # -- state -------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_reason(self) -> str | None:
        """Why the session ended; before that, a disconnect notice's text if one came."""
        return self._close_reason

    @property
    def pending(self) -> int:
        """Replies the switch still owes, abandoned commands included."""
        return self._next - self._oldest

    # -- our side ------------------------------------------------------------
    def expect_reply(self) -> Ticket:
        """Take the ticket of a command about to be written (take and write under one lock).

        Raises SessionClosed once the session has ended: no reply can come.
        """
        if self._closed:
            raise SessionClosed(self._close_reason or "closed")
        ticket = self._next
        self._next = ticket + 1
        return ticket

    def expect_replies(self, count: int) -> range:
        """Tickets for ``count`` commands written together, in their wire order."""
        if self._closed:
            raise SessionClosed(self._close_reason or "closed")
        first = self._next
        self._next = first + count
        return range(first, first + count)

    def abandon(self, ticket: Ticket) -> None:
        """Nobody waits for ``ticket`` any more: drop its reply when it comes. No-op once answered."""
        if self._oldest <= ticket < self._next:
            self._abandoned.add(ticket)

    def expect_job(self, job_uuid: str) -> None:
        """Report the ``BACKGROUND_JOB`` of ``job_uuid`` as :class:`JobDone`; register before writing.

        Raises SessionClosed once the session has ended.
        """
        if self._closed:
            raise SessionClosed(self._close_reason or "closed")
        self._jobs[job_uuid] = None

    def forget_job(self, job_uuid: str) -> None:
        """Stop waiting for a job (its bgapi was refused or not sent)."""
        self._jobs.pop(job_uuid, None)

    def barrier(self, token: object) -> None:
        """Output ``Barrier(token)`` after every event received so far. Nothing once closed."""
        if not self._closed:
            self._emit(Barrier(token))

    def close(self, reason: str, *, protocol_error: bool = False) -> None:
        """End the session: fail what is outstanding, then :class:`Closed`. Idempotent.

        A disconnect notice received earlier is kept as the reason: it says
        why better than the end of stream that follows it.
        """
        if self._closed:
            return
        self._flush()
        self._closed = True
        reason = self._close_reason = self._close_reason or reason
        out, abandoned = self._out, self._abandoned
        for ticket in range(self._oldest, self._next):
            if ticket not in abandoned:
                out.append(ReplyLost(ticket, reason))
        self._oldest = self._next
        abandoned.clear()
        for job_uuid in self._jobs:
            out.append(JobLost(job_uuid, reason))
        self._jobs.clear()
        out.append(Closed(reason, protocol_error))

    # -- their side ------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Take bytes from the switch; ``b""`` means the stream ended. Ignored once closed."""
        # One loop, no helper calls per frame or per read: this runs for every recv().
        if self._closed:
            return
        if not data:
            self._end_of_stream()
            return
        try:
            self._reader.receive_data(data)
            next_frame = self._reader.next_frame
            while (frame := next_frame()) is not None:
                self.frames_in += 1
                ctype = frame.content_type
                if ctype in EVENT_TYPES:
                    try:
                        event = parse_event(frame, self._json)
                    except EventParseError as exc:
                        self.bad_events += 1
                        self._emit(BadEvent(str(exc)))
                        continue
                    self.events_in += 1
                    self._batch.append(event)
                    if self._jobs and event.name == "BACKGROUND_JOB":
                        job_uuid = event.job_uuid or ""
                        if job_uuid in self._jobs:
                            del self._jobs[job_uuid]
                            self._emit(JobDone(job_uuid, event))
                elif ctype in REPLY_TYPES:
                    # Inline: a pipelined bgapi batch brings hundreds of replies in one read.
                    ticket = self._oldest
                    if ticket == self._next:
                        raise ProtocolError(f"{ctype} for a command nobody sent")
                    self._oldest = ticket + 1
                    if self._abandoned and ticket in self._abandoned:
                        self._abandoned.discard(ticket)  # the late reply of a timed-out command
                        continue
                    if self._batch:
                        self._flush()  # events read before the reply come out first
                    self._out.append(Reply(ticket, frame))
                elif ctype == AUTH_REQUEST:
                    self._emit(Greeting())
                elif ctype == DISCONNECT_NOTICE:
                    # "linger" only announces that events still in flight will follow.
                    if frame.headers.get("Content-Disposition") != "linger":
                        self._close_reason = f"disconnect notice: {frame.text().strip()[:200]}"
                elif ctype == RUDE_REJECTION:
                    self._emit(Rejected(frame.text().strip() or "access denied"))
                else:
                    self._emit(Ignored(frame))
        except ProtocolError as exc:
            self.close(f"protocol error: {exc}", protocol_error=True)
            return
        if self._batch:  # one batch per receive_data: the caller hands it on in one step
            self._out.append(Events(self._batch))
            self._batch = []

    def next_output(self) -> Output | None:
        """The next output, or ``None`` until more data (or a local call) produces one."""
        return self._out.popleft() if self._out else None

    # -- internals -------------------------------------------------------------
    def _flush(self) -> None:
        if self._batch:
            self._out.append(Events(self._batch))
            self._batch = []

    def _emit(self, output: Output) -> None:
        self._flush()  # events read earlier come out first: outputs keep the stream order
        self._out.append(output)

    def _end_of_stream(self) -> None:
        try:
            self._reader.close()
        except ProtocolError as exc:  # it ended inside a frame
            self.close(f"protocol error: {exc}", protocol_error=True)
            return
        self.close(CLOSED_BY_PEER)
