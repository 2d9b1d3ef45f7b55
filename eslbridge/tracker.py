"""Pure call tracking: events → attempt state → final status and retry.

FreeSWITCH delivers a call's events in no guaranteed order (ESL.md: ANSWER
before CREATE, the job's ``-ERR`` after HANGUP_COMPLETE, ``-ERR
NORMAL_CLEARING`` for calls that were answered). So the state is a merge of
*facts*, not a sequence of transitions:

* CHANNEL_ANSWER says "answered at T";
* CHANNEL_HANGUP_COMPLETE says everything: cause, answered or not, billsec,
  SIP status. It is the truth and makes the attempt final;
* BACKGROUND_JOB ``+OK`` says nothing final; ``-ERR CAUSE`` is final only if
  no channel event shows up within a grace period (:func:`settle_job`), and a
  throttle refusal with no channel events is not an attempt at all;
* FreeSWITCH's CDR of the call (:func:`fact_from_cdr`) says what the hangup
  would have said, and is used only for calls gone from the switch whose
  events the engine missed (it was down, or its ESL connection was): such an
  outcome is marked ``recovered``.

A final attempt ignores every later fact, so duplicates are harmless and the
result does not depend on the order in which facts arrive.

What an attempt's new state means for its number (:func:`outcome`) is decided
here too: the number's status and cause, whether and when it is retried (the
task's first number batch's retry switch, else its recycle rule), and whether
the task's webhook hears of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from .callcenter.members import CANCEL, CC_FIELDS, member_fact
from .causes import THROTTLE_CAUSE, Status, status_for
from .esl.protocol import Event
from .frozen import quick_init, replace
from .plan import ABANDON_AFTER_S
from .rows import AttemptRow, CdrRow, NumberUpdate

FactKind = Literal["job", "answer", "hangup", "queued", "bridged", "abandon", "unserved", "cdr", "blocked"]
DNC_CAUSE = "DNC"  # the cause of a claim a do-not-call list refused (status 18, never dialled)
# Why a member leaves a queue unserved while its channel stays up (ESL.md: the
# dialplan goes on to the safe-harbor message): the call is abandoned.
_UNSERVED = frozenset({"NO_AGENT_TIMEOUT", "TIMEOUT"})


@quick_init
@dataclass(frozen=True, slots=True)
class Fact:
    kind: FactKind
    call_uuid: str
    at: datetime
    cause: str | None = None
    answered_at: datetime | None = None
    billsec: int = 0
    duration: int = 0
    sip_status: str | None = None
    job_ok: bool = False
    queue: str | None = None  # queued: the mod_callcenter queue
    agent: str | None = None  # bridged: the agent
    queued_at: datetime | None = None  # cdr: when it joined the queue, was bridged, left unserved
    bridged_at: datetime | None = None
    unserved: bool = False


_fromtimestamp = datetime.fromtimestamp


def _ts(us: str | None) -> datetime | None:
    if not us or us == "0":
        return None
    try:
        return _fromtimestamp(int(us) / 1e6, UTC)  # positional: the keyword form costs a third more
    except (ValueError, OverflowError):
        return None


def _int(v: str | None) -> int:
    try:
        return int(v or 0)
    except ValueError:
        return 0


# The headers fact_from_event reads, per event: JSON events parse these up
# front (any other header still reads correctly, at the cost of a full parse).
_CALL_FIELDS = ("Event-Date-Timestamp", "Unique-ID", "variable_origination_uuid", "Caller-Channel-Answered-Time")
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "BACKGROUND_JOB": ("Event-Date-Timestamp", "Job-UUID", "_body"),
    "CHANNEL_ANSWER": _CALL_FIELDS,
    "CHANNEL_HANGUP_COMPLETE": (*_CALL_FIELDS, "variable_hangup_cause", "Hangup-Cause", "variable_billsec",
                                "variable_duration", "variable_sip_term_status"),
    "CUSTOM": ("Event-Date-Timestamp", "Event-Subclass", *CC_FIELDS),
}
_CC = "callcenter::info"


def fact_from_event(event: Event) -> Fact | None:
    """The fact an event states about one of our calls, or None.

    Only the originated leg counts: its Unique-ID is our origination_uuid
    (a loopback B leg carries the same variable but another Unique-ID).
    """
    headers = event.headers
    at = _ts(headers.get("Event-Date-Timestamp")) or datetime.now(UTC)
    name = event.name
    if name == "BACKGROUND_JOB":
        job = event.job_uuid
        body = (event.body or "").strip()
        if not job:
            return None
        if body.startswith("+OK"):
            return Fact("job", job, at, job_ok=True)
        cause = body[5:].strip().split()[0] if body.startswith("-ERR ") and len(body) > 5 else "FAILED"
        if body.startswith("-USAGE"):
            cause = "INVALID_COMMAND"
        return Fact("job", job, at, cause=cause)
    if name == "CUSTOM":
        return _member(event, at) if event.headers.get("Event-Subclass") == _CC else None
    uid = headers.get("Unique-ID")
    if not uid or uid != headers.get("variable_origination_uuid"):
        return None
    if name == "CHANNEL_ANSWER":
        return Fact("answer", uid, at, answered_at=_ts(headers.get("Caller-Channel-Answered-Time")) or at)
    if name == "CHANNEL_HANGUP_COMPLETE":
        return Fact(
            "hangup",
            uid,
            at,
            cause=headers.get("variable_hangup_cause") or headers.get("Hangup-Cause"),
            answered_at=_ts(headers.get("Caller-Channel-Answered-Time")),
            billsec=_int(headers.get("variable_billsec")),
            duration=_int(headers.get("variable_duration")),
            sip_status=headers.get("variable_sip_term_status"),
        )
    return None


def fact_from_cdr(cdr: CdrRow) -> Fact:
    """What FreeSWITCH's CDR of one of our calls says: its hangup, and what the queue did with it."""
    unserved = (cdr.cc_cause or "").lower() == CANCEL.lower() and cdr.cc_cancel_reason in _UNSERVED
    return Fact(
        "cdr",
        cdr.call_uuid,
        cdr.ended_at or cdr.started_at or datetime.now(UTC),
        cause=cdr.hangup_cause,
        answered_at=cdr.answered_at,
        billsec=cdr.billsec,
        duration=cdr.duration,
        sip_status=cdr.sip_status,
        queue=cdr.cc_queue,
        agent=cdr.cc_agent if cdr.bridged_at is not None else None,
        queued_at=cdr.cc_joined_at,
        bridged_at=cdr.bridged_at,
        unserved=unserved,
    )


