"""Random (version 4) UUIDs, many at a time.

The dialer names every call and the recorder every notification with a fresh
UUID. ``uuid.uuid4()`` reads the kernel's random source once per UUID (a
system call each) and builds a ``UUID`` object only to print it; here one read
serves a whole batch and the text is formatted straight from the bytes. Same
randomness (``os.urandom``), same text as ``str(uuid.uuid4())``.
"""

from __future__ import annotations

import os


def random_uuids(n: int) -> list[str]:
    """``n`` random UUIDs (RFC 9562 version 4) in their canonical lower-case text form."""
    raw = bytearray(os.urandom(16 * n))
    out = []
    for i in range(0, 16 * n, 16):
        raw[i + 6] = raw[i + 6] & 0x0F | 0x40  # version 4
        raw[i + 8] = raw[i + 8] & 0x3F | 0x80  # the RFC variant
        h = raw[i : i + 16].hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out
