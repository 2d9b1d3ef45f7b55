"""Streamed number upload: the body goes to COPY in chunks while it is hashed for the signature.

The request is authenticated up front except for the body hash; the
signature is checked once the whole body has been read, before the
transaction commits, so a forged upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from typing import Any

import falcon

from ..store import api_queries as aq
from ..store import queries as q
from ..store.db import Database
from ..importer import CHUNK, phone_column
from ..phones import Normaliser
from .web import bad, not_found

READ_CHUNK = 1 << 20  # bytes


def stream_import(db: Database, req: falcon.Request, task_id: Any, phones: Normaliser) -> dict[str, Any]:
    digest = hashlib.sha256()
    imported = rows = rejected = 0
    errors: list[dict[str, Any]] = []
    batch: list[str] = []
    column = 0
    header_seen = False
    carry = b""
    line_no = 0
    with db.transaction() as conn:
        if aq.task_owned(conn, req.context.user, task_id) is None:
            raise not_found("task")

        def take(line: bytes) -> None:
            nonlocal rows, rejected, column, header_seen, line_no
            line_no += 1
            text = line.decode("utf-8", "replace").strip().lstrip("\ufeff")
            if not text:
                return
            cells = [c.strip().strip('"') for c in text.split(",")]
            if not header_seen:
                header_seen = True
                found = phone_column(cells)
                if found is not None:
                    column = found
                    return
            rows += 1
            raw = cells[column] if column < len(cells) else ""
            phone = phones.normalise(raw)
            if phone is None:
                rejected += 1
                if len(errors) < 1000:
                    errors.append({"line": line_no, "phone": raw[:40], "reason": "not a valid phone number"})
                return
            batch.append(phone)

        def flush() -> None:
            nonlocal imported
            if batch:
                imported += q.import_numbers(conn, task_id, batch)
                batch.clear()

        stream = req.bounded_stream
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            lines = (carry + chunk).split(b"\n")
            carry = lines.pop()
            for line in lines:
                take(line)
            if len(batch) >= CHUNK:
                flush()
        if carry:
            take(carry)
        flush()
        if rows == 0 and rejected == 0:
            raise bad("body: no numbers in the upload")
        req.context.verify_body(digest.hexdigest())  # raises: the transaction rolls back
    return {"rows": rows, "imported": imported, "duplicates": rows - rejected - imported, "rejected": rejected,
            "rejected_rows": errors}
