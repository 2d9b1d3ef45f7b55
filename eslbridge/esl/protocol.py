"""Sans-IO Event Socket framing: bytes in, frames out; no sockets, no gevent.

Theory of operation
-------------------
FreeSWITCH's Event Socket is a stream of *frames*. A frame is a block of
``Name: value`` header lines ended by an empty line; if (and only if) the
block carries ``Content-Length: N``, exactly N **bytes** of body follow, with
no terminator. Everything the switch says is a frame of this shape:

* ``auth/request`` greeting, ``command/reply`` (the answer to every command
  except ``api``), ``api/response`` (body = the api output),
  ``text/disconnect-notice`` and ``text/rude-rejection`` (body = a message),
  ``log/data`` (body = a log line);
* ``text/event-plain``, ``text/event-json`` and ``text/event-xml``: the body is
  itself an event. In the plain form the body is another header block whose
  *values* are URL-encoded, optionally followed by an inner ``Content-Length``
  body (BACKGROUND_JOB's ``+OK <uuid>``). In the json form the body is one JSON
  object of strings, the inner body under ``_body``.

:class:`FrameReader` only cuts the stream into frames; :func:`parse_event`
turns an event frame into an :class:`Event`. The split matters: a broken event
body (bad JSON, invalid UTF-8) spoils one event, while a broken *frame*
(missing or bad ``Content-Length``, a header line without a colon) means we
no longer know where the next frame starts, so the connection must be reset.

Values are URL-decoded one by one after the lines are split. Decoding the
whole block first (as greenswitch does) lets a ``%0A`` inside a value forge a
header line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

import simdjson as _simdjson

from ..frozen import quick_init

_json_loads: Callable[[bytes], Any]
try:  # orjson parses a 10 KB event ~2.5x faster than the stdlib; same results
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _json_loads = json.loads

MAX_HEADER_BLOCK: Final = 64 * 1024  # bytes; FreeSWITCH outer headers are < 200 B
MAX_BODY: Final = 64 * 1024 * 1024  # bytes; a huge `show channels` is a few MB

AUTH_REQUEST: Final = "auth/request"
COMMAND_REPLY: Final = "command/reply"
API_RESPONSE: Final = "api/response"
EVENT_PLAIN: Final = "text/event-plain"
EVENT_JSON: Final = "text/event-json"
EVENT_XML: Final = "text/event-xml"
DISCONNECT_NOTICE: Final = "text/disconnect-notice"
RUDE_REJECTION: Final = "text/rude-rejection"
LOG_DATA: Final = "log/data"
EVENT_TYPES: Final = frozenset({EVENT_PLAIN, EVENT_JSON, EVENT_XML})


class ProtocolError(Exception):
    """The byte stream is not valid ESL; the connection must be dropped."""


class EventParseError(ValueError):
    """One event's body could not be parsed; the stream itself is intact."""


@quick_init
@dataclass(frozen=True, slots=True)
class Frame:
    """One ESL frame: outer headers (not URL-decoded: FreeSWITCH never encodes them) and body."""

    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str:
        return self.headers.get("Reply-Text", "")

    @property
    def is_event(self) -> bool:
        return self.content_type in EVENT_TYPES

    def text(self) -> str:
        """The body as text; invalid UTF-8 is replaced, never raised."""
        return self.body.decode("utf-8", "replace")


