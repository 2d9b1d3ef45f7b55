"""Named SQL: the .sql block format, and every statement defined once, used, and kept in store/.

The usage checks read the store modules' source (``SQL["name"]`` and
``template("name")``), so they hold without a database and fail for a
statement nobody runs, a name nobody defines, or a query outside store/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from eslbridge.store import statements
from eslbridge.store.statements import SQL, STATEMENTS, StatementError, collect, parse

PACKAGE = Path(statements.__file__).parents[1]
STORE = PACKAGE / "store"


def names_used(path: Path) -> set[str]:
    """String constants inside ``SQL[...]`` subscripts and ``template(...)`` calls of a module."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "SQL":
            where: ast.AST = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "template":
            where = node.args[0]
        else:
            continue
        used |= {c.value for c in ast.walk(where) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return used


USED = {p.stem: names_used(p) for p in sorted(STORE.glob("*.py"))}


# -- the block format ---------------------------------------------------------------------------
def test_blocks_have_a_name_a_description_and_sql_without_its_semicolon():
    text = """-- header comment of the file

-- first --
-- What it does,
-- on two lines.
SELECT 1
FROM t;

-- second --
-- a comment for the reader of the file (50% of them) is not sent
UPDATE t SET x = %s;
"""
    first, second = parse(text, "x.sql")
    assert (first.name, first.description, first.text, first.line) == ("first", "What it does, on two lines.",
                                                                       "SELECT 1\nFROM t", 3)
    assert (second.name, second.text) == ("second", "UPDATE t SET x = %s")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1;\n-- a --\nSELECT 2;", "x.sql:1: SQL before the first"),
        ("-- a --\n-- only a description\n\n-- b --\nSELECT 2;", "x.sql:1: block 'a' has no SQL"),
        ("-- a --\nSELECT 1;\n-- a --\nSELECT 2;", "x.sql:3: 'a' is already defined at x.sql:1"),
    ],
    ids=["sql-without-a-name", "name-without-sql", "name-twice-in-a-file"],
)
def test_a_malformed_file_is_refused_naming_file_and_line(text, message):
    with pytest.raises(StatementError, match=message):
        collect([("x.sql", text)])


def test_a_name_defined_in_two_files_is_refused():
    with pytest.raises(StatementError, match="b.sql:1: 'same' is already defined at a.sql:1"):
        collect([("a.sql", "-- same --\nSELECT 1;"), ("b.sql", "-- same --\nSELECT 2;")])


# -- the package's statements ------------------------------------------------------------------------
def test_every_sql_file_has_its_module():
    sources = {st.source for st in STATEMENTS.values()}
    assert sources == {p.name for p in (STORE / "sql").glob("*.sql")}
    assert {Path(s).stem for s in sources} <= set(USED)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_statement_is_used_by_the_module_of_its_file(name):
    st = STATEMENTS[name]
    assert name in USED[Path(st.source).stem], f"{st.source}:{st.line}: {name!r} is never run"


def test_every_name_the_store_asks_for_is_defined():
    asked = {(module, n) for module, used in USED.items() for n in used}
    assert sorted((m, n) for m, n in asked if n not in SQL) == []


def test_no_query_runs_outside_the_store():
    """Callers go through store functions: no execute/cursor/copy of a connection elsewhere."""
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if STORE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"execute", "executemany", "cursor"}):
                stray.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert stray == []
