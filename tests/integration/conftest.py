from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def keys():
    from eslbridge.api.auth import keygen

    return keygen(), keygen()


@pytest.fixture
def api(db, keys):
    """The API over real HTTP with two tenants, each with a signing app."""
    from eslbridge.api.app import serve
    from eslbridge.api.client import Client
    from eslbridge.store import apps
    from eslbridge.store.db import Database

    (priv_a, pub_a), (priv_b, pub_b) = keys
    with db.transaction() as conn:
        apps.create_app(conn, "app-a", "tenant-a", "A", pub_a.decode())
        apps.create_app(conn, "app-b", "tenant-b", "B", pub_b.decode())
        apps.create_app(conn, "app-nokey", "tenant-a", "no key", None)
    api_db = Database(db.url, min_size=1, max_size=8, autocommit=True).open()  # as `eslbridge api` runs it
    server = serve(api_db, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_port}"

    class Api:
        url = base
        a = Client(base, "app-a", priv_a)
        b = Client(base, "app-b", priv_b)
        nokey = Client(base, "app-nokey", priv_a)
        private_a = priv_a

    yield Api
    server.stop(timeout=2)
    api_db.close()
