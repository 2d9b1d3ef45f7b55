"""Number import from CSV or plain files: streamed, validated, reported by line number."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import gevent.queue

from .phones import Normaliser
from .store import imports, tasks
from .store.db import Database
from .zones import Zones

CHUNK = 50_000  # numbers per COPY / transaction
MAX_REPORTED = 1000  # bad rows listed in a report
PHONE_HEADERS = frozenset({"phone", "number", "mobile"})


def phone_column(header: list[str]) -> int | None:
    """Index of the phone column if ``header`` is a header row (else None: the row is data)."""
    return next((i for i, h in enumerate(header) if h.strip().strip('"').lower() in PHONE_HEADERS), None)


def is_plain(path: Path) -> bool:
    """A file of one phone a line (not a CSV: its first line has no comma or semicolon)."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
    return "," not in first and ";" not in first


def normalised_lines(path: Path, phones: Normaliser, size: int) -> Iterator[tuple[int, list[str], list[str | None]]]:
    """A file of one phone a line, about ``size`` lines at a time: (the first one's line number,
    the lines stripped, :meth:`~eslbridge.phones.Normaliser.normalise_all` of them). List
    comprehensions over a chunk, not a generator step per line: a million lines a second."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = 1
        while lines := fh.readlines(size * 12):  # ~12 bytes a line
            texts = [line.strip() for line in lines]
            yield first, texts, phones.normalise_all(texts)
            first += len(texts)


def plain_chunks(path: Path, phones: Normaliser, size: int = CHUNK) -> Iterator[Chunk]:
    """A plain file's phones in chunks of about ``size`` lines."""
    for first, texts, found in normalised_lines(path, phones, size):
        kept = [p for p in found if p]
        rows = len(texts) - texts.count("")
        bad = [] if len(kept) == rows else [
            (n, t) for n, t, p in zip(range(first, first + len(texts)), texts, found, strict=True) if p is None]
        yield Chunk(kept, bad, rows, first + len(texts) - 1)


def row_chunks(rows: Iterable[tuple[int, str | None, str]], size: int = CHUNK) -> Iterator[Chunk]:
    """``read_phones`` rows in chunks of ``size``."""
    kept: list[str] = []
    bad: list[tuple[int, str]] = []
    seen = last = 0
    for n, phone, raw in rows:
        seen += 1
        last = n
        if phone is None:
            bad.append((n, raw))
        else:
            kept.append(phone)
        if seen >= size:
            yield Chunk(kept, bad, seen, last)
            kept, bad, seen = [], [], 0
    if seen:
        yield Chunk(kept, bad, seen, last)


def file_chunks(path: Path, phones: Normaliser) -> Iterator[Chunk]:
    """A file's rows in chunks: one phone a line, or a CSV (its ``phone`` column, else the first)."""
    return plain_chunks(path, phones) if is_plain(path) else row_chunks(read_phones(path, phones))


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some rows of a file: their phones in order, the rows that are none (line, raw text), how
    many rows (blank lines aside) and the last line read."""

    phones: list[str]
    bad: list[tuple[int, str]]
    rows: int
    line: int


def read_phones(path: Path, phones: Normaliser) -> Iterator[tuple[int, str | None, str]]:
    """Yield (line number, phone or None, raw text) for each row of a CSV: its ``phone`` column,
    else the first (a plain file goes through :func:`plain_chunks`)."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, delimiter=";" if ";" in first and "," not in first else ",")
        header = next(reader, [])
        col = phone_column(header)
        if col is None:  # no header: the first row is data
            col = 0
            if header:
                yield 1, phones.normalise(header[0]), header[0]
        for row in reader:
            n = reader.line_num
            if not row or not any(c.strip() for c in row):
                continue
            raw = row[col] if col < len(row) else ""
            yield n, phones.normalise(raw), raw


