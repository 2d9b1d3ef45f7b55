"""A small signing client for the task API.

    from eslbridge.api.client import Client
    api = Client("http://127.0.0.1:8080", app_id, open("app.key", "rb").read())
    status, body = api.get("/v1/task/task_progress/" + task_uuid)
    status, body = api.post("/v1/task", {"name": "spring", ...})
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import urllib3

from .auth import signed_headers


class Client:
    def __init__(self, base_url: str, app_id: str, private_key_pem: bytes, timeout_s: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.app_id = app_id
        self.key = private_key_pem
        parts = urlsplit(self.base)
        self.pool = urllib3.connection_from_url(self.base, timeout=timeout_s, retries=False, maxsize=16)
        self.prefix = parts.path

    def request(self, method: str, path_with_query: str, body: bytes = b"", content_type: str = "application/json",
                extra_headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Sign and send; returns (HTTP status, parsed JSON or raw text)."""
        full = self.prefix + path_with_query
        headers = signed_headers(self.key, self.app_id, method, full, body)
        if body:
            headers["Content-Type"] = content_type
        headers.update(extra_headers or {})
        resp = self.pool.urlopen(method, full, body=body or None, headers=headers, redirect=False)
        data = resp.data
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data.decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.request("DELETE", path)

    def post(self, path: str, payload: Any) -> tuple[int, Any]:
        return self.request("POST", path, json.dumps(payload).encode())

    def put(self, path: str, payload: Any) -> tuple[int, Any]:
        return self.request("PUT", path, json.dumps(payload).encode())