def _parse_header_block(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    # One decode per block: a newline byte is never inside a UTF-8 sequence, so
    # decoding the block or each line gives the same text.
    for line in block.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name:
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        headers.setdefault(name, value.strip())
    return headers


_LENGTH_LINE = b"Content-Length: "
_EVENT_TYPE_LINES = ((b"Content-Type: text/event-json\n\n", EVENT_JSON), (b"Content-Type: text/event-plain\n\n", EVENT_PLAIN))


def _event_header_block(buf: bytearray, pos: int) -> tuple[dict[str, str], int] | None:
    """The headers of the block at ``pos`` and where its body starts, if the block is exactly an
    event's two lines as FreeSWITCH writes them (``Content-Length: N``, the event type, the
    blank line); else None, and the general parse reads it. Most frames are events: this skips
    a decode and a split per frame, and gives the same headers."""
    if not buf.startswith(_LENGTH_LINE, pos):
        return None
    start = pos + len(_LENGTH_LINE)
    nl = buf.find(b"\n", start, start + 21)
    if nl < 0:
        return None
    digits = bytes(buf[start:nl])
    if not digits.isdigit():
        return None
    for line, ctype in _EVENT_TYPE_LINES:
        if buf.startswith(line, nl + 1):
            return {"Content-Length": digits.decode(), "Content-Type": ctype}, nl + 1 + len(line)
    return None


class FrameReader:
    """Cuts an ESL byte stream into :class:`Frame` objects.

    Feed bytes with :meth:`receive_data` in chunks of any size, then call
    :meth:`next_frame` until it returns ``None`` (more data needed). Raises
    :class:`ProtocolError` for input that cannot be framed, and from
    :meth:`close` if the stream ends inside a frame.
    """

    __slots__ = ("_buf", "_closed", "_max_body", "_pending", "_pos")

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._pending: dict[str, str] | None = None  # headers waiting for their body
        self._max_body = max_body
        self._closed = False

    def receive_data(self, data: bytes) -> None:
        if self._closed:
            raise ProtocolError("data after end of stream")
        # Compact lazily: dropping consumed bytes on every frame would copy the
        # whole buffer once per frame (quadratic on a burst of events).
        if self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) - self._pos

    def next_frame(self) -> Frame | None:
        buf, pos = self._buf, self._pos
        if self._pending is None:
            # FreeSWITCH never sends blank lines between frames, but a stray
            # newline must not be read as an empty header block.
            while buf.startswith(b"\n", pos):
                pos += 1
            quick = _event_header_block(buf, pos)
            if quick is not None:  # the usual event frame, read without the general parse
                headers, pos = quick
            else:
                end = buf.find(b"\n\n", pos)
                if end < 0:
                    self._pos = pos
                    if len(buf) - pos > MAX_HEADER_BLOCK:
                        raise ProtocolError("header block too long")
                    return None
                if end - pos > MAX_HEADER_BLOCK:
                    raise ProtocolError("header block too long")
                headers = _parse_header_block(bytes(buf[pos:end]))
                pos = end + 2
            length_text = headers.get("Content-Length")
            if length_text is None:
                self._pos = pos
                if headers.get("Content-Type", "") in EVENT_TYPES:
                    raise ProtocolError("event frame without Content-Length")
                return Frame(headers)
            try:
                length = int(length_text)
            except ValueError:
                raise ProtocolError(f"bad Content-Length {length_text[:40]!r}") from None
            if length < 0 or length > self._max_body:
                raise ProtocolError(f"Content-Length {length} out of range")
            self._pending = headers
            self._pos = pos
        headers = self._pending
        length = int(headers["Content-Length"])
        if len(buf) - pos < length:
            self._pos = pos
            return None
        # One copy: slicing the bytearray itself would copy twice (slice, then bytes()).
        with memoryview(buf) as view:
            body = bytes(view[pos : pos + length])
        self._pos = pos + length
        self._pending = None
        return Frame(headers, body)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.next_frame()) is not None:
            yield frame

    def close(self) -> None:
        """Mark end of stream; raises if it ended inside a frame."""
        self._closed = True
        if self._pending is not None or self._buf[self._pos :].strip(b"\n"):
            raise ProtocolError(f"stream ended inside a frame ({self.buffered} bytes left)")


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    """A decoded FreeSWITCH event. ``headers`` keeps the first value of a repeated header."""

    name: str
    headers: Mapping[str, str]
    body: str | None = None
    repeated: tuple[tuple[str, str], ...] = field(default=())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def variable(self, name: str) -> str | None:
        return self.headers.get("variable_" + name)

    @property
    def unique_id(self) -> str | None:
        return self.headers.get("Unique-ID")

    @property
    def job_uuid(self) -> str | None:
        return self.headers.get("Job-UUID")

    @property
    def sequence(self) -> int:
        try:
            return int(self.headers.get("Event-Sequence", "0"))
        except ValueError:
            return 0

    @property
    def timestamp_us(self) -> int:
        """``Event-Date-Timestamp``: epoch microseconds (0 if absent)."""
        try:
            return int(self.headers.get("Event-Date-Timestamp", "0"))
        except ValueError:
            return 0


def parse_plain_event(data: bytes) -> Event:
    """Parse a ``text/event-plain`` body: URL-encoded values, optional inner body."""
    end = data.find(b"\n\n")
    block, rest = (data, b"") if end < 0 else (data[:end], data[end + 2 :])
    headers: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    for raw in block.split(b"\n"):
        if not raw:
            continue
        name_b, sep, value_b = raw.partition(b": ")
        if not sep:
            raise EventParseError(f"malformed event header {raw[:80]!r}")
        name = name_b.decode("utf-8", "replace")
        value = value_b.decode("utf-8", "replace")
        if "%" in value:
            value = unquote(value)
        if name in headers:
            repeated.append((name, value))
        else:
            headers[name] = value
    body: str | None = None
    if "Content-Length" in headers:
        try:
            length = int(headers["Content-Length"])
        except ValueError:
            raise EventParseError("bad inner Content-Length") from None
        body = rest[:length].decode("utf-8", "replace")
    return Event(headers.get("Event-Name", ""), headers, body, tuple(repeated))


