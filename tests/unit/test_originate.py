"""No phone or variable value can add a variable, close the block or add an argument."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eslbridge.esl.originate import (
    OriginateError,
    OriginateRequest,
    VariablePolicy,
    build_originate,
    dial_string,
    parse_variables,
)
from eslbridge.sim.script import parse_originate

UUID = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"


def request(**kw):
    base = dict(
        call_uuid=UUID,
        dial_format="sofia/gateway/gw1/%s",
        phone="13800000001",
        destination_extension="9000",
        caller_id_number="13530525008",
        timeout_s=30,
    )
    base.update(kw)
    return OriginateRequest(**base)


def test_typical_task_gives_the_documented_command():
    cmd = build_originate(
        request(tenant_variables={"execute_on_media": "start_da2"}, engine_variables={"eslbridge_attempt": "42"})
    )
    assert cmd == (
        "originate {origination_uuid=" + UUID + ",origination_caller_id_number=13530525008,"
        "originate_timeout=30,ignore_early_media=true,execute_on_media=start_da2,eslbridge_attempt=42}"
        "sofia/gateway/gw1/13800000001 9000 XML default"
    )


def test_dial_format_without_placeholder_is_dialled_as_is():
    assert dial_string("sofia/gateway/gw1/10086", "138") == "sofia/gateway/gw1/10086"


@pytest.mark.parametrize(
    "phone",
    ["138 0000", "138,1", "138}", "138'x", "+", "", "1" * 33, "１３８", "138\n", "${system(x)}", "++1"],
)
def test_hostile_phone_is_refused(phone):
    with pytest.raises(OriginateError) as err:
        build_originate(request(phone=phone))
    assert err.value.field == "phone"


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("x", "a}sofia/gateway/evil/1", "originate_variables.x"),
        ("x", "a{b", "originate_variables.x"),
        ("x", "a\nb", "originate_variables.x"),
        ("x", "a\rb", "originate_variables.x"),
        ("x", "${bg_system rm -rf /}", "originate_variables.x"),
        ("x", "'quoted'", "originate_variables.x"),
        ("x", "^^;a=b", "originate_variables.x"),
        ("x", "a\\,b", "originate_variables.x"),
        ("api_on_answer", "system rm", "originate_variables"),
        ("api_hangup_hook", "x", "originate_variables"),
        ("execute_on_answer", "system rm -rf /", "originate_variables"),
        ("execute_on_answer", "bgsystem x", "originate_variables"),
        ("session_in_hangup_hook", "true", "originate_variables"),
        ("origination_uuid", "x", "originate_variables"),
        ("bad name", "x", "originate_variables"),
        ("x=y", "x", "originate_variables"),
    ],
)
def test_hostile_variables_are_refused_naming_the_field(name, value, field):
    with pytest.raises(OriginateError) as err:
        build_originate(request(tenant_variables={name: value}))
    assert err.value.field == field


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("destination_extension", {"destination_extension": "9000 XML evil"}),
        ("destination_context", {"destination_context": "default'"}),
        ("dial_format", {"dial_format": "sofia/gw/%s %s"}),
        ("dial_format", {"dial_format": "sofia/gw/{x=y}%s"}),
        ("_originate_timeout", {"timeout_s": 0}),
        ("_origination_caller_id_number", {"caller_id_number": "10,x=y"}),
    ],
)
def test_unsafe_task_settings_are_refused(field, kw):
    with pytest.raises(OriginateError) as err:
        build_originate(request(**kw))
    assert err.value.field == field


def test_comma_switches_the_separator_and_space_quotes_the_argument():
    cmd = build_originate(request(tenant_variables={"execute_on_answer": "playback a,b c"}))
    parsed = parse_originate(cmd[len("originate ") :])
    assert parsed.variables["execute_on_answer"] == "playback a,b c"
    assert parsed.destination == "9000" and parsed.context == "default"


def test_seed_variable_text_is_parsed():
    assert parse_variables("{execute_on_media=start_da2}") == {"execute_on_media": "start_da2"}
    assert parse_variables("") == {}
    with pytest.raises(OriginateError):
        parse_variables("{novalue}")


def test_admin_can_allow_more_applications():
    policy = VariablePolicy(allowed_apps=frozenset({"lua"}))
    assert "execute_on_answer=lua" in build_originate(request(tenant_variables={"execute_on_answer": "lua"}), policy)


safe_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: not n.startswith(("api_", "execute_", "exec_", "origination", "originate", "system", "bgsystem", "effective", "transfer_after", "bridge_pre", "session_in"))
    and not n.endswith(("_hook", "_app", "_api"))
)


@settings(max_examples=400, deadline=None)
@given(
    phone=st.text(max_size=20),
    variables=st.dictionaries(safe_names, st.text(max_size=30), max_size=5),
)
def test_whatever_is_accepted_parses_back_to_exactly_what_was_given(phone, variables):
    """FreeSWITCH's own parsing layers (as the simulator applies them) see only our variables and 4 arguments."""
    try:
        cmd = build_originate(request(phone=phone, tenant_variables=variables))
    except OriginateError:
        return
    assert "\n" not in cmd and "\r" not in cmd and "${" not in cmd
    parsed = parse_originate(cmd[len("originate ") :])
    expected = {k: v for k, v in variables.items() if v != ""}
    got = {k: v for k, v in parsed.variables.items() if k in variables}
    assert got == expected
    assert set(parsed.variables) - set(variables) == {
        "origination_uuid", "origination_caller_id_number", "originate_timeout", "ignore_early_media"
    }
    assert parsed.variables["origination_uuid"] == UUID
    assert parsed.dial == "sofia/gateway/gw1/" + phone
    assert (parsed.destination, parsed.dialplan, parsed.context) == ("9000", "XML", "default")