def _member(event: Event, at: datetime) -> Fact | None:
    """What mod_callcenter says of one of our calls (CC-Member-Session-UUID is our origination uuid)."""
    fact = member_fact(event.headers)
    if fact is None:
        return None
    if fact.kind == "queued":
        return Fact("queued", fact.call_uuid, at, queue=fact.queue)
    if fact.kind == "bridged":
        return Fact("bridged", fact.call_uuid, at, agent=fact.agent)
    if fact.kind == "left" and fact.cause == CANCEL and fact.reason in _UNSERVED:
        return Fact("unserved", fact.call_uuid, at, cause=fact.reason)
    return None  # offers, and leaving after a bridge or a hangup, change nothing of the attempt


@quick_init
@dataclass(frozen=True, slots=True)
class Attempt:
    """What we know of one originate. ``status`` is DIALING, TALKING or final."""

    id: int
    call_uuid: str
    status: Status = Status.DIALING
    answered_at: datetime | None = None
    hangup_at: datetime | None = None
    cause: str | None = None
    sip_status: str | None = None
    billsec: int = 0
    duration: int = 0
    job_cause: str | None = None  # -ERR cause, pending confirmation
    job_at: datetime | None = None
    saw_channel: bool = False
    queue: str | None = None  # agent tasks: the queue the answered call joined
    queued_at: datetime | None = None
    agent: str | None = None
    bridged_at: datetime | None = None
    abandoned: bool = False  # answered, and no agent within the limit
    recovered: bool = False  # the outcome came from the CDR: the engine missed the call's events
    dnc_list: int | None = None  # the do-not-call list that refused the claim: never dialled

    @property
    def final(self) -> bool:
        return self.status.is_final


_STATUSES = {int(s): s for s in Status}


