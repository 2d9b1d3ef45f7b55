"""Log formats: one JSON object per line with the call's fields; no secret in either format."""

from __future__ import annotations

import io
import json
import logging

import pytest

from eslbridge.ops import logs


@pytest.fixture
def logger():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []

    def make(fmt: str, secrets: tuple[str, ...] = ()) -> tuple[logging.Logger, io.StringIO]:
        logs.configure(fmt, logging.INFO, secrets, stream=stream)
        return logging.getLogger("eslbridge.test"), stream

    yield make
    root.handlers, level = saved[0], saved[1]
    root.setLevel(level)


def test_json_lines_carry_task_number_call_and_node_as_fields(logger):
    log, out = logger("json")
    log.warning("call %s lost\nsecond line", "c-1", extra={"task": "t-1", "number": 42, "call_uuid": "c-1", "node": "fs1"})
    log.info("plain")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # a newline inside a message stays inside its object
    first, second = (json.loads(x) for x in lines)
    assert first["message"] == "call c-1 lost\nsecond line" and first["level"] == "warning"
    assert (first["task"], first["number"], first["call_uuid"], first["node"]) == ("t-1", 42, "c-1", "fs1")
    assert first["logger"] == "eslbridge.test" and first["ts"].endswith("+00:00")
    assert second["message"] == "plain" and "task" not in second


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("message, secret", [
    ("connecting to postgresql://app:s3cr3t-pw@db:5432/x", "s3cr3t-pw"),
    ("webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw rotated", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("token ebt_9fK2-abc_XYZ123 used", "9fK2-abc_XYZ123"),
    ("dsn host=db password=pa55word user=x", "pa55word"),
    ("auth ClueCon-node-pw sent", "ClueCon-node-pw"),
], ids=["url", "whsec", "token", "keyword", "configured"])
def test_secrets_never_reach_the_output(logger, fmt, message, secret):
    log, out = logger(fmt, ("ClueCon-node-pw",))
    log.error(message, extra={"node": message})
    try:
        raise RuntimeError(message)
    except RuntimeError:
        log.exception("failed")
    text = out.getvalue()
    assert secret not in text
    assert logs.MASK in text


def test_an_unknown_format_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="ESLBRIDGE_LOG_FORMAT: expected text or json"):
        logs.configure("xml", logging.INFO)
