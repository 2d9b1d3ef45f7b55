"""The hangup webhook document: the documented example, the JSON schema, every field."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eslbridge.causes import Status
from eslbridge.notify.payload import hangup_payload, notification
from eslbridge.rows import AttemptRow, OutboxRow
from eslbridge.tracker import Attempt

DOCS = Path(__file__).parents[2] / "docs"
SCHEMA = json.loads((DOCS / "notification.schema.json").read_text())
# The example document in docs/notifications.md, its first ```json block.
_EXAMPLE_BLOCK = re.search(r"```json\n(.*?)```", (DOCS / "notifications.md").read_text(), re.DOTALL)
EXAMPLE = json.loads(_EXAMPLE_BLOCK.group(1))

EVENT_ID = "0b0c3f5e-7a51-4a4f-9d59-0e2f9a1b6c11"
CALL = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"
TASK = uuid.UUID("0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01")
ORIGINATED = datetime(2026, 11, 22, 9, 0, 3, 900000, tzinfo=UTC)
HANGUP = datetime(2026, 11, 22, 9, 0, 4, 120000, tzinfo=UTC)
RETRY = datetime(2026, 11, 22, 9, 30, 4, 120000, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 9, 0, 5, tzinfo=UTC)

# The documented example's call: busy, retried in 30 minutes.
ROW = AttemptRow(
    id=7, call_uuid=CALL, status=int(Status.DIALING), answered_at=None, hangup_at=None, hangup_cause=None,
    sip_status=None, billsec=0, duration=0, job_cause=None, job_at=None, saw_channel=False, queue=None, queued_at=None, agent=None,
    bridged_at=None, abandoned=False, recovered=False, dnc_list_id=None, attempt_no=1,
    node="fs1", originated_at=ORIGINATED, caller_id_shown="01012345678", number_id=42, task_id=TASK, phone="13800000001", attempts=1,
    retries={}, variables={}, task_name="spring campaign", user_id="t1", auto_recycle_rule_id=3,
    call_notify_type=2, call_notify_url="https://hooks.example/call", phone_groups=[],
)
BUSY = Attempt(7, CALL, Status.BUSY, hangup_at=HANGUP, cause="USER_BUSY", sip_status="486", saw_channel=True)
ANSWERED = Attempt(7, CALL, Status.ANSWERED, answered_at=HANGUP - timedelta(seconds=20), hangup_at=HANGUP,
                   cause="NORMAL_CLEARING", sip_status="200", billsec=20, duration=21, saw_channel=True)


def stored(payload: dict) -> dict:
    """The payload as the outbox stores and sends it (orjson, as the store writes it)."""
    return json.loads(orjson.dumps(payload, default=str))


def test_the_documented_example_is_what_a_busy_call_with_a_retry_sends():
    assert stored(hangup_payload(EVENT_ID, ROW, BUSY, RETRY, NOW)) == EXAMPLE


CASES = {
    "busy-retried": (ROW, BUSY, RETRY),
    "answered": (replace(ROW, variables={"name": "Ann", "n": 3}), ANSWERED, None),
    "job-failed-no-channel": (ROW, Attempt(7, CALL, Status.INVALID, hangup_at=HANGUP, cause="NO_ROUTE_DESTINATION",
                                           job_cause="NO_ROUTE_DESTINATION", job_at=HANGUP), None),
    "lost": (ROW, Attempt(7, CALL, Status.FAILED, answered_at=HANGUP, hangup_at=NOW, cause="LOST"), None),
    "unknown-cause": (ROW, Attempt(7, CALL, Status.FAILED, hangup_at=HANGUP, cause="SOMETHING_NEW"), None),
    "no-hangup-time": (replace(ROW, originated_at=None), Attempt(7, CALL, Status.FAILED, cause=None), None),
    "do-not-call": (replace(ROW, dnc_list_id=4), Attempt(7, CALL, Status.BLOCKED, hangup_at=HANGUP, cause="DNC",
                                                       dnc_list=4), None),
}


def test_a_claim_a_do_not_call_list_refused_says_blocked_and_never_originated():
    data = hangup_payload(EVENT_ID, replace(ROW, dnc_list_id=4), CASES["do-not-call"][1], None, NOW)["data"]
    assert (data["status"], data["status_name"], data["hangup_cause"], data["q850"], data["originated_at"]) == (
        18, "blocked", "DNC", None, None)


@pytest.mark.parametrize(("row", "attempt", "retry_at"), CASES.values(), ids=CASES.keys())
def test_payload_matches_the_published_schema(row, attempt, retry_at):
    payload = stored(hangup_payload(EVENT_ID, row, attempt, retry_at, NOW))
    jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.FormatChecker())
    # jsonschema checks "date-time" only with an optional package: check the times here.
    times = [payload["occurred_at"], *(payload["data"][k] for k in ("originated_at", "answered_at", "hangup_at",
                                                                     "retry_at"))]
    assert all(datetime.fromisoformat(t).tzinfo is not None for t in times if t is not None)


@pytest.mark.parametrize("status", [s for s in Status if s.is_final], ids=lambda s: s.name.lower())
def test_every_final_status_has_a_documented_name(status):
    payload = hangup_payload(EVENT_ID, ROW, Attempt(7, CALL, status, hangup_at=HANGUP), None, NOW)
    jsonschema.validate(payload, SCHEMA)
    assert (payload["data"]["status"], payload["data"]["status_name"]) == (int(status), status.name.lower())


def test_each_field_comes_from_its_own_source():
    # Every value distinct, so a field read from the wrong column shows.
    row = replace(ROW, id=70, attempt_no=2, attempts=3, number_id=44, task_name="autumn", phone="13900000002",
                  node="fs2", variables={"k": "v"}, caller_id_shown="075588888888")
    a = Attempt(70, CALL, Status.ANSWERED, answered_at=HANGUP - timedelta(seconds=9), hangup_at=HANGUP,
                cause="NORMAL_CLEARING", sip_status="200", billsec=5, duration=6, job_cause="X", job_at=ORIGINATED)
    assert hangup_payload(EVENT_ID, row, a, RETRY, NOW)["data"] == {
        "task_uuid": "0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01",
        "task_name": "autumn",
        "number_id": 44,
        "phone": "13900000002",
        "attempt": 2,
        "call_uuid": CALL,
        "node": "fs2",
        "caller_id_shown": "075588888888",
        "status": 10,
        "status_name": "answered",
        "hangup_cause": "NORMAL_CLEARING",
        "q850": 16,
        "sip_status": "200",
        "originated_at": "2026-11-22T09:00:03.900000+00:00",
        "answered_at": "2026-11-22T08:59:55.120000+00:00",
        "hangup_at": "2026-11-22T09:00:04.120000+00:00",
        "billsec": 5,
        "duration": 6,
        "recovered": False,
        "retry": True,
        "retry_at": "2026-11-22T09:30:04.120000+00:00",
        "variables": {"k": "v"},
        "call_centre": None,  # a robot task's call
    }


def test_an_agent_tasks_call_says_its_queue_agent_wait_and_abandonment() -> None:
    bridged = replace(ANSWERED, queue="sales@default", queued_at=ANSWERED.answered_at, agent="agent1@default",
                      bridged_at=ANSWERED.answered_at + timedelta(seconds=0.62))
    doc = hangup_payload("e", ROW, bridged, None, NOW)
    jsonschema.validate(orjson.loads(orjson.dumps(doc)), SCHEMA)
    assert doc["data"]["call_centre"] == {
        "queue": "sales@default", "queued_at": ANSWERED.answered_at.isoformat(), "agent": "agent1@default",
        "bridged_at": (ANSWERED.answered_at + timedelta(seconds=0.62)).isoformat(), "queue_wait_s": 0.62,
        "abandoned": False,
    }
    dropped = replace(ANSWERED, status=Status.ABANDONED, queue="sales@default", queued_at=ANSWERED.answered_at,
                      abandoned=True)
    cc = hangup_payload("e", ROW, dropped, None, NOW)["data"]
    assert cc["status_name"] == "abandoned" and cc["call_centre"]["abandoned"] is True
    assert cc["call_centre"]["agent"] is None and cc["call_centre"]["queue_wait_s"] > 0


def test_an_answered_call_reports_its_times_lengths_and_no_retry():
    data = hangup_payload(EVENT_ID, ROW, ANSWERED, None, NOW)["data"]
    assert (data["status"], data["status_name"], data["hangup_cause"], data["q850"], data["sip_status"]) == (
        10, "answered", "NORMAL_CLEARING", 16, "200")
    assert (data["answered_at"], data["hangup_at"]) == ("2026-11-22T08:59:44.120000+00:00",
                                                        "2026-11-22T09:00:04.120000+00:00")
    assert (data["billsec"], data["duration"], data["retry"], data["retry_at"]) == (20, 21, False, None)


def test_a_cause_without_a_q850_code_reports_null():
    data = hangup_payload(EVENT_ID, ROW, replace(BUSY, cause="SOMETHING_NEW"), None, NOW)["data"]
    assert data["hangup_cause"] == "SOMETHING_NEW" and data["q850"] is None


def test_occurred_at_is_the_hangup_else_now():
    assert hangup_payload(EVENT_ID, ROW, BUSY, None, NOW)["occurred_at"] == "2026-11-22T09:00:04.120000+00:00"
    no_hangup = replace(BUSY, hangup_at=None)
    payload = hangup_payload(EVENT_ID, ROW, no_hangup, None, NOW)
    assert payload["occurred_at"] == "2026-11-22T09:00:05+00:00" and payload["data"]["hangup_at"] is None


def test_the_numbers_custom_variables_are_passed_on():
    row = replace(ROW, variables={"name": "Ann", "order": {"id": 9}})
    assert hangup_payload(EVENT_ID, row, BUSY, None, NOW)["data"]["variables"] == {"name": "Ann", "order": {"id": 9}}


def test_the_payload_needs_no_fallback_serialisation():
    # The store serialises with default=str; a value only it could write would be a contract drift.
    payload = hangup_payload(EVENT_ID, ROW, ANSWERED, RETRY, NOW)
    assert json.loads(json.dumps(payload)) == stored(payload)


def test_the_outbox_row_addresses_the_tasks_url_under_the_payloads_id():
    row = notification(EVENT_ID, ROW, BUSY, RETRY, NOW)
    assert row == OutboxRow(EVENT_ID, "t1", TASK, 7, "https://hooks.example/call",
                            hangup_payload(EVENT_ID, ROW, BUSY, RETRY, NOW))
    assert row.payload["id"] == row.event_id


def test_an_outcome_read_from_the_cdr_says_so() -> None:
    recovered = replace(ANSWERED, recovered=True)
    doc = hangup_payload("e", ROW, recovered, None, NOW)
    jsonschema.validate(orjson.loads(orjson.dumps(doc)), SCHEMA)
    assert doc["data"]["recovered"] is True
    assert hangup_payload("e", ROW, ANSWERED, None, NOW)["data"]["recovered"] is False


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/St_Johns"),
                                              timezone(timedelta(hours=-3, minutes=-30))]),
                    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
       st.uuids())
def test_payload_times_and_uuids_are_written_as_isoformat_and_str_write_them(when, uid):
    """The payload writes its times and its task uuid through orjson; the text is what
    ``isoformat()`` and ``str()`` give (microseconds left out when zero, the offset kept)."""
    from eslbridge.notify.payload import _text

    assert _text(when) == when.isoformat()
    assert _text(when.replace(microsecond=0)) == when.replace(microsecond=0).isoformat()
    assert _text(uid) == str(uid)
