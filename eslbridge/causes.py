"""Hangup cause → number status (SPEC §3). Pure; the table is documented in docs/schema.md."""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class Status(IntEnum):
    PENDING = 0
    DIALING = 1
    TALKING = 2
    ANSWERED = 10
    NO_ANSWER = 11
    BUSY = 12
    REJECTED = 13
    INVALID = 14
    UNREACHABLE = 15
    FAILED = 16
    ABANDONED = 17
    BLOCKED = 18

    @property
    def is_final(self) -> bool:
        return self >= 10


CAUSE_STATUS: Final[dict[str, Status]] = {
    "NO_ANSWER": Status.NO_ANSWER,
    "NO_USER_RESPONSE": Status.NO_ANSWER,
    "ALLOTTED_TIMEOUT": Status.NO_ANSWER,
    "PROGRESS_TIMEOUT": Status.NO_ANSWER,
    "ORIGINATOR_CANCEL": Status.NO_ANSWER,
    "USER_BUSY": Status.BUSY,
    "NORMAL_CIRCUIT_CONGESTION": Status.BUSY,
    "CALL_REJECTED": Status.REJECTED,
    "FACILITY_REJECTED": Status.REJECTED,
    "OUTGOING_CALL_BARRED": Status.REJECTED,
    "UNALLOCATED_NUMBER": Status.INVALID,
    "INVALID_NUMBER_FORMAT": Status.INVALID,
    "NO_ROUTE_DESTINATION": Status.INVALID,
    "NO_ROUTE_TRANSIT_NET": Status.INVALID,
    "NUMBER_CHANGED": Status.INVALID,
    "SUBSCRIBER_ABSENT": Status.UNREACHABLE,
    "DESTINATION_OUT_OF_ORDER": Status.UNREACHABLE,
    "NETWORK_OUT_OF_ORDER": Status.UNREACHABLE,
    "USER_NOT_REGISTERED": Status.UNREACHABLE,
    "NORMAL_TEMPORARY_FAILURE": Status.FAILED,
    "RECOVERY_ON_TIMER_EXPIRE": Status.FAILED,
    "SWITCH_CONGESTION": Status.FAILED,
    "REQUESTED_CHAN_UNAVAIL": Status.FAILED,
    "SERVICE_UNAVAILABLE": Status.FAILED,
    "INTERWORKING": Status.FAILED,
    "GATEWAY_DOWN": Status.FAILED,
    "INVALID_GATEWAY": Status.FAILED,
    "MEDIA_TIMEOUT": Status.FAILED,
    "CHAN_NOT_IMPLEMENTED": Status.FAILED,
    "INVALID_PROFILE": Status.FAILED,
    "SYSTEM_SHUTDOWN": Status.FAILED,
    "MANAGER_REQUEST": Status.FAILED,
    "LOSE_RACE": Status.FAILED,
    "LOST": Status.FAILED,
}
# Hung up before answer with a "normal" cause: nobody picked up.
_UNANSWERED_NORMAL: Final = frozenset({"NORMAL_CLEARING", "NORMAL_UNSPECIFIED", "SUCCESS"})


def status_for(cause: str | None, answered: bool) -> Status:
    """Final status of an attempt. An answered call is ANSWERED whatever ended it."""
    if answered:
        return Status.ANSWERED
    cause = (cause or "").upper()
    if cause in _UNANSWERED_NORMAL:
        return Status.NO_ANSWER
    return CAUSE_STATUS.get(cause, Status.FAILED)


Q850: Final[dict[str, int]] = {
    "UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16,
    "USER_BUSY": 17, "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22, "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
    "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42, "REQUESTED_CHAN_UNAVAIL": 44,
    "OUTGOING_CALL_BARRED": 52, "SERVICE_UNAVAILABLE": 63, "RECOVERY_ON_TIMER_EXPIRE": 102, "INTERWORKING": 127,
}
THROTTLE_CAUSE: Final = "DESTINATION_OUT_OF_ORDER"  # FreeSWITCH's answer over sps / max-sessions
