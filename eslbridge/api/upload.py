"""Streamed number upload: the body is spooled to disk while it is hashed, then imported.

The request is authenticated up front except for the body hash. The body
goes to a temporary file (never whole into memory); once it is all read the
signature is checked, so a forged upload never reaches the database. The file
is then imported like ``eslbridge numbers import``: CSV or one number per
line, in chunks on two connections, each chunk committed on its own (an
upload that fails half way can be sent again: numbers already imported count
as duplicates).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import falcon

from ..importer import file_chunks, import_chunks
from ..phones import Normaliser
from ..store import tasks
from ..store.db import Database
from .web import ApiError, bad, not_found

READ_CHUNK = 1 << 20  # bytes
MAX_UPLOAD = 1 << 30  # bytes: ~80 million numbers


def stream_import(db: Database, req: falcon.Request, task_id: Any, phones: Normaliser) -> dict[str, Any]:
    with db.connection() as conn:
        number_format = tasks.number_format(conn, req.context.user, task_id)
    if number_format is None:
        raise not_found("task")
    phones = phones.for_format(number_format)
    with spooled(req) as path:
        report = import_chunks(db, task_id, file_chunks(path, phones), region=phones.region)
    if report["rows"] == 0:
        raise bad("body: no numbers in the upload")
    rejected_rows = [{"line": n, "phone": raw[:40], "reason": f"not a phone number ({number_format})"}
                     for n, raw in report["bad"]]
    return {"rows": report["rows"], "imported": report["imported"], "duplicates": report["duplicates"],
            "rejected": report["rejected"], "rejected_rows": rejected_rows}


@contextmanager
def spooled(req: falcon.Request) -> Iterator[Path]:
    """The request body in a temporary file, its signature checked (raises ApiError before
    anything is yielded if it is too large or forged); the file is gone afterwards."""
    if (req.content_length or 0) > MAX_UPLOAD:
        raise ApiError(413, 413, f"body larger than {MAX_UPLOAD} bytes")
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(prefix="eslbridge-upload-") as spool:
        while chunk := req.bounded_stream.read(READ_CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise ApiError(413, 413, f"body larger than {MAX_UPLOAD} bytes")
            digest.update(chunk)
            spool.write(chunk)
        spool.flush()
        req.context.verify_body(digest.hexdigest())  # raises before anything is written
        yield Path(spool.name)
