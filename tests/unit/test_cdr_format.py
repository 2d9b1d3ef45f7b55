"""The CDR line: the shipped mod_cdr_csv template, lines a real FreeSWITCH 1.10.12 wrote, bad lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.cdr.format import FIELDS, MARKER, CdrLineError, parse, render, template

ROOT = Path(__file__).parents[2]
# Written by mod_cdr_csv with dialplan/cdr_csv.conf.xml on the bench FreeSWITCH: loopback calls to
# callee digits 1 (busy), 3 (unallocated), 9 (answer 1 s), 0 (answer 3 s), both legs each; then two calls
# into `sales XML queue`: one answered by agent1, one left with NO_AGENT_TIMEOUT (plus their B legs).
REAL = (ROOT / "tests" / "data" / "cdr" / "fs_1.10.12_Master.csv").read_bytes().splitlines(keepends=True)


def us(n: int) -> datetime:
    return datetime.fromtimestamp(n / 1e6, tz=UTC)


def test_the_shipped_config_holds_the_template_the_reader_reads():
    conf = ET.parse(ROOT / "dialplan" / "cdr_csv.conf.xml").getroot()
    settings = {p.get("name"): p.get("value") for p in conf.iter("param")}
    assert settings["default-template"] == "eslbridge" and settings["legs"] == "a"
    [tpl] = [t for t in conf.iter("template") if t.get("name") == "eslbridge"]
    assert tpl.text == template()


def test_only_the_originated_leg_of_each_call_is_ours():
    rows = [r for r in (parse(line, "fs1") for line in REAL) if r is not None]
    assert len(REAL) == 12 and len(rows) == 6  # B legs carry our variables under their own uuid
    assert all(r.engine in ("bench", "test") and r.node == "fs1" for r in rows)
    assert [r.hangup_cause for r in rows] == ["USER_BUSY", "UNALLOCATED_NUMBER", "NORMAL_CLEARING",
                                              "NORMAL_CLEARING", "NORMAL_CLEARING", "NORMAL_CLEARING"]


def test_a_real_answered_call_reads_with_its_times():
    row = parse(REAL[5], "fs1")
    assert row is not None
    assert row.call_uuid == "2bb9c020-0046-4666-8542-3d2a133b6147"
    assert (row.task_id, row.number_id) == ("t1", "42")
    assert row.answered_at == us(1796294268062602) and row.ended_at == us(1796294269082030)
    assert (row.billsec, row.duration, row.bridged_at, row.cc_queue) == (1, 1, None, None)
    busy = parse(REAL[1], "fs1")
    assert busy is not None and busy.answered_at is None and busy.billsec == 0


def test_a_real_queue_call_reads_with_its_agent_and_queue_times():
    answered, abandoned = parse(REAL[9], "fs1"), parse(REAL[10], "fs1")
    assert answered is not None and abandoned is not None
    assert (answered.cc_queue, answered.cc_agent, answered.cc_cause) == ("sales@default", "agent1@default", "answered")
    assert answered.cc_joined_at == answered.cc_answered_at == datetime.fromtimestamp(1796294825, tz=UTC)
    assert answered.bridged_at == answered.cc_answered_at
    assert (abandoned.cc_cause, abandoned.cc_cancel_reason, abandoned.cc_agent) == ("cancel", "NO_AGENT_TIMEOUT", None)
    assert abandoned.bridged_at is None and abandoned.answered_at is not None


@pytest.mark.parametrize(
    "line",
    [b'"","8ae1f09e","","","","",""\n', b"\n", b'eslbridge.2,"x"\n',
     (MARKER + ',"u","v","","","","0","0","0","0","0","0","X","","","","","","","",""\n').encode()],
    ids=["vanilla-template", "empty", "another-version", "not-our-call"],
)
def test_lines_that_are_not_our_calls_are_skipped(line):
    assert parse(line, "fs1") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (REAL[5].replace(b',"1","1",', b',"1",'), "19 fields, expected 20"),
        (REAL[5].replace(b'"NORMAL_CLEARING"', b'"NORMAL "CLEARING"'), "not a CSV line"),
        (REAL[5].replace(b'"1796294268041902"', b'"soon"'), "start_uepoch: not a number"),
    ],
    ids=["a-field-missing", "a-quote-in-a-value", "a-time-that-is-not-a-number"],
)
def test_a_line_of_our_format_that_does_not_read_says_why(line, message):
    with pytest.raises(CdrLineError, match=message):
        parse(line, "fs1")


_VALUE = st.text(st.characters(blacklist_characters='"\r\n', blacklist_categories=("Cs",)), max_size=20)


@given(engine=st.text("abc-_.0123456789", min_size=1, max_size=10), cause=_VALUE, queue=_VALUE,
       answer=st.integers(0, 2**52), billsec=st.integers(0, 10**6))
def test_what_the_simulator_renders_reads_back(engine, cause, queue, answer, billsec):
    u = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"
    values = {"uuid": u, "origination_uuid": u, "eslbridge_engine": engine, "hangup_cause": cause,
              "cc_queue": queue, "answer_uepoch": str(answer), "billsec": str(billsec)}
    row = parse(render(values), "n")
    assert row is not None and set(values) <= set(FIELDS)
    assert (row.engine, row.hangup_cause, row.cc_queue, row.billsec) == (engine, cause or None, queue or None, billsec)
    assert row.answered_at == (us(answer) if answer else None)
