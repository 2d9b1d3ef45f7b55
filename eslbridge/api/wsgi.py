"""gevent's WSGI server with TCP_NODELAY on every connection.

pywsgi writes a response's headers and body separately; with Nagle's
algorithm on, the body waits for the client's delayed ACK (~40 ms per
keep-alive request).
"""

from __future__ import annotations

import socket
from typing import Any

from gevent.pywsgi import WSGIServer


class NoDelayWSGIServer(WSGIServer):  # type: ignore[misc]
    def handle(self, sock: Any, address: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (e.g. a Unix socket)
        super().handle(sock, address)
