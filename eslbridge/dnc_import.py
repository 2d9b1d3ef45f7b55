"""Do-not-call entries from CSV or plain files, the API and `apply`: read, normalised, checked.

A file is one phone per line, or a CSV whose header names a ``phone``
(``number``, ``mobile``) column and optionally ``expires_at`` (``expires``,
``expiry``) and ``reason`` columns; a CSV without a header has the phone
first, then the expiry and the reason. Phones are normalised as task numbers
are (:class:`eslbridge.phones.Normaliser`), so an entry matches the numbers it
is meant to stop whatever spelling it came in, and kept as +E.164: the claim
compares each number in that form, so an entry stops it whatever form its
task's line stores numbers in (``eslbridge.zones.e164``). An expiry is an ISO date or
date and time; one without an offset is read on the server's clock, and a
date alone means the start of that day. Bad rows are reported by line
number, never imported.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import gevent
import gevent.queue

from .importer import is_plain, normalised_lines
from .phones import Normaliser
from .store import dnc
from .store.db import Database
from .store.dnc import Entry
from .zones import country, e164

MAX_REPORTED = 1000  # bad rows listed in a report
MAX_REASON = 200  # characters kept of a reason
PHONE_HEADERS = frozenset({"phone", "number", "mobile"})
EXPIRY_HEADERS = frozenset({"expires_at", "expires", "expiry"})
REASON_HEADERS = frozenset({"reason", "note"})


@dataclass(frozen=True, slots=True)
class Bad:
    line: int
    text: str
    reason: str


def parse_expiry(text: str) -> datetime:
    """An ISO date or date-time, aware (the server's zone when it has no offset); raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.astimezone()


def key_of(phones: Normaliser, raw: str) -> str | None:
    """An entry's phone: the number normalised as task numbers are, as +E.164 (None: no number)."""
    stored = phones.normalise(raw)
    return None if stored is None else e164(stored, phones.region)


def entry_of(phones: Normaliser, phone: str, expires: str | None, reason: str | None) -> Entry | str:
    """The entry of one row, or why it is refused."""
    stored = key_of(phones, phone)
    if stored is None:
        return f"not a phone number: {phone.strip()[:40]!r}"
    expires_at = None
    if expires and expires.strip():
        try:
            expires_at = parse_expiry(expires)
        except ValueError:
            return f"expires_at: {expires.strip()[:40]!r} is not an ISO date or time"
    return Entry(stored, expires_at, (reason or "").strip()[:MAX_REASON] or None)


def _columns(header: list[str]) -> tuple[int, int | None, int | None] | None:
    names = [h.strip().strip('"').lower() for h in header]

    def find(wanted: frozenset[str]) -> int | None:
        return next((i for i, h in enumerate(names) if h in wanted), None)

    phone = find(PHONE_HEADERS)
    return None if phone is None else (phone, find(EXPIRY_HEADERS), find(REASON_HEADERS))


def read_entries(path: Path, phones: Normaliser) -> Iterator[tuple[int, Entry | str, str]]:
    """Yield (line number, entry or why the row is refused, raw phone text) for each row of a CSV
    (a plain file goes through :func:`plain_chunks`)."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, delimiter=";" if ";" in first and "," not in first else ",")
        header = next(reader, [])
        cols = _columns(header)
        rows: Iterable[list[str]] = reader
        if cols is None:  # no header: phone, expiry, reason
            cols = (0, 1, 2)
            rows = _prepend(header, reader)
        p, e, r = cols
        for row in rows:
            n = reader.line_num
            if not row or not any(c.strip() for c in row):
                continue
            raw = row[p] if p < len(row) else ""
            expires = row[e] if e is not None and e < len(row) else None
            reason = row[r] if r is not None and r < len(row) else None
            yield n, entry_of(phones, raw, expires, reason), raw


def _prepend(first: list[str], rest: Iterable[list[str]]) -> Iterator[list[str]]:
    if first:
        yield first
    yield from rest


@dataclass(frozen=True, slots=True)
class Chunk:
    """Entries ready for the staging table (``dnc.staged_line``'s lines, or with ``phones_only``
    a phone a line), and the rows refused."""

    text: str
    entries: int
    bad: list[tuple[int, str]]
    phones_only: bool = False


def row_chunks(rows: Iterable[tuple[int, Entry | str, str]], size: int = dnc.CHUNK) -> Iterator[Chunk]:
    """``read_entries`` rows in chunks of ``size``."""
    lines: list[str] = []
    bad: list[tuple[int, str]] = []
    for n, item, _raw in rows:
        if isinstance(item, str):
            bad.append((n, item))
            continue
        lines.append(dnc.staged_line(n, item))
        if len(lines) >= size:
            yield Chunk("".join(lines), len(lines), bad)
            lines, bad = [], []
    if lines or bad:
        yield Chunk("".join(lines), len(lines), bad)


def plain_chunks(path: Path, phones: Normaliser, size: int = dnc.CHUNK) -> Iterator[Chunk]:
    """A file of one phone a line, in chunks (``importer.normalised_lines``), each as +E.164."""
    code, trunk = country(phones.region)
    plus, cut = "+" + code, len(trunk)
    for first, texts, national in normalised_lines(path, phones, size):
        # zones.e164 inline (a call per number was a third of the reading)
        stored = [p if not p or p[0] == "+" or not code else
                  plus + p[cut:] if cut and p.startswith(trunk) and len(p) > cut + 4 else plus + p
                  for p in national]
        kept = [p for p in stored if p]
        bad = [] if len(kept) == len(texts) else [
            (n, f"not a phone number: {t[:40]!r}")
            for n, t, p in zip(range(first, first + len(texts)), texts, stored, strict=True) if p is None]
        # A phone a line, in the file's order: the staging table numbers them as they come.
        yield Chunk("\n".join(kept) + "\n" if kept else "", len(kept), bad, phones_only=True)


def file_chunks(path: Path, phones: Normaliser) -> Iterator[Chunk]:
    """A file's entries in chunks: one phone a line, or a CSV (see the module's doc)."""
    return plain_chunks(path, phones) if is_plain(path) else row_chunks(read_entries(path, phones))


def import_chunks(db: Database, list_id: int, chunks: Iterator[Chunk]) -> dict[str, Any]:
    """Merge chunks into a list in one transaction; returns counts, ``rejected`` and the first bad
    rows (``errors``: line, reason). The next chunk is read while the database stages one."""
    ready: gevent.queue.Queue[Chunk | BaseException | None] = gevent.queue.Queue(maxsize=1)

    def read() -> None:
        try:
            for chunk in chunks:
                ready.put(chunk)
            ready.put(None)
        except Exception as exc:  # a file that cannot be read: the import fails with it
            ready.put(exc)

    bad: list[tuple[int, str]] = []
    rejected = 0
    reader = gevent.spawn(read)
    try:
        with db.transaction() as conn:
            merge = dnc.Merge(conn, list_id)
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                rejected += len(item.bad)
                bad += item.bad[:MAX_REPORTED - len(bad)]
                merge.chunk(item.text, item.entries, item.phones_only)
            counts = merge.done()
    finally:
        reader.kill()
    return {**counts, "rejected": rejected, "errors": bad}


def import_entries(db: Database, list_id: int, rows: Iterable[tuple[int, Entry | str, str]]) -> dict[str, Any]:
    """Merge ``read_entries`` rows into a list in one transaction (see ``import_chunks``)."""
    return import_chunks(db, list_id, row_chunks(rows))


def import_file(db: Database, list_id: int, path: str | Path, region: str = "CN") -> dict[str, Any]:
    """Import a file into a list (see the module's doc). Raises FileNotFoundError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return import_chunks(db, list_id, file_chunks(path, Normaliser(region)))
