"""The quick __init__ of the hot frozen rows builds what dataclasses' own builds."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from eslbridge.esl.protocol import Event, Frame
from eslbridge.frozen import quick_init
from eslbridge.rows import AttemptRow, CdrRow, NumberUpdate, OutboxRow
from eslbridge.store.claims import Claimed
from eslbridge.tracker import Attempt, Fact, Outcome


@dataclass(frozen=True, slots=True)
class Stock:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: int | None = field(default=None, kw_only=True)


@quick_init
@dataclass(frozen=True, slots=True)
class Quick:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: int | None = field(default=None, kw_only=True)


@pytest.mark.parametrize("args, kwargs", [((1,), {}), ((1, "x"), {}), ((1, "x", (2,)), {"d": 4}),
                                          ((), {"a": 1, "c": (3,)}), ((), {"d": 5, "a": 2})])
def test_builds_what_the_stock_init_builds(args, kwargs):
    stock, quick = Stock(*args, **kwargs), Quick(*args, **kwargs)
    assert dataclasses.astuple(stock) == dataclasses.astuple(quick)
    assert repr(quick) == repr(stock).replace("Stock", "Quick")
    assert hash(quick) == hash(Quick(*args, **kwargs)) and quick == Quick(*args, **kwargs)
    assert dataclasses.replace(quick, b="y").b == "y"


@pytest.mark.parametrize("args, kwargs", [((), {}), ((1, "x", (), 4), {}), ((1,), {"e": 1}), ((1,), {"a": 2})])
def test_refuses_what_the_stock_init_refuses(args, kwargs):
    with pytest.raises(TypeError):
        Stock(*args, **kwargs)
    with pytest.raises(TypeError):
        Quick(*args, **kwargs)


def test_stays_frozen():
    quick = Quick(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del quick.b  # type: ignore[misc]


@pytest.mark.parametrize("cls", [AttemptRow, NumberUpdate, OutboxRow, CdrRow, Fact, Attempt, Outcome, Claimed, Frame, Event])
def test_hot_rows_keep_their_dataclass_signature(cls):
    """Each parameter is a field, in order, with the field's default."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        assert p.default is (inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


def test_refuses_classes_it_would_build_differently():
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, NotFrozen, Factory, Post):
        with pytest.raises(TypeError):
            quick_init(cls)


@pytest.mark.parametrize("changes", [{}, {"a": 2}, {"b": "y", "d": 7}, {"a": 3, "b": "z", "c": (1,), "d": None}])
def test_replace_gives_what_dataclasses_replace_gives(changes):
    from eslbridge.frozen import replace

    quick, stock = Quick(1, "x", (5,), d=4), Stock(1, "x", (5,), d=4)
    got = replace(quick, **changes)
    assert dataclasses.astuple(got) == dataclasses.astuple(dataclasses.replace(stock, **changes))
    assert type(got) is Quick and got is not quick
    assert dataclasses.astuple(quick) == (1, "x", (5,), 4)  # the original is left as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.a = 9  # type: ignore[misc]
    assert dataclasses.astuple(replace(stock, **changes)) == dataclasses.astuple(got)  # others: dataclasses'


def test_replace_refuses_a_name_that_is_no_field():
    from eslbridge.frozen import replace

    with pytest.raises(TypeError):
        replace(Quick(1), e=1)
    with pytest.raises(TypeError):
        dataclasses.replace(Stock(1), e=1)


def test_the_trackers_rows_replace_the_quick_way():
    from datetime import UTC, datetime

    from eslbridge.frozen import replace

    for row, name in ((Attempt(1, "u"), "call_uuid"), (Fact("job", "u", datetime.now(UTC)), "call_uuid")):
        assert hasattr(type(row), "_quick_replace")
        assert replace(row, **{name: "v"}) == dataclasses.replace(row, **{name: "v"})
        assert replace(row) == row and replace(row) is not row
