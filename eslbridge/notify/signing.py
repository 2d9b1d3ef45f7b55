"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook


class Keys(tuple[str, ...]):
    """A tenant's active signing secrets; its repr never shows them (a crashed greenlet prints its arguments)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} signing secret(s)>"

    __str__ = __repr__


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(event_id: str, at: datetime, body: str, keys: Sequence[str]) -> dict[str, str]:
    """Headers for one delivery; one ``v1,`` signature per active secret (rotation)."""
    if not keys:
        raise ValueError("no signing secret")
    signatures = " ".join(Webhook(k).sign(event_id, at, body) for k in keys)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
