"""A real HTTP webhook receiver on loopback whose behaviour a test scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer


class Receiver:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requests: list[dict[str, Any]] = []
        self.behave: Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]] = lambda req: ("200 OK", [], b"ok")
        self.server = WSGIServer((host, port), self.app, log=None, error_log=None)

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        req = {"path": environ["PATH_INFO"], "headers": headers, "body": body}
        self.requests.append(req)
        status, extra, payload = self.behave(req)
        start_response(status, [("Content-Length", str(len(payload))), *extra])
        return [payload]

    def start(self) -> Receiver:
        self.server.start()
        return self

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def stop(self) -> None:
        self.server.stop(timeout=1)

    def ids(self) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.requests]


def hang(seconds: float) -> Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]]:
    def behave(req: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        gevent.sleep(seconds)
        return "200 OK", [], b"late"

    return behave
