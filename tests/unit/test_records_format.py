"""Attempt records as exported: the do-not-call result, status names, CSV and JSON lines."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from eslbridge.records import FIELDS, record, write_records

ROW = {"id": 1, "phone": "13800000001", "status": 18, "dnc_checked": True, "dnc_list_id": 4, "dnc_list": "register",
       "originated_at": datetime(2026, 11, 23, 2, 0, tzinfo=UTC), "callee_local_at": datetime(2026, 11, 23, 10, 0)}


@pytest.mark.parametrize(
    ("over", "result"),
    [({}, "listed"), ({"dnc_list_id": None}, "clear"), ({"dnc_checked": False, "dnc_list_id": None}, "unchecked")],
    ids=["listed", "clear", "made-before-the-check"],
)
def test_the_do_not_call_result(over, result):
    assert record({**ROW, **over})["dnc_result"] == result


def test_csv_and_json_lines_carry_the_same_record():
    text, lines = io.StringIO(), io.StringIO()
    assert write_records([ROW], text, "csv") == 1 and write_records([ROW], lines, "jsonl") == 1
    header, row = text.getvalue().splitlines()
    assert header.split(",") == list(FIELDS)
    got = json.loads(lines.getvalue())
    assert (got["status_name"], got["originated_at"], got["callee_local_at"]) == (
        "blocked", "2026-11-23T02:00:00+00:00", "2026-11-23T10:00:00")
    assert row.split(",")[FIELDS.index("callee_local_at")] == "2026-11-23T10:00:00"
    with pytest.raises(ValueError, match="format"):
        write_records([ROW], text, "xml")