def attempt_of(row: AttemptRow) -> Attempt:
    """The tracker's view of a stored attempt. Raises ValueError for an unknown status code."""
    return Attempt(
        id=row.id,
        call_uuid=row.call_uuid,
        # A table, not the enum's call; a code it lacks (or PENDING, which is falsy and never an
        # attempt's) goes to the enum, which raises ValueError for an unknown one.
        status=_STATUSES.get(row.status) or Status(row.status),
        answered_at=row.answered_at,
        hangup_at=row.hangup_at,
        cause=row.hangup_cause,
        sip_status=row.sip_status,
        billsec=row.billsec,
        duration=row.duration,
        job_cause=row.job_cause,
        job_at=row.job_at,
        saw_channel=row.saw_channel,
        queue=row.queue,
        queued_at=row.queued_at,
        agent=row.agent,
        bridged_at=row.bridged_at,
        abandoned=row.abandoned,
        recovered=row.recovered,
        dnc_list=row.dnc_list_id,
    )


def apply(a: Attempt, f: Fact) -> Attempt:
    """Merge one fact; final attempts are never changed."""
    if a.final:
        return a
    if a.dnc_list is not None or f.kind == "blocked":  # never dialled: nothing else can be true of it
        return _blocked(a, f.at)
    if f.kind == "answer":
        return replace(a, status=Status.TALKING, answered_at=a.answered_at or f.answered_at, saw_channel=True)
    if f.kind == "hangup":
        answered = a.answered_at or f.answered_at
        status = status_for(f.cause, answered is not None)
        if answered is not None and a.bridged_at is None and (
                a.abandoned or (a.queued_at is not None and (f.at - answered).total_seconds() > ABANDON_AFTER_S)):
            # No agent took the answered call in time (or the callee gave up waiting past the limit).
            status = Status.ABANDONED
        return replace(
            a,
            status=status,
            answered_at=answered,
            hangup_at=f.at,
            cause=f.cause,
            sip_status=f.sip_status,
            billsec=f.billsec,
            duration=f.duration,
            saw_channel=True,
        )
    if f.kind == "queued":
        return replace(a, queue=a.queue or f.queue, queued_at=a.queued_at or f.at)
    if f.kind == "bridged":
        return a if a.abandoned else replace(a, agent=f.agent, bridged_at=a.bridged_at or f.at)
    if f.kind in ("abandon", "unserved"):
        return a if a.bridged_at is not None else replace(a, abandoned=True)
    if f.kind == "cdr":
        # What the queue did first (the abandonment rule reads it), then the hangup the CDR records.
        bridged = a.bridged_at or f.bridged_at
        a = replace(a, queue=a.queue or f.queue, queued_at=a.queued_at or f.queued_at, agent=a.agent or f.agent,
                    bridged_at=bridged, abandoned=a.abandoned or (f.unserved and bridged is None))
        return replace(apply(a, replace(f, kind="hangup")), recovered=True)
    if f.job_ok:
        return a
    return replace(a, job_cause=f.cause, job_at=f.at)


Settle = Literal["final", "requeue", "wait"]


def settle_job(a: Attempt, now: datetime, grace: timedelta) -> tuple[Settle, Attempt]:
    """Decide a ``-ERR`` job that no hangup has confirmed yet.

    Returns ("wait", a) inside the grace period or while the call is up;
    ("requeue", a) for a throttle refusal with no channel (not an attempt);
    ("final", a') otherwise, the cause taken from the job.
    """
    if a.final or a.job_cause is None or a.job_at is None or a.saw_channel:
        return "wait", a
    if now - a.job_at < grace:
        return "wait", a
    if a.job_cause == THROTTLE_CAUSE:
        return "requeue", a
    return "final", replace(a, status=status_for(a.job_cause, False), cause=a.job_cause, hangup_at=a.job_at)


def lost(a: Attempt, now: datetime) -> Attempt:
    """The call is gone from FreeSWITCH with no hangup recorded (a claim refused by a do-not-call
    list never was there: it ends blocked)."""
    if a.final:
        return a
    if a.dnc_list is not None:
        return _blocked(a, now)
    return replace(a, status=Status.FAILED, cause="LOST", hangup_at=now)


def _blocked(a: Attempt, at: datetime) -> Attempt:
    return replace(a, status=Status.BLOCKED, cause=DNC_CAUSE, hangup_at=at)


