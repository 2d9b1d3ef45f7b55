"""Compatibility facade: the engine's statements moved to one module per consumer.

Import from ``claims``, ``recording``, ``outbox``, ``tasks`` or ``imports``
instead; this module goes once the last importer has moved.
"""

from __future__ import annotations

from .claims import (
    ENGINE_LIVE_S,
    RANDOM_SLICE,
    block,
    claim_numbers,
    heartbeat,
    insert_attempts,
    live_engines,
    lock_line_and_count,
    retire_engine,
    running_tasks,
    unsend,
)
from .imports import (
    ANALYZE_AFTER,
    add_new_numbers,
    analyze_numbers,
    copy_numbers,
    import_numbers,
    insert_numbers,
    prepare_number_import,
    reserve_number_ids,
)
from .outbox import (
    add_secret,
    claim_notifications,
    finish_deliveries,
    list_notifications,
    replay_notifications,
    signing_secrets,
)
from .recording import (
    add_notifications,
    in_flight,
    lock_attempts,
    recycle_rules,
    save_attempts,
    save_numbers,
    unconfirmed_job_failures,
)
from .rows import Row, columns
from .tasks import delete_task, list_numbers, progress, reset_numbers, set_task_start, status_counts

__all__ = [
    "ANALYZE_AFTER",
    "ENGINE_LIVE_S",
    "RANDOM_SLICE",
    "Row",
    "add_new_numbers",
    "add_notifications",
    "add_secret",
    "analyze_numbers",
    "block",
    "claim_notifications",
    "claim_numbers",
    "columns",
    "copy_numbers",
    "delete_task",
    "finish_deliveries",
    "heartbeat",
    "import_numbers",
    "in_flight",
    "insert_attempts",
    "insert_numbers",
    "list_notifications",
    "list_numbers",
    "live_engines",
    "lock_attempts",
    "lock_line_and_count",
    "prepare_number_import",
    "progress",
    "recycle_rules",
    "replay_notifications",
    "reserve_number_ids",
    "reset_numbers",
    "retire_engine",
    "running_tasks",
    "save_attempts",
    "save_numbers",
    "set_task_start",
    "signing_secrets",
    "status_counts",
    "unconfirmed_job_failures",
    "unsend",
]