class BulkImport:
    """Adds phones to one task in file order, writing chunks on ``workers`` connections at once.

    One PostgreSQL backend inserts ~150k numbers/s into task_number (three
    indexes); two in parallel, fed by this greenlet, double that. Each chunk is
    its own transaction, so a failed import can simply be repeated: numbers the
    task already has count as duplicates. Chunks may commit out of order, but
    their ids are reserved in file order, and claims dial in id order.
    """

    def __init__(self, db: Database, task_id: Any, workers: int = 2, chunk: int = CHUNK, region: str = "CN") -> None:
        self.db = db
        self.task_id = task_id
        self.zones = Zones(region)  # each number's time zone, from the number
        self.chunk = chunk
        self.imported = 0
        self._batch: list[str] = []
        self._seq = 0
        self._turns: dict[int, gevent.event.Event] = defaultdict(gevent.event.Event)
        self._turns[0].set()
        self._careful = False  # set once a chunk met numbers the task already had
        self._error: BaseException | None = None
        self._queue: gevent.queue.Queue[tuple[int, list[str]] | None] = gevent.queue.Queue(maxsize=workers)
        self._workers = [gevent.spawn(self._work) for _ in range(workers)]

    def add_all(self, phones: list[str]) -> None:
        self._batch += phones
        if len(self._batch) >= self.chunk:
            self._submit()

    def close(self) -> int:
        """Write what is left, wait for every chunk; returns how many numbers were added."""
        if self._batch:
            self._submit()
        for _ in self._workers:
            self._queue.put(None)
        gevent.joinall(self._workers)
        if self._error is not None:
            raise self._error
        if self.imported >= imports.ANALYZE_AFTER:
            with self.db.connection() as conn:
                imports.analyze_numbers(conn)
        return self.imported

    def abort(self) -> None:
        for worker in self._workers:
            worker.kill(block=False)

    def _submit(self) -> None:
        if self._error is not None:
            self.abort()
            raise self._error
        self._queue.put((self._seq, self._batch))
        self._seq += 1
        self._batch = []

    def _work(self) -> None:
        try:
            with self.db.connection() as conn:
                while (item := self._queue.get()) is not None:
                    seq, phones = item
                    if self._error is not None:  # after a failure: drain, keep later turns moving
                        self._turns[seq + 1].set()
                        continue
                    try:
                        added = self._write(conn, seq, phones)  # yields: add afterwards
                        self.imported += added
                    except Exception as exc:
                        self._error = self._error or exc
        except Exception as exc:
            self._error = self._error or exc
            while self._queue.get() is not None:  # the producer must never block on a full queue
                pass

    def _write(self, conn: Any, seq: int, phones: list[str]) -> int:
        fresh = list(dict.fromkeys(phones))
        with conn.transaction():  # one per chunk
            self._turns[seq].wait()
            try:
                ids = imports.reserve_number_ids(conn, len(fresh))
            finally:
                del self._turns[seq]
                self._turns[seq + 1].set()
            added, met_known = imports.insert_numbers(conn, self.task_id, fresh, ids, expect_known=self._careful,
                                                      zones=self.zones)
        self._careful = self._careful or met_known
        return added


def import_chunks(db: Database, task_id: Any, chunks: Iterable[Chunk],
                  on_row: Callable[[int], None] | None = None, region: str = "CN") -> dict[str, Any]:
    """Import chunks of rows; returns counts and the first bad rows (line, raw text)."""
    bad: list[tuple[int, str]] = []
    rejected = seen = 0
    sink = BulkImport(db, task_id, region=region)
    try:
        for chunk in chunks:
            seen += chunk.rows
            rejected += len(chunk.bad)
            bad += chunk.bad[:MAX_REPORTED - len(bad)]
            sink.add_all(chunk.phones)
            if on_row is not None:
                on_row(chunk.line)
    except BaseException:
        sink.abort()
        raise
    imported = sink.close()
    return {"rows": seen, "imported": imported, "duplicates": seen - rejected - imported, "rejected": rejected,
            "bad": bad}


def import_file(db: Database, task_id: Any, path: str | Path, progress: bool = False, region: str = "CN") -> dict[str, Any]:
    """Import ``path`` into a task, each number in its line's ``number_format``; returns counts and
    the first bad rows (line, reason). Raises FileNotFoundError, LookupError (no such task)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    total = path.stat().st_size
    bar = None
    on_row = None
    if progress and total > 1_000_000:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        job = bar.add_task("importing", total=total)
        with path.open("rb") as fh:
            lines = max(1, sum(1 for _ in fh))

        def on_row(n: int) -> None:
            bar.update(job, completed=total * n // lines)

    with db.connection() as conn:
        number_format = tasks.number_format(conn, None, task_id)
    if number_format is None:
        raise LookupError(f"no such task: {task_id}")
    try:
        report = import_chunks(db, task_id, file_chunks(path, Normaliser(region, number_format)), on_row, region)
    finally:
        if bar is not None:
            bar.stop()
    report["errors"] = [(n, f"not a phone number ({number_format}): {raw[:40]!r}") for n, raw in report.pop("bad")]
    return report