def settle_gone(gone: Iterable[str], found: Mapping[str, CdrRow], caught_up: bool, missing_since: dict[str, float],
                now: float, grace_s: float) -> tuple[list[Fact], list[str]]:
    """For calls gone from the switch: the facts of their CDRs, and those to end as LOST.

    A call without a CDR is LOST when every CDR written so far is known to be
    stored (``caught_up``), else once it has been missing for ``grace_s``
    (``missing_since``, updated here: first time each was found missing).
    """
    facts: list[Fact] = []
    lost: list[str] = []
    for u in gone:
        cdr = found.get(u)
        if cdr is not None:
            facts.append(fact_from_cdr(cdr))
            missing_since.pop(u, None)
        elif caught_up or now - missing_since.setdefault(u, now) >= grace_s:
            lost.append(u)
            missing_since.pop(u, None)
    return facts, lost


@dataclass(frozen=True)
class RetryRule:
    """Per final status: (retry after minutes, at most times); ``max_attempts`` caps the number."""

    entries: dict[int, tuple[float, int]] = field(default_factory=dict)
    max_attempts: int = 1

    def next_attempt(self, status: Status, attempts: int, retries_done: int, now: datetime) -> datetime | None:
        entry = self.entries.get(int(status))
        if entry is None or status == Status.ANSWERED:
            return None
        minutes, times = entry
        if retries_done >= times or attempts >= self.max_attempts:
            return None
        return now + timedelta(minutes=minutes)


# -- Outcome: what an attempt's new state means for its number ------------------

# A number batch's retry switch retries every unanswered outcome, no answer to failed.
BATCH_RETRY_STATUSES = range(Status.NO_ANSWER, Status.FAILED + 1)
BATCH_INTERVAL_MIN = 5.0  # minutes, when a batch switches retries on without an interval
BATCH_TIMES = 1  # retries, when a batch switches retries on without a count


def rule_for(row: AttemptRow, rules: Mapping[str, RetryRule]) -> RetryRule | None:
    """The task's number batches (seed 001: they are its retry rule, switched on or off), else
    its recycle rule (the store gives the tenant's default rule to a task that names none),
    else None.

    A recycle rule id missing from ``rules`` (not loaded yet, or deleted) means no retry.
    """
    groups = row.phone_groups or []
    if groups:
        if groups[0].get("autoOutboundSwitch") != 1:
            return None
        minutes = float(groups[0].get("autoOutboundInterval") or BATCH_INTERVAL_MIN)
        times = int(groups[0].get("autoOutboundTimes") or BATCH_TIMES)
        entries = {s: (minutes, times) for s in BATCH_RETRY_STATUSES}
        return RetryRule(entries, max_attempts=times + 1)
    if row.auto_recycle_rule_id:
        return rules.get(str(row.auto_recycle_rule_id))
    return None


def notifies(notify_type: int, url: str, status: Status) -> bool:
    """``call_notify_type`` 0: none; 1: calls not answered; 2: every call. Never without a URL."""
    return bool(url) and (notify_type == 2 or (notify_type == 1 and status != Status.ANSWERED))


@quick_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """The number's update; whether to notify; when the number is retried (None: it is not)."""

    number: NumberUpdate
    notify: bool
    retry_at: datetime | None


def outcome(row: AttemptRow, a: Attempt, rules: Mapping[str, RetryRule], now: datetime) -> Outcome:
    """What attempt ``a`` (the new state of ``row``) means for its number.

    A call still in progress only moves the number's status. A final one sets
    the cause, schedules a retry if the rule allows one (counted in
    ``retries`` per status) and is notified per the task's filter.
    """
    if not a.final:
        moved = NumberUpdate(row.number_id, a.status, None, None, row.retries)
        return Outcome(moved, notify=False, retry_at=None)
    # A number on a do-not-call list is never retried (a retry would only be refused again).
    rule = rule_for(row, rules) if a.dnc_list is None else None
    retries = row.retries
    key = str(int(a.status))
    done = int(retries.get(key, 0))
    retry_at = rule.next_attempt(a.status, row.attempts, done, now) if rule else None
    if retry_at is not None:
        retries = {**retries, key: done + 1}
    number = NumberUpdate(row.number_id, a.status, a.cause, retry_at, retries)
    return Outcome(number, notifies(row.call_notify_type, row.call_notify_url, a.status), retry_at)
