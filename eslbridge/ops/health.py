"""Liveness and readiness as container orchestrators probe them (HTTP 200 or 503, a JSON body).

``/healthz``: the process answers (its event loop runs). ``/readyz``: the
engine can do its work: PostgreSQL answers a statement and every node's ESL
link is up, except nodes an operator paused (a node in maintenance is
expected to be down). The API is ready when PostgreSQL answers; it reports
the engines' links to each node as they last wrote them, for information.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PING_TIMEOUT_S = 2.0  # a probe must answer well within an orchestrator's usual 5 s


@dataclass(frozen=True)
class NodeState:
    name: str
    connected: bool
    paused: bool
    error: str | None = None


def engine_ready(database_error: str | None, nodes: Iterable[NodeState]) -> tuple[bool, dict[str, Any]]:
    """(ready, body) of an engine's ``/readyz`` (pure)."""
    states = sorted(nodes, key=lambda n: n.name)
    ready = database_error is None and all(n.connected or n.paused for n in states)
    body: dict[str, Any] = {
        "ready": ready,
        "database": "ok" if database_error is None else f"error: {database_error}",
        "nodes": {n.name: {"esl": "up" if n.connected else "down", "paused": n.paused,
                           **({"error": n.error} if n.error and not n.connected else {})} for n in states},
    }
    return ready, body


def api_ready(database_error: str | None, nodes: Iterable[Mapping[str, Any]] = ()) -> tuple[bool, dict[str, Any]]:
    """(ready, body) of the API's ``/readyz`` (pure): ``nodes`` are rows of ``store.nodes.listing``."""
    ready = database_error is None
    body: dict[str, Any] = {"ready": ready, "database": "ok" if ready else f"error: {database_error}"}
    if ready:
        body["nodes"] = {
            r["name"]: {"paused": r["paused_at"] is not None,
                        "esl": {link["engine"]: "up" if link["connected"] else "down" for link in r["links"]}}
            for r in nodes
        }
    return ready, body
