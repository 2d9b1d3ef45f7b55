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
