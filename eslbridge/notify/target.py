"""Webhook targets (SSRF guard): a URL parsed once, judged where it is written and where it is called.

:func:`parse` is the one reading of a ``call_notify_url``: http(s), a host, no
credentials, no control characters, at most :data:`MAX_URL_CHARS`; an
internationalised host name becomes its IDNA (ASCII) form and a non-ASCII
path is percent-encoded, so the request is always ASCII.

:func:`check_written` is what can be judged without DNS, when a task is
written (API, ``eslbridge apply``): a literal address in any spelling
``getaddrinfo`` accepts (``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``)
and the names that are local by definition (``localhost``, ``*.localhost``).

:func:`check` runs before every delivery: the host is resolved once, every
answer is judged and the connection is later pinned to the checked address,
so a DNS answer cannot change between the check and the request.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .nets import ALLOW_SETTING, IPAddr, IPNet, parse_nets, refusal, unmapped

__all__ = ["IPNet", "Parsed", "Target", "TargetRefused", "TargetUnresolved", "check", "check_written", "parse",
           "parse_nets", "system_resolver"]

MAX_URL_CHARS = 2000
# Printable ASCII is left as written; anything else in a path or query is percent-encoded (UTF-8).
_ASCII_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
HINT = f"not allowed unless {ALLOW_SETTING} lists it"


class TargetRefused(ValueError):
    """The URL may not be called; the message is the reason (a dead letter's, or the API's)."""


class TargetUnresolved(Exception):
    """The host did not resolve this time: a failed try, retried on the schedule like a connection error."""


@dataclass(frozen=True)
class Parsed:
    scheme: str
    host: str  # ASCII: the IDNA form of an internationalised name; an IPv6 literal without brackets
    port: int
    path: str  # path and query, ASCII
    literal: IPAddr | None  # the host as an address, when it is one


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # for the Host header and TLS SNI
    port: int
    ip: str  # the checked address the connection is pinned to
    path: str  # path and query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


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


def _literal(host: str) -> IPAddr | None:
    """The host as an address: IPv6 as written in brackets, IPv4 in every form inet_aton reads."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise TargetRefused(f"malformed IPv6 address {host!r}") from None
    try:  # 0x7f.1, 2130706433, 0177.0.0.1, 127.1: what getaddrinfo would connect to without asking DNS
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _idna(host: str) -> str:
    if host.isascii():
        return host
    try:  # the codec getaddrinfo itself applies to a str host (IDNA 2003, nameprep)
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefused(f"host {host!r} is not a valid internationalised domain name") from None


@functools.lru_cache(maxsize=4096)  # pure, and a task's notifications share one URL
def parse(url: str) -> Parsed:
    """Read ``url`` as a webhook target, without DNS; raises TargetRefused with the reason."""
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"longer than {MAX_URL_CHARS} characters")
    if _SPACE_OR_CONTROL.search(url):
        raise TargetRefused("contains a space or control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"malformed URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"scheme {parts.scheme!r} is not http(s)" if parts.scheme else "must be an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not hold credentials (user:password@): they are never sent; deliveries are signed")
    if not parts.hostname:
        raise TargetRefused("URL has no host")
    if port == 0:
        raise TargetRefused("port 0 cannot be connected to")
    host = _idna(parts.hostname)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not path.isascii():
        path = quote(path, safe=_ASCII_PRINTABLE)
    default = 443 if parts.scheme == "https" else 80
    return Parsed(parts.scheme, host, default if port is None else port, path, _literal(host))


def _local_name(host: str) -> bool:
    host = host.rstrip(".")
    return host == "localhost" or host.endswith(".localhost")  # RFC 6761: never leaves the machine


LOOPBACKS = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))


def check_written(url: str, allow: Sequence[IPNet] = ()) -> Parsed:
    """What is sure to be refused at delivery, refused when the URL is written (no DNS).

    A name is judged at delivery, by its DNS answers; a literal address and
    ``localhost`` here as well.
    """
    p = parse(url)
    allow = tuple(allow)
    if p.literal is not None:
        reason = refusal(p.literal, allow)
        if reason is not None:
            raise TargetRefused(f"targets {reason}; {HINT}")
    elif _local_name(p.host) and all(refusal(a, allow) for a in LOOPBACKS):
        raise TargetRefused(f"{p.host} is a loopback name; {HINT}")
    return p


def check(url: str, allow: Sequence[IPNet] = (), resolve: Resolver = system_resolver) -> Target:
    """Validate and resolve ``url`` for a delivery.

    Raises TargetRefused (dead letter) or TargetUnresolved (a failed try).
    """
    allow = tuple(allow)
    p = check_written(url, allow)  # a literal address is judged there, and connected to as it is
    if p.literal is not None:
        return Target(p.scheme, p.host, p.port, str(unmapped(p.literal)), p.path)
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(p.host, p.port)]
    except (OSError, ValueError, UnicodeError) as exc:
        raise TargetUnresolved(f"cannot resolve {p.host}: {exc}") from None
    if not addresses:
        raise TargetUnresolved(f"{p.host} has no address")
    for addr in addresses:
        reason = refusal(addr, allow)
        if reason is not None:
            raise TargetRefused(f"{p.host} resolves to {reason}; {HINT}")
    return Target(p.scheme, p.host, p.port, str(unmapped(addresses[0])), p.path)
