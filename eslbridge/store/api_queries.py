"""Compatibility facade: the API's statements moved to ``apps``, ``resources`` and ``tasks``.

Import from those instead; this module goes once the last importer has moved.
"""

from __future__ import annotations

from .apps import app, create_app, forget_signatures, record_signatures, set_key
from .resources import (
    ENTRY_COLS,
    RANGE_COLS,
    Table,
    delete_row,
    entries,
    get_row,
    insert_row,
    list_rows,
    owned,
    ranges,
    set_entries,
    set_ranges,
    tag_group,
    tag_groups,
    tag_row,
    tags,
    task_tags,
    update_row,
    upsert,
)
from .rows import Row
from .tasks import (
    creation_options,
    insert_task,
    lines_with_residue,
    live_calls,
    numbers_page,
    task_by_seq,
    task_owned,
    task_rows,
    update_task,
)

__all__ = [
    "ENTRY_COLS",
    "RANGE_COLS",
    "Row",
    "Table",
    "app",
    "create_app",
    "creation_options",
    "delete_row",
    "entries",
    "forget_signatures",
    "get_row",
    "insert_row",
    "insert_task",
    "lines_with_residue",
    "list_rows",
    "live_calls",
    "numbers_page",
    "owned",
    "ranges",
    "record_signatures",
    "set_entries",
    "set_key",
    "set_ranges",
    "tag_group",
    "tag_groups",
    "tag_row",
    "tags",
    "task_by_seq",
    "task_owned",
    "task_rows",
    "task_tags",
    "update_row",
    "update_task",
    "upsert",
]
