"""Typed rows: what the engine's hot paths read from and write to the store.

Plain frozen dataclasses with slots and no logic, so any module (pure cores
included) can import them. Field names are the column names of the query
that fills them; ``from_row`` takes a row as psycopg's ``dict_row`` gives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .causes import Status
from .frozen import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One call attempt, locked for update, with its number and task (``ATTEMPT_COLUMNS``)."""

    # call_attempt
    id: int
    call_uuid: str
    status: int
    answered_at: datetime | None
    hangup_at: datetime | None
    hangup_cause: str | None
    sip_status: str | None
    billsec: int
    duration: int
    job_cause: str | None
    job_at: datetime | None
    saw_channel: bool
    queue: str | None  # agent tasks: the mod_callcenter queue, who took the call and when
    queued_at: datetime | None
    agent: str | None
    bridged_at: datetime | None
    abandoned: bool
    recovered: bool  # the outcome came from FreeSWITCH's CDR
    dnc_list_id: int | None  # the do-not-call list that refused the claim (never dialled); None: clear
    attempt_no: int
    node: str
    originated_at: datetime | None
    caller_id_shown: str | None  # what the originate carried (a number group's pick, the task's, the line's)
    number_id: int
    task_id: UUID
    # task_number
    phone: str
    attempts: int
    retries: Mapping[str, int]  # retries done per final status, {"12": 1}
    variables: Mapping[str, Any]
    # task
    task_name: str
    user_id: str
    auto_recycle_rule_id: int | None
    call_notify_type: int  # 0 none, 1 calls not answered, 2 every call
    call_notify_url: str
    phone_groups: Sequence[Mapping[str, Any]]  # seed 001 number batches

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AttemptRow:
        """Raises TypeError if the row's columns are not exactly these fields (the query changed)."""
        return cls(**row)


@quick_init
@dataclass(frozen=True, slots=True)
class NumberUpdate:
    """A number's new status; ``next_attempt_at`` set means a retry is due then."""

    id: int
    status: Status
    cause: str | None
    next_attempt_at: datetime | None
    retries: Mapping[str, int]


@quick_init
@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One webhook to deliver (``notification_outbox``); ``payload`` is the JSON document sent."""

    event_id: str
    user_id: str
    task_id: UUID
    attempt_id: int
    url: str
    payload: dict[str, Any]


@quick_init
@dataclass(frozen=True, slots=True)
class CdrRow:
    """FreeSWITCH's CDR of one call we originated (``call_cdr``): what the switch wrote at its end."""

    call_uuid: str  # the originated channel's uuid (our origination_uuid)
    node: str
    engine: str | None  # our ids, as channel variables
    task_id: str | None
    number_id: str | None
    started_at: datetime | None
    answered_at: datetime | None  # None: never answered
    bridged_at: datetime | None  # agent tasks: when mod_callcenter bridged it to an agent
    ended_at: datetime | None
    billsec: int
    duration: int
    hangup_cause: str | None
    sip_status: str | None
    sip_disposition: str | None
    cc_queue: str | None  # agent tasks: mod_callcenter's variables
    cc_agent: str | None
    cc_cause: str | None
    cc_cancel_reason: str | None
    cc_joined_at: datetime | None
    cc_answered_at: datetime | None


ABANDONED_REST_H = 72  # hours an abandoned call's number rests when its tenant sets nothing (Ofcom's rule)


@dataclass(frozen=True, slots=True)
class ContactCaps:
    """A tenant's caps on calls to one number over all its tasks (``tenant_policy``); None: no cap."""

    per_day: int | None = None  # attempts in any 24 hours
    per_week: int | None = None  # attempts in any 7 days
    rest_h: int | None = ABANDONED_REST_H  # hours after an abandoned call (None: the task may call again)
