"""Claim order: import order walks the pending index; random order takes slices from random points."""

from __future__ import annotations

from eslbridge.importer import BulkImport
from eslbridge.store import claims
from eslbridge.store.statements import SQL
from tests import factories as f


def claim_all(db, task, random_order, per_claim):
    order = []
    while True:
        with db.transaction() as conn:
            rows = claims.claim_numbers(conn, task, per_claim, random_order)
        if not rows:
            return order
        order += [r["phone"] for r in rows]


def test_random_order_claims_every_number_once_not_in_import_order(db):
    phones = [f"1390000{i:04d}" for i in range(300)]
    task = f.task(db, f.line(db), phones, start=0)
    order = claim_all(db, task, True, 5)
    assert sorted(order) == phones and len(set(order)) == 300
    assert order != phones
    # Not merely rotated: the first slice of each claim starts far apart.
    starts = [phones.index(order[i]) for i in range(0, 300, 5)]
    assert len({s // 50 for s in starts[:10]}) > 1


def test_import_order_is_file_order(db):
    phones = [f"1390000{i:04d}" for i in range(300)][::-1]
    task = f.task(db, f.line(db), phones, start=0)
    assert claim_all(db, task, False, 7) == phones


def test_a_big_import_refreshes_the_planner_statistics(db):
    """Without them the planner takes a task that just got a million numbers for a
    dozen and claimed with an on-disk sort of all of them (250 ms instead of 0.2)."""
    task = f.task(db, f.line(db), [], start=0)
    sink = BulkImport(db, task, chunk=10_000)
    for i in range(30_000):
        sink.add(str(13_000_000_000 + i))
    sink.close()
    with db.connection() as conn:
        row = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'task_number'").fetchone()
        assert row["reltuples"] >= 30_000
        # The statement the dialer runs (EXPLAIN without ANALYZE claims nothing).
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + SQL["claim_pending_from"], (task, 0, 200)).fetchone()
    nodes = list(plan_nodes(plan["QUERY PLAN"][0]["Plan"]))
    assert [n["Node Type"] for n in nodes if n["Node Type"] == "Sort"] == []
    # The numbers it locks come straight from an index walk in id order.
    locked = [n["Plans"][0] for n in nodes if n["Node Type"] == "LockRows"]
    assert [n["Node Type"] for n in locked] == ["Index Scan"]


def plan_nodes(node):
    """A JSON plan node and every node under it."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
