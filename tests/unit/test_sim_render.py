"""The simulator fills a template event in one step; it must say what filling each
placeholder in turn says, whatever the values hold (``%``, format syntax, NUL)."""

from __future__ import annotations

import pytest

from eslbridge.sim import script


def fill_one_by_one(ev: script.TemplateEvent, ctx: script.CallContext) -> list[tuple[str, str]]:
    values = dict(ctx.leg_values(ev.leg if ev.leg != "J" else "A"))
    out: list[tuple[str, str]] = []
    for name, parts in ev.headers:
        if name == script.P + "VARS" + script.P:
            out.extend(("variable_" + k, v) for k, v in ctx.variables)
        elif len(parts) == 1:
            out.append((name, parts[0]))
        else:
            out.append((name, "".join(values.get(p, "0") if i % 2 else p for i, p in enumerate(parts))))
    return out


def events() -> list[script.TemplateEvent]:
    return [ev for family, table in script.load_templates().items() if family != "cc"
            for template in table.values() for ev in template.events]


@pytest.mark.parametrize("phone", ["13800000000", "1%s%%(A)s", "1\x002"])
def test_one_step_fill_matches_filling_each_placeholder(phone: str) -> None:
    ctx = script.CallContext(
        {"A": "a-uuid", "P": phone},
        [("eslbridge_engine", "e1"), ("x", "50%(P)s\x00")],
        {"A": {"created": 1_000_000, "answered": 2_000_000}, "B": {"created": 1_500_000}},
    )
    checked = 0
    for ev in events():
        assert script.render(ev, ctx, 5_000_000, 7, "+OK a-uuid\n") == fill_one_by_one(ev, ctx), ev.name
        checked += 1
    assert checked > 50
