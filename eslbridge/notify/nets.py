"""Which addresses a webhook may reach: the refused ranges and the IPv4 an IPv6 address carries.

Pure. An IPv6 address that embeds an IPv4 address is judged by that IPv4
address's rules as well as its own: with a ``sit`` tunnel, a 6to4 relay or a
NAT64 gateway on the path, ``[::127.0.0.1]`` or ``[2002:7f00:1::]`` reaches
loopback. IPv4-mapped addresses (``::ffff:0:0/96``) are IPv4 addresses and are
connected to as such.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_SETTING = "ESLBRIDGE_WEBHOOK_ALLOW_NETS"

BLOCKED: tuple[IPNet, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)

# NAT64 (RFC 6052): the well-known prefix carries the IPv4 address in its last
# 32 bits. The local-use prefix (RFC 8215) is not globally reachable and the site
# chooses where in it the IPv4 address sits (a /48 to /96 prefix), so it is refused
# as a whole unless allowed, and even then its last 32 bits are judged too.
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def parse_nets(text: str) -> tuple[IPNet, ...]:
    """``ESLBRIDGE_WEBHOOK_ALLOW_NETS``: comma-separated CIDRs."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def unmapped(addr: IPAddr) -> IPAddr:
    """An IPv4-mapped IPv6 address as the IPv4 address it is; others unchanged."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def embedded(addr: IPAddr) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition address carries, if it is one."""
    if not isinstance(addr, ipaddress.IPv6Address) or addr.ipv4_mapped is not None:
        return None
    n = int(addr)
    if (n >> 32 == 0 and n > 1) or any(addr in net for net in NAT64):  # ::/96 IPv4-compatible (not :: or ::1)
        return ipaddress.IPv4Address(n & 0xFFFFFFFF)
    if addr.sixtofour is not None:  # 2002::/16: the 6to4 relay sends to bits 16–47
        return addr.sixtofour
    if addr.teredo is not None:  # 2001::/32: the client, reached through its NAT (ipaddress undoes the XOR)
        return addr.teredo[1]
    return None


def _listed(addr: IPAddr, nets: Sequence[IPNet]) -> bool:
    return any(addr in net for net in nets if net.version == addr.version)


@functools.lru_cache(maxsize=4096)  # pure; called for every answer of every delivery
def refusal(addr: IPAddr, allow: tuple[IPNet, ...] = ()) -> str | None:
    """Why ``addr`` may not be called (``"127.0.0.1, a private, … address"``), or None.

    The address itself and the IPv4 address it embeds, if any, must each be
    outside the refused ranges or inside ``allow``.
    """
    addr = unmapped(addr)
    inner = embedded(addr)
    for judged in (addr,) if inner is None else (addr, inner):
        if _listed(judged, BLOCKED) and not _listed(judged, allow):
            kind = "a private, loopback or reserved address"
            return f"{addr}, {kind}" if judged is addr else f"{addr}, which embeds {judged}, {kind}"
    return None


def is_blocked(addr: IPAddr, allow: tuple[IPNet, ...] = ()) -> bool:
    return refusal(addr, allow) is not None
