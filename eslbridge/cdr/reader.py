"""Reads one node's CDR files into ``call_cdr``: every CDR once, whatever happened in between.

The files are the spool: mod_cdr_csv appends to them whether the engine, its
database or its ESL connection is there or not, and the cursor in
``cdr_file`` only moves in the transaction that stored the lines it passed.
So a line is stored after any outage from where the last commit left off,
and a line read twice (a cursor lost, a file copied back) is skipped by the
channel uuid. Several engines may read the same directory: a transaction
lock lets one read at a time, the others see how far it got.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import psycopg

from ..store import cdrs
from ..store.db import Database
from . import files
from .format import CdrLineError, parse

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 600.0


class CdrReader:
    def __init__(self, db: Database, node: str, directory: Path, *, base: str = "Master.csv", poll_s: float = 0.25,
                 keep_days: float = 7.0) -> None:
        self.db = db
        self.node = node
        self.directory = Path(directory)
        self.base = base
        self.poll_s = poll_s
        self.keep_days = keep_days
        self.stopping = False
        self.wake = gevent.event.Event()
        self.stored = 0  # CDRs this reader stored
        self.lines = 0  # lines it read
        self.bad_lines = 0  # lines of our format it could not read
        self.last_error: str | None = None
        self._done: dict[int, int] | None = None  # inode -> size of every file, when last found all read
        self._pruned = 0.0

    def run(self) -> None:
        """Poll until :attr:`stopping`; while the directory or the database is away, keep trying."""
        failures = 0
        while not self.stopping:
            try:
                self.poll()
                if failures:
                    log.warning("CDR files of %s: reading again after %d failed tries", self.node, failures)
                failures = 0
                self._prune()
            except Exception as exc:
                failures += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                if failures == 1 or failures % 20 == 0:
                    log.error("CDR files of %s (%s): %s", self.node, self.directory, self.last_error)
            self.wake.wait(self.poll_s if not failures else min(5.0, self.poll_s * 2**failures))
            self.wake.clear()

    def catch_up(self, timeout: float) -> bool:
        """Store every CDR the files hold now; False if that did not happen within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.poll():
                    return True
            except Exception as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}"
            if time.monotonic() > deadline or self.stopping:
                log.warning("CDR files of %s not read within %.1fs (%s)", self.node, timeout, self.last_error)
                return False
            gevent.sleep(0.05)

    def poll(self) -> bool:
        """Read every file up to the size it has now; True when all of it is stored (by any engine).

        False: another engine is still reading, or a file ends in a line not
        yet complete. Raises OSError (directory unreadable) or a database error.
        """
        found = files.scan(self.directory, self.base)
        sizes = {f.inode: f.size for f in found}
        if sizes == self._done:
            return True  # nothing new since everything was read
        with self.db.connection() as conn:
            while True:
                with conn.transaction():
                    known = cdrs.cursors(conn, self.node)
                    if not cdrs.try_lock(conn, self.node):  # another engine is reading: is it done?
                        return all((c := known.get(f.inode)) is not None and c.read_to >= f.size for f in found)
                    step = self._step(conn, found, known)
                    if step is None:
                        cdrs.forget_files(conn, self.node, sizes)
                if step is None:
                    break
                if step == (0, 0, 0):
                    return False  # only a line still being written is left
                self.stored, self.lines, self.bad_lines = (
                    self.stored + step[0], self.lines + step[1], self.bad_lines + step[2])
        self._done = sizes
        return True

    def _step(self, conn: psycopg.Connection[Any], found: list[files.FileState],
              known: dict[int, cdrs.Cursor]) -> tuple[int, int, int] | None:
        """Read one chunk of the first file with complete new lines: (CDRs stored, lines, bad lines).

        None: every file is read to its end; (0, 0, 0): what is left is an
        incomplete last line.
        """
        partial = False
        for f in found:
            before = known.get(f.inode)
            cursor = self._cursor(before, f)
            if cursor.read_to < f.size:
                step = self._read(conn, f, cursor)
                if step is not None:
                    return step
                partial = True
            elif cursor != before:
                cdrs.save_cursor(conn, self.node, cursor)
        return (0, 0, 0) if partial else None

    def _cursor(self, c: cdrs.Cursor | None, f: files.FileState) -> cdrs.Cursor:
        """The cursor to read ``f`` from: a new file from 0, a known one from where it was left."""
        path = self.directory / f.name
        if c is None:
            return cdrs.Cursor(f.inode, f.name, files.head(path), 0)
        if f.size != c.read_to and (f.size < c.read_to or (c.head is not None and files.head(path) != c.head)):
            # Truncated, or another file under a reused inode: read it whole (stored CDRs are skipped).
            log.warning("CDR file %s of %s is not the one read before; reading it from the start", f.name, self.node)
            return cdrs.Cursor(f.inode, f.name, files.head(path), 0)
        return replace(c, name=f.name) if c.name != f.name else c

    def _read(self, conn: psycopg.Connection[Any], f: files.FileState,
              cursor: cdrs.Cursor) -> tuple[int, int, int] | None:
        """Store the next chunk's CDRs and move the cursor past it; None if it holds no complete line."""
        path = self.directory / f.name
        lines, read_to = files.read_lines(path, cursor.read_to)
        if not lines:
            return None
        rows, bad = [], 0
        for i, line in enumerate(lines):
            try:
                row = parse(line, self.node)
            except CdrLineError as exc:
                bad += 1
                if self.bad_lines + bad <= 10:
                    log.warning("CDR file %s of %s: line %d after byte %d skipped: %s", f.name, self.node, i + 1,
                                cursor.read_to, exc)
                continue
            if row is not None:
                rows.append(row)
        new = cdrs.insert(conn, rows)
        head = cursor.head if cursor.head is not None else files.head(path)
        cdrs.save_cursor(conn, self.node, replace(cursor, head=head, read_to=read_to, lines=cursor.lines + len(lines),
                                                  bad_lines=cursor.bad_lines + bad))
        return len(new), len(lines), bad

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = now
        with self.db.transaction() as conn:
            cdrs.prune(conn, self.keep_days)
