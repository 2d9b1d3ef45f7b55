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
        order += [r.phone for r in rows]


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
        sink.add_all([str(13_000_000_000 + i)])
    sink.close()
    with db.connection() as conn:
        row = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'task_number'").fetchone()
        assert row["reltuples"] >= 30_000
        # The statement the dialer runs (EXPLAIN without ANALYZE claims nothing).
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + SQL["pick_pending_in_zone"],
                            {"task": task, "zone": "Asia/Shanghai", "from": 0, "n": 200}).fetchone()
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


def test_a_claim_of_open_zones_never_reads_the_numbers_of_closed_ones(db):
    """Pending numbers are grouped by zone: 3,000 numbers of a closed zone ahead of an open
    zone's 5 cost its claim nothing (the plan of the statement the dialer runs)."""
    closed = [f"+4477009{i:05d}" for i in range(3000)]
    task = f.task(db, f.line(db), closed + [f"1380000000{i}" for i in range(5)], start=0)
    with db.connection() as conn:
        conn.execute("ANALYZE task_number")
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + SQL["pick_pending_in_zones"],
                            {"task": task, "zones": ["Asia/Shanghai"], "from": 0, "n": 200}).fetchone()
        conn.rollback()
    scans = [n for n in plan_nodes(plan["QUERY PLAN"][0]["Plan"]) if n.get("Index Name") == "task_number_pending"]
    assert [n["Actual Rows"] for n in scans] == [5]
    with db.transaction() as conn:
        got = claims.claim_numbers(conn, task, 200, False, "t1", zones=["Asia/Shanghai"])
        assert sorted(r.phone for r in got) == [f"1380000000{i}" for i in range(5)]
        assert claims.claim_numbers(conn, task, 200, False, "t1", zones=[]) == []


def test_random_order_in_zones_takes_only_those_zones(db):
    phones = [f"1390000{i:04d}" for i in range(200)] + [f"+1212555{i:04d}" for i in range(200)]
    task = f.task(db, f.line(db), phones, start=0)
    order = []
    while True:
        with db.transaction() as conn:
            rows = claims.claim_numbers(conn, task, 7, True, "t1", zones=["America/New_York"])
        if not rows:
            break
        order += [r.phone for r in rows]
    assert sorted(order) == sorted(phones[200:]) and order != phones[200:]
    with db.connection() as conn:
        assert claims.task_zones(conn, [task]) == {task: ["Asia/Shanghai"]}  # what is left to call


def test_claimed_rows_are_built_from_the_statements_columns_in_order(db, monkeypatch):
    """take_numbers' rows become Claimed positionally: a statement whose columns come in
    another order is refused, not read into the wrong fields."""
    import pytest

    task = f.task(db, f.line(db), ["13900000001", "13900000002"], start=0)
    with db.transaction() as conn:
        got = claims.claim_numbers(conn, task, 1, False)
    assert [(r.phone, r.attempts, r.waits) for r in got] == [("13900000001", 1, False)]
    swapped = SQL["take_numbers"].replace("RETURNING t.id, t.phone,", "RETURNING t.phone, t.id,")
    assert swapped != SQL["take_numbers"]
    monkeypatch.setattr(claims, "SQL", {**SQL, "take_numbers": swapped})
    with db.transaction() as conn, pytest.raises(TypeError, match="Claimed"):
        claims.claim_numbers(conn, task, 1, False)


def test_rows_are_read_as_a_dataclass_only_when_the_columns_are_its_fields(db):
    """Rows are built positionally, so a statement whose columns are not the fields in order is refused."""
    import dataclasses

    import pytest

    from eslbridge.store.rows import fetch_as

    @dataclasses.dataclass(frozen=True)
    class Pair:
        a: int
        b: str

    with db.connection() as conn:
        assert fetch_as(conn, Pair, "SELECT 1 AS a, 'x' AS b", ()) == [Pair(1, "x")]
        assert fetch_as(conn, Pair, "SELECT 2 AS a, 'y' AS b", (), binary=True) == [Pair(2, "y")]
        with pytest.raises(TypeError, match=r"\['b', 'a'\] are not Pair's fields"):
            fetch_as(conn, Pair, "SELECT 'x' AS b, 1 AS a", ())
