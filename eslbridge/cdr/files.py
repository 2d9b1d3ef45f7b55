"""The CDR files of one node's directory: which there are, and their new complete lines.

mod_cdr_csv keeps ``Master.csv`` open with O_APPEND and writes each CDR with
one ``write()``. On ``fsctl send_sighup`` or ``cdr_csv rotate`` (with
``rotate-on-hup``) it renames the file ``Master.csv.YYYY-MM-DD-HH-MM-SS`` and
opens a new one; the renamed file keeps its inode and is never written again.
A file is therefore known by its inode, and a cursor says how far it has
been read; only complete lines are taken (a line still being written waits
for the next read).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 << 20  # bytes read per transaction
HEAD_MAX = 64 << 10  # a first line longer than this is not a CDR line anyway


@dataclass(frozen=True, slots=True)
class FileState:
    inode: int
    name: str
    size: int


def scan(directory: Path, base: str) -> list[FileState]:
    """``base`` and its rotated copies (``base.*``), rotated ones first (oldest name first).

    Raises OSError if the directory cannot be listed (missing, no permission).
    """
    found: list[FileState] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name != base and not entry.name.startswith(base + "."):
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue  # deleted between the listing and the stat
            if entry.is_file():
                found.append(FileState(st.st_ino, entry.name, st.st_size))
    found.sort(key=lambda f: (f.name == base, f.name))
    return found


def head(path: Path) -> bytes | None:
    """SHA-256 of the file's first complete line (which names it: a CDR holds a uuid); None before one."""
    with path.open("rb") as fh:
        data = fh.read(HEAD_MAX)
    end = data.find(b"\n")
    return hashlib.sha256(data[: end + 1]).digest() if end >= 0 else None


def read_lines(path: Path, offset: int, limit: int = CHUNK) -> tuple[list[bytes], int]:
    """Complete lines from ``offset`` (at most ``limit`` bytes), and the offset after the last one.

    A file shorter than ``offset`` gives no lines and ``offset`` back (the
    caller decides what a shrunk file means).
    """
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(limit)
    end = data.rfind(b"\n")
    if end < 0:
        if len(data) == limit:  # one line longer than a whole chunk: not ours, step over it
            return [data], offset + len(data)
        return [], offset
    return data[: end + 1].splitlines(keepends=True), offset + end + 1
