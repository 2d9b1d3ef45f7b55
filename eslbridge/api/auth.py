"""Request signatures (SPEC §6): RSA-SHA256 over a canonical string, by the app's private key.

canonical = appId + "\\n" + timestamp + "\\n" + METHOD + "\\n" + path_with_query + "\\n" + hex(sha256(body))
sign      = base64(RSASSA-PKCS1-v1_5(SHA-256, canonical))

The pure parts (canonical string, verify, sign) are here; the replay guard
and key lookup use the store.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

WINDOW_S = 300  # timestamps within ±5 min are accepted


class AuthFailed(Exception):
    """Maps to result code 10001 (or 10002 when ``no_key``)."""

    def __init__(self, message: str, no_key: bool = False) -> None:
        super().__init__(message)
        self.no_key = no_key


def canonical(app_id: str, timestamp: str, method: str, path_with_query: str, body: bytes) -> bytes:
    return canonical_with_hash(app_id, timestamp, method, path_with_query, canonical_body_hash_of(body))


def canonical_body_hash_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_with_hash(app_id: str, timestamp: str, method: str, path_with_query: str, body_hash: str) -> bytes:
    """The canonical string when the body was hashed while streaming."""
    return f"{app_id}\n{timestamp}\n{method.upper()}\n{path_with_query}\n{body_hash}".encode()


@lru_cache(maxsize=16)
def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    # Parsing and checking a PEM key costs far more than one signature.
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("not an RSA private key")
    return key


def sign(private_key_pem: bytes, app_id: str, timestamp: str, method: str, path_with_query: str, body: bytes) -> str:
    """Client side: the ``sign`` header value."""
    key = _private_key(private_key_pem)
    sig = key.sign(canonical(app_id, timestamp, method, path_with_query, body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Raises ValueError if ``pem`` is not an RSA public key of at least 2048 bits."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise ValueError("the key must be RSA, 2048 bits or more")
    return key


def check_timestamp(timestamp: str, now_s: float | None = None) -> None:
    if not timestamp.isdigit():
        raise AuthFailed("timestamp must be milliseconds since the epoch")
    now_ms = (now_s if now_s is not None else time.time()) * 1000
    if abs(int(timestamp) - now_ms) > WINDOW_S * 1000:
        raise AuthFailed("timestamp outside the ±5 minute window")


def verify(key: rsa.RSAPublicKey, sign_b64: str, message: bytes) -> None:
    try:
        sig = base64.b64decode(sign_b64, validate=True)
        key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise AuthFailed("signature does not match") from exc


def keygen() -> tuple[bytes, bytes]:
    """A new 2048-bit key pair: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@dataclass(frozen=True)
class SignedHeaders:
    app_id: str
    timestamp: str
    sign: str

    def as_dict(self) -> dict[str, str]:
        return {"appId": self.app_id, "timestamp": self.timestamp, "sign": self.sign}


def signed_headers(private_key_pem: bytes, app_id: str, method: str, path_with_query: str, body: bytes = b"",
                   timestamp_ms: int | None = None) -> dict[str, str]:
    """Headers for one request — the documented client helper."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return SignedHeaders(app_id, ts, sign(private_key_pem, app_id, ts, method, path_with_query, body)).as_dict()
