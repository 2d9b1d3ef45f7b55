"""Webhook target checks (SSRF guard): http(s) only, resolved once, private ranges refused.

The host is resolved here and the connection is later pinned to the checked
address, so a DNS answer cannot change between the check and the request.
Odd spellings (``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``) are caught
because the *resolved* address is checked, IPv4-mapped IPv6 as IPv4.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

BLOCKED: tuple[IPNet, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)


class TargetRefused(ValueError):
    """The URL may not be called; the message is the dead-letter reason."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # for the Host header and TLS SNI
    port: int
    ip: str  # the checked address the connection is pinned to
    path: str  # path and query


Resolver = Callable[[str, int], Sequence[str]]


_CACHE: dict[tuple[str, int], tuple[float, list[str]]] = {}
CACHE_TTL_S = 30.0


def system_resolver(host: str, port: int) -> list[str]:
    """getaddrinfo with a short cache (a thread hop per delivery costs more than the POST)."""
    now = time.monotonic()
    hit = _CACHE.get((host, port))
    if hit is not None and now - hit[0] < CACHE_TTL_S:
        return hit[1]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[(host, port)] = (now, addresses)
    return addresses


def parse_nets(text: str) -> tuple[IPNet, ...]:
    """``ESLBRIDGE_WEBHOOK_ALLOW_NETS``: comma-separated CIDRs."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def _normalise(addr: IPAddr) -> IPAddr:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_blocked(addr: IPAddr, allow: Sequence[IPNet] = ()) -> bool:
    addr = _normalise(addr)
    if any(addr in net for net in allow if net.version == addr.version):
        return False
    return any(addr in net for net in BLOCKED if net.version == addr.version)


def check(url: str, allow: Sequence[IPNet] = (), resolve: Resolver = system_resolver) -> Target:
    """Validate and resolve ``url``; raises TargetRefused with a reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"malformed URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"scheme {parts.scheme!r} is not http(s)")
    host = parts.hostname
    if not host:
        raise TargetRefused("URL has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    except (OSError, ValueError) as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    for addr in addresses:
        if is_blocked(addr, allow):
            raise TargetRefused(f"{host} resolves to {_normalise(addr)}, a private, loopback or reserved address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, str(_normalise(addresses[0])), path)
