"""A small webhook receiver that verifies Standard Webhooks signatures (demo and benchmarks)."""

from __future__ import annotations

import time
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class VerifyingReceiver:
    def __init__(self, secrets: dict[str, str] | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.secrets = secrets or {}  # tenant → whsec_ secret; empty: accept without verifying
        self.verified = 0
        self.rejected = 0
        self.received = 0
        self.arrivals: dict[str, float] = {}  # webhook-id → time.time() of first arrival
        from ..api.wsgi import NoDelayWSGIServer

        self.server = NoDelayWSGIServer((host, port), self.app, log=None, error_log=None)

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            "webhook-id": environ.get("HTTP_WEBHOOK_ID", ""),
            "webhook-timestamp": environ.get("HTTP_WEBHOOK_TIMESTAMP", ""),
            "webhook-signature": environ.get("HTTP_WEBHOOK_SIGNATURE", ""),
        }
        self.received += 1
        self.arrivals.setdefault(headers["webhook-id"], time.time())
        tenant = environ.get("PATH_INFO", "/").strip("/").split("/")[-1]
        secret = self.secrets.get(tenant)
        if secret is not None:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                self.verified += 1
            except WebhookVerificationError:
                self.rejected += 1
                start_response("401 Unauthorized", [("Content-Length", "0")])
                return [b""]
        start_response("204 No Content", [])
        return [b""]

    def start(self) -> VerifyingReceiver:
        self.server.start()
        return self

    def url(self, tenant: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/{tenant}"

    def stop(self) -> None:
        self.server.stop(timeout=1)
