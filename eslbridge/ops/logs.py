"""Log lines for people (text) or for log shippers (``ESLBRIDGE_LOG_FORMAT=json``), never with a secret.

JSON: one object per line with ``ts``, ``level``, ``logger``, ``message`` and,
when the line is about one, ``task``, ``number`` (the number's id, never its
phone), ``call_uuid``, ``node`` and ``engine`` as fields of their own (given
with ``extra=``). Both formats pass every string through :class:`Redactor`:
the configured passwords, the database URL's password, webhook secrets
(``whsec_…``), wallboard tokens (``ebt_…``) and the password of any URL are
replaced by ``***`` wherever they appear, so a library that logs a
connection string or an exception quoting a URL cannot leak them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

FIELDS = ("task", "number", "call_uuid", "node", "engine")
MASK = "***"
# Secrets by shape: webhook secrets, wallboard tokens, a URL's password, key=value passwords.
PATTERNS = (
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_" + MASK),
    (re.compile(r"ebt_[A-Za-z0-9_\-]+"), "ebt_" + MASK),
    (re.compile(r"(://[^:/@\s]*:)[^@\s/]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)\b(password|passwd|pwd)=([^\s&,;]+)"), r"\1=" + MASK),
)
MIN_SECRET = 4  # shorter configured values would mask ordinary words


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= MIN_SECRET)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, repl in PATTERNS:
            text = pattern.sub(repl, text)
        return text


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for key in FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = value if isinstance(value, int | float | bool) else self.redact(str(value))
        if record.exc_info:
            out["error"] = self.redact(self.formatException(record.exc_info))
        return orjson.dumps(out).decode()  # one line: orjson escapes newlines inside strings


def configure(log_format: str, level: int, secrets: Iterable[str] = (), stream: Any = None) -> Redactor:
    """Send every log line to ``stream`` (stderr) in ``log_format`` ("text" or "json"); returns the redactor."""
    if log_format not in ("text", "json"):
        raise ValueError(f"ESLBRIDGE_LOG_FORMAT: expected text or json, got {log_format[:32]!r}")
    redact = Redactor(secrets)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "eslbridge", False)]:
        root.removeHandler(old)
    if root.handlers and stream is None:
        return redact  # someone else's handlers (a test runner's): leave them, as logging.basicConfig does
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.eslbridge = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(redact) if log_format == "json" else TextFormatter(redact))
    root.addHandler(handler)
    root.setLevel(level)
    return redact


def configured_secrets() -> list[str]:
    """The secrets ``ESLBRIDGE_*`` settings hold: ESL passwords and the database URL's password.

    Read without validating the rest of the settings, so a bad value elsewhere
    is reported by the command that uses it, not by the logging set-up.
    """
    import os

    import psycopg

    out = [os.environ.get("ESLBRIDGE_FS_PASSWORD", "")]
    for item in os.environ.get("ESLBRIDGE_FS_NODES", "").split(","):
        parts = item.partition("=")[2].split(":")
        if len(parts) >= 3:
            out.append(parts[2])
    url = os.environ.get("ESLBRIDGE_DATABASE_URL", "")
    if url:
        try:
            out.append(str(psycopg.conninfo.conninfo_to_dict(url).get("password") or ""))
        except psycopg.ProgrammingError:
            pass
    return [s for s in out if s]
