"""One webhook POST over urllib3, pinned to the checked address, no redirects, bounded everything."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3

from .target import Target

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "eslbridge-webhooks/1"


@dataclass(frozen=True)
class Response:
    status: int | None
    latency_ms: float
    error: str | None = None
    retry_after: str | None = None


class Client:
    """Keeps a small connection pool per endpoint (scheme, address, port, host)."""

    def __init__(
        self,
        per_endpoint: int = 8,
        max_endpoints: int = 256,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        total_timeout_s: float = TOTAL_TIMEOUT_S,
    ) -> None:
        self.per_endpoint = per_endpoint
        self.connect_timeout_s = connect_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_endpoints = max_endpoints
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()

    def _pool(self, t: Target) -> urllib3.HTTPConnectionPool:
        key = (t.scheme, t.ip, t.port, t.host)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        timeout = urllib3.Timeout(connect=self.connect_timeout_s, read=self.total_timeout_s, total=self.total_timeout_s)
        if t.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                t.ip, t.port, timeout=timeout, maxsize=self.per_endpoint, block=True, retries=False,
                server_hostname=t.host, assert_hostname=t.host, cert_reqs="CERT_REQUIRED",
            )
        else:
            pool = urllib3.HTTPConnectionPool(t.ip, t.port, timeout=timeout, maxsize=self.per_endpoint, block=True, retries=False)
        self._pools[key] = pool
        while len(self._pools) > self.max_endpoints:
            _, old = self._pools.popitem(last=False)
            old.close()
        return pool

    def post(self, t: Target, body: bytes, headers: dict[str, str]) -> Response:
        started = time.perf_counter()
        all_headers = {
            "Host": t.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **headers,
        }
        try:
            resp = self._pool(t).urlopen(
                "POST", t.path, body=body, headers=all_headers, redirect=False, retries=False,
                preload_content=False, assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            return Response(None, (time.perf_counter() - started) * 1000, f"{exc.__class__.__name__}: {str(exc)[:200]}")
        try:
            resp.read(MAX_RESPONSE_BYTES)  # read a little, never a huge body
            retry = resp.headers.get("Retry-After")
            if resp.length_remaining not in (0, None) or resp.headers.get("Transfer-Encoding"):
                resp.close()  # do not drain a huge body to reuse the connection
            else:
                resp.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            resp.close()
            return Response(resp.status, (time.perf_counter() - started) * 1000, f"reading response: {exc.__class__.__name__}")
        return Response(resp.status, (time.perf_counter() - started) * 1000, None, retry)