def parse_json_event(data: bytes) -> Event:
    """Parse a ``text/event-json`` body; the inner body is under ``_body``."""
    try:
        obj = _json_loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventParseError(f"invalid JSON event: {exc}") from None
    if not isinstance(obj, dict):
        raise EventParseError("JSON event is not an object")
    body = obj.pop("_body", None)
    name = obj.get("Event-Name", "")
    # FreeSWITCH serialises every value as a string (checked on the hot path
    # only for the name; other values are read through Event.get as str).
    if not isinstance(name, str):
        raise EventParseError("Event-Name is not a string")
    return Event(name, obj, body if isinstance(body, str) else None)


class JsonHeaders(Mapping[str, Any]):
    """An event's headers read from its JSON text: chosen fields up front, the rest on demand.

    A CHANNEL_HANGUP_COMPLETE carries ~300 headers and the engine reads about
    ten. Building the full dict was most of the cost of an event; the chosen
    fields are pulled out by an on-demand parser instead, and any other key
    (or iteration) parses the whole object once, so reads are always complete.
    """

    __slots__ = ("_all", "_hot", "_raw")

    def __init__(self, raw: bytes, hot: dict[str, Any]) -> None:
        self._raw = raw
        self._hot = hot  # chosen field -> value, None when the event lacks it
        self._all: dict[str, Any] | None = None

    def _full(self) -> dict[str, Any]:
        if self._all is None:
            obj = _json_loads(self._raw)
            obj.pop("_body", None)
            self._all = obj
        return self._all

    def __getitem__(self, key: str) -> Any:
        if key in self._hot:
            value = self._hot[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._full()[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._hot:
            value = self._hot[key]
            return default if value is None else value
        return self._full().get(key, default)

    def __contains__(self, key: object) -> bool:
        if key in self._hot:
            return self._hot[key] is not None
        return key in self._full()

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())


class JsonEventReader:
    """Parses JSON events keeping only chosen fields at hand (see :class:`JsonHeaders`).

    ``fields`` maps an event name to the headers read from such events; other
    events get their name and inner body (and the rest on demand). Looking up a
    header an event lacks scans all of its keys, which is why the choice is per
    event, and why an event named in ``fields`` carries its inner body
    (``Event.body``) only if ``_body`` is among its fields.
    One per connection: the on-demand parser's buffers are reused event after event.
    """

    def __init__(self, fields: Mapping[str, Iterable[str]]) -> None:
        self.fields = {name: tuple(dict.fromkeys(keys)) for name, keys in fields.items()}
        self._parser = _simdjson.Parser()

    def parse(self, data: bytes) -> Event:
        try:
            doc = self._parser.parse(data)
        except ValueError as exc:  # also invalid UTF-8
            raise EventParseError(f"invalid JSON event: {exc}") from None
        try:
            if not isinstance(doc, _simdjson.Object):
                raise EventParseError("JSON event is not an object")
            name: Any = doc.get("Event-Name")
            hot: dict[str, Any] = {"Event-Name": name}
            chosen = self.fields.get(name) if isinstance(name, str) else None
            for key in chosen if chosen is not None else ("_body",):
                hot[key] = doc.get(key)
        finally:
            del doc  # the parser is reused only once nothing refers to its document
        for v in hot.values():  # a loop, not all(<generator>): this runs for every event
            if v is not None and type(v) is not str:
                return parse_json_event(data)  # an array or number where a string is usual: the plain way
        body = hot.pop("_body", None)
        return Event(name or "", JsonHeaders(data, hot), body)


def parse_event(frame: Frame, json_reader: JsonEventReader | None = None) -> Event:
    """Turn an event frame into an :class:`Event`; raises :class:`EventParseError`."""
    ctype = frame.content_type
    if ctype == EVENT_JSON:
        return json_reader.parse(frame.body) if json_reader is not None else parse_json_event(frame.body)
    if ctype == EVENT_PLAIN:
        return parse_plain_event(frame.body)
    if ctype == EVENT_XML:
        raise EventParseError("text/event-xml is not supported; subscribe with json")
    raise EventParseError(f"not an event frame: {ctype!r}")


def encode_command(command: str, headers: Mapping[str, str] | None = None) -> bytes:
    """Encode one command (plus optional header lines) for the wire.

    Raises ValueError if any part holds CR or LF: a newline would end the
    command early and let the rest be read as a second command.
    """
    parts = [command]
    if headers:
        parts.extend(f"{k}: {v}" for k, v in headers.items())
    for part in parts:
        if "\n" in part or "\r" in part:
            raise ValueError("ESL command or header contains CR/LF")
    return ("\n".join(parts) + "\n\n").encode("utf-8")
