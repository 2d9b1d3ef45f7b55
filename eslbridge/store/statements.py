"""Every SQL statement of the store by name, read once from ``store/sql/*.sql``.

A ``.sql`` file is a list of blocks. A block starts with a line holding only
its name between two comment dashes, then optional comment lines describing
it, then the SQL, which runs to the next name::

    -- claim_due_retries --
    -- Numbers whose retry time has come, oldest first.
    UPDATE task_number ...;

Comment lines inside the SQL are for the reader of the file and are not sent
to the server (psycopg would read a percent sign in them as a parameter); a
trailing semicolon is dropped, so a statement can be prefixed (``EXPLAIN``).
Statements whose table or column names are decided at run time hold
``{field}`` placeholders and are used through ``template()``, filled with
``psycopg.sql.Identifier``.

What can go wrong, at import time (so a broken file stops the process before
it touches the database): SQL before the first name, a block without SQL, or a
name defined twice (in one file or two) raise ``StatementError``. A name the
code asks for and no file defines raises ``KeyError`` when it runs; the unit
test ``test_sql_names`` checks every name both ways without running anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import LiteralString

from psycopg import sql

NAME_LINE = re.compile(r"--\s*([a-z][a-z0-9_]*)\s*--")


class StatementError(Exception):
    """A ``.sql`` file of the store is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Statement:
    name: str
    source: str  # file name, e.g. "claims.sql"
    line: int  # of the name line, 1-based
    description: str
    text: str


def parse(text: str, source: str) -> list[Statement]:
    """The named blocks of one file, in file order (pure: no I/O)."""
    out: list[Statement] = []
    name: str | None = None
    start = 0
    notes: list[str] = []
    body: list[str] = []

    def close() -> None:
        if name is None:
            return
        sql_text = "\n".join(body).strip().removesuffix(";").rstrip()
        if not sql_text:
            raise StatementError(f"{source}:{start}: block {name!r} has no SQL")
        out.append(Statement(name, source, start, " ".join(notes), sql_text))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if m := NAME_LINE.fullmatch(stripped):
            close()
            name, start, notes, body = m.group(1), number, [], []
        elif stripped.startswith("--"):
            if name is not None and not body:
                notes.append(stripped.removeprefix("--").strip())  # the description
        elif not stripped:
            if body:
                body.append("")
        elif name is None:
            raise StatementError(f"{source}:{number}: SQL before the first '-- name --' line")
        else:
            body.append(line)
    close()
    return out


def collect(files: Iterable[tuple[str, str]]) -> dict[str, Statement]:
    """Statements of several files (name, text) by name; a name defined twice is an error."""
    found: dict[str, Statement] = {}
    for source, text in files:
        for st in parse(text, source):
            if (first := found.get(st.name)) is not None:
                raise StatementError(
                    f"{st.source}:{st.line}: {st.name!r} is already defined at {first.source}:{first.line}"
                )
            found[st.name] = st
    return found


def _package_files() -> list[tuple[str, str]]:
    folder = resources.files(__package__).joinpath("sql")
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))


STATEMENTS: Mapping[str, Statement] = MappingProxyType(collect(_package_files()))

# The files ship with the package; nothing in them comes from a request.
SQL: Mapping[str, LiteralString] = MappingProxyType({n: s.text for n, s in STATEMENTS.items()})


@cache
def template(name: str) -> sql.SQL:
    """The statement ``name`` as a ``psycopg.sql.SQL``, to ``.format()`` identifiers into."""
    return sql.SQL(SQL[name])
