from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: a deadline is a timed assert, and this machine's speed varies
# with its load (examples that took 20 ms took 300 ms beside a busy PostgreSQL).
settings.register_profile("eslbridge", deadline=None)
settings.load_profile("eslbridge")

CAPTURES = Path(__file__).parent / "data" / "captures"


@pytest.fixture
def switch() -> Iterator[object]:
    from eslbridge.sim.server import SimConfig, Switch

    sw = Switch(SimConfig(time_scale=0.001, heartbeat_s=0)).start("127.0.0.1", 0)
    yield sw
    sw.stop()


@pytest.fixture
def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- PostgreSQL ------------------------------------------------------------------
TEMPLATE_DB = "eslbridge_template"


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory) -> str:
    """A PostgreSQL server: ESLBRIDGE_DATABASE_URL if set, else an embedded one for the session."""
    import os

    from eslbridge.store.db import embedded_url

    url = os.environ.get("ESLBRIDGE_DATABASE_URL")
    if url:
        return url
    return embedded_url(tmp_path_factory.mktemp("pg"))


def _with_dbname(url: str, name: str) -> str:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture(scope="session")
def template_url(pg_server_url) -> str:
    """A migrated template database, created once per session."""
    import psycopg

    from eslbridge.store.db import migrate

    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    url = _with_dbname(pg_server_url, TEMPLATE_DB)
    migrate(url)
    return url


@pytest.fixture
def db_url(pg_server_url, template_url, request) -> Iterator[str]:
    """A fresh database per test, cloned from the template (fast: no migrations)."""
    import uuid as _uuid

    import psycopg

    name = "t_" + _uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    yield _with_dbname(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db(db_url):
    from eslbridge.store.db import Database

    database = Database(db_url, min_size=1, max_size=8).open()
    yield database
    database.close()
