"""Number import from CSV or plain files: streamed, validated, reported by line number."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .phones import Normaliser
from .store import queries as q
from .store.db import Database

CHUNK = 50_000  # numbers per COPY / transaction
PHONE_HEADERS = frozenset({"phone", "number", "mobile"})


def phone_column(header: list[str]) -> int | None:
    """Index of the phone column if ``header`` is a header row (else None: the row is data)."""
    return next((i for i, h in enumerate(header) if h.strip().strip('"').lower() in PHONE_HEADERS), None)


def read_phones(path: Path, phones: Normaliser) -> Iterator[tuple[int, str | None, str]]:
    """Yield (line number, phone or None, raw text). A CSV uses its ``phone`` column, else the first."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
        is_csv = "," in first or ";" in first
        fh.seek(0)
        if not is_csv:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    yield n, phones.normalise(line), line.strip()
            return
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


def import_file(db: Database, task_id: Any, path: str | Path, progress: bool = False, region: str = "CN") -> dict[str, Any]:
    """Import ``path`` into a task; returns counts and the first bad rows (line, reason)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    total = path.stat().st_size
    errors: list[tuple[int, str]] = []
    rejected = imported = seen = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal imported
        if batch:
            with db.transaction() as conn:
                imported += q.import_numbers(conn, task_id, batch)
            batch.clear()

    bar = None
    if progress and total > 1_000_000:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        job = bar.add_task("importing", total=total)
    consumed = 0  # bytes, roughly: for the progress bar only
    try:
        for n, phone, raw in read_phones(path, Normaliser(region)):
            seen += 1
            consumed += len(raw) + 1
            if phone is None:
                rejected += 1
                if len(errors) < 1000:
                    errors.append((n, f"not a phone number: {raw[:40]!r}"))
                continue
            batch.append(phone)
            if len(batch) >= CHUNK:
                flush()
                if bar is not None:
                    bar.update(job, completed=min(total, consumed))
        flush()
    finally:
        if bar is not None:
            bar.stop()
    return {
        "rows": seen,
        "imported": imported,
        "duplicates": seen - rejected - imported,
        "rejected": rejected,
        "errors": errors,
    }
