"""No tenant setting, phone or variable value can add a call, a variable or an argument.

The oracle is the simulator's model of FreeSWITCH 1.10.12's own parsing
(``eslbridge.sim.script.parse_originate``: switch_separate_string, the
``undef`` rule of mod_commands, the ``:_:``/``|``/``,`` leg splits of
switch_ivr_originate and switch_event_create_brackets).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eslbridge.esl.originate import (
    DEFAULT_POLICY,
    OriginateError,
    OriginateSpec,
    VariablePolicy,
    check_variables,
    compile_originate,
    parse_variables,
)
from eslbridge.sim.script import parse_originate

UUID = "5ce8c3a8-7639-4141-a860-a983f3b0a5c4"
ENGINE = {"eslbridge_engine": "e1", "eslbridge_task": "0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01"}


def spec(**kw: object) -> OriginateSpec:
    base: dict[str, object] = {
        "dial_format": "sofia/gateway/gw1/%s",
        "destination_extension": "9000",
        "caller_id_number": "13530525008",
        "timeout_s": 30,
        "engine_variables": ENGINE,
    }
    base.update(kw)
    return OriginateSpec(**base)  # type: ignore[arg-type]


def render(s: OriginateSpec, phone: str = "13800000001", policy: VariablePolicy = DEFAULT_POLICY) -> str:
    return compile_originate(s, policy).render(UUID, 42, phone)


def refused(s: OriginateSpec, policy: VariablePolicy = DEFAULT_POLICY) -> OriginateError:
    with pytest.raises(OriginateError) as err:
        compile_originate(s, policy)
    return err.value


def test_typical_task_gives_the_documented_command() -> None:
    cmd = render(spec(tenant_variables={"execute_on_media": "start_da2"}))
    assert cmd == (
        "originate {origination_uuid=" + UUID + ",origination_caller_id_number=13530525008,"
        "originate_timeout=30,ignore_early_media=true,execute_on_media=start_da2,"
        "eslbridge_engine=e1,eslbridge_task=0c6a2c39-8f0a-4a53-b0a6-2d9b2b6b3b01,eslbridge_number=42}"
        "sofia/gateway/gw1/13800000001 9000 XML default"
    )


def test_dial_format_without_placeholder_is_dialled_as_is() -> None:
    assert "}sofia/gateway/gw1/10086 9000" in render(spec(dial_format="sofia/gateway/gw1/10086"), phone="138")


@pytest.mark.parametrize("value", ["undef", "UNDEF", "Undef", "uNdEf"])
@pytest.mark.parametrize("field", ["destination_extension", "destination_dialplan", "destination_context"])
def test_undef_destination_is_refused_in_any_case(field: str, value: str) -> None:
    """FreeSWITCH reads `undef` as a missing argument; a missing extension aborts 1.10.12."""
    err = refused(spec(**{field: value}))
    assert err.field == field and "undef" in str(err)


@pytest.mark.parametrize(
    "dial_format",
    [
        pytest.param("loopback/%s/x:_:sofia/gateway/other/666", id="enterprise-split"),
        pytest.param("sofia/gateway/gw1/%s|sofia/gateway/other/666", id="sequential-legs"),
        pytest.param("sofia/gateway/gw1/%s,sofia/gateway/other/666", id="simultaneous-legs"),
        pytest.param("[leg_timeout=1]sofia/gateway/gw1/%s", id="per-leg-block"),
        pytest.param("{x=y}sofia/gateway/gw1/%s", id="global-block"),
        pytest.param("<x=y>sofia/gateway/gw1/%s", id="enterprise-block"),
        pytest.param("sofia/gateway/gw1/%s^666", id="to-user"),
        pytest.param("sofia/gateway/gw1/%s;fs_path=sip:evil", id="uri-params"),
        pytest.param("loopback/app=bgsystem:reboot", id="loopback-app"),
        pytest.param("loopback/%s/ctx/inline", id="loopback-inline-dialplan"),
        pytest.param("loopback/9000/%s", id="number-picks-context"),
        pytest.param("sofia/gateway/gw1/%s 666", id="space"),
        pytest.param("sofia/gateway/gw1/%s'", id="quote"),
        pytest.param("sofia/gateway/gw1/${system(x)}", id="expansion"),
        pytest.param("sofia/gateway/gw1/%d%s", id="other-percent"),
        pytest.param("sofia/gw/%s/%s", id="two-placeholders"),
        pytest.param("sofia/gateway/mod_event_socket/%s", id="unload-rewrite"),
        pytest.param("noendpoint", id="no-endpoint"),
        pytest.param("", id="empty"),
    ],
)
def test_dial_format_that_FreeSWITCH_would_read_otherwise_is_refused(dial_format: str) -> None:
    assert refused(spec(dial_format=dial_format)).field == "dial_format"


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
        ("x", "x:_:loopback/app=bgsystem:touch", "originate_variables.x"),
        ("x", "ARRAY::a|:b", "originate_variables.x"),
        ("x", "origination_nested_vars=true", "originate_variables.x"),
        ("x", "MOD_EVENT_SOCKET", "originate_variables.x"),
        ("x", "%0d%0a", "originate_variables.x"),
        ("x", " padded", "originate_variables.x"),
        ("api_on_answer", "system rm", "originate_variables"),
        ("api_hangup_hook", "x", "originate_variables"),
        ("execute_on_answer", "system rm -rf /", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "bgsystem x", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "transfer bgsystem:reboot inline", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "transfer 9000 XML:/etc/evil.xml default", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "transfer 9000 inline", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "playback http://169.254.169.254/x", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "record_session /etc/freeswitch/vars.xml", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "playback ../../etc/passwd", "originate_variables.execute_on_answer"),
        ("execute_on_answer", "playback:bgsystem", "originate_variables.execute_on_answer"),
        ("execute_on_answer_2", "park", "originate_variables"),
        ("EXECUTE_ON_RING_x", "park", "originate_variables"),
        ("session_in_hangup_hook", "true", "originate_variables"),
        ("origination_uuid", "x", "originate_variables"),
        ("IGNORE_EARLY_MEDIA", "false", "originate_variables"),
        ("sip_network_destination", "sip:evil.example", "originate_variables"),
        ("transfer_on_fail", "x", "originate_variables"),
        ("loopback_export", "x", "originate_variables"),
        ("local_var_clobber", "true", "originate_variables"),
        ("eslbridge_number", "1", "originate_variables"),
        ("bad name", "x", "originate_variables"),
        ("x=y", "x", "originate_variables"),
    ],
)
def test_hostile_variables_are_refused_naming_the_field(name: str, value: str, field: str) -> None:
    assert refused(spec(tenant_variables={name: value})).field == field


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("destination_extension", {"destination_extension": "9000 XML evil"}),
        ("destination_extension", {"destination_extension": "&bgsystem(reboot)"}),
        ("destination_context", {"destination_context": "default'"}),
        ("destination_dialplan", {"destination_dialplan": "inline"}),
        ("destination_dialplan", {"destination_dialplan": "XML,inline"}),
        ("_originate_timeout", {"timeout_s": 0}),
        ("_origination_caller_id_number", {"caller_id_number": "10,x=y"}),
        ("_origination_caller_id_number", {"caller_id_number": "${caller}"}),
    ],
)
def test_unsafe_task_settings_are_refused(field: str, kw: dict[str, object]) -> None:
    assert refused(spec(**kw)).field == field


def test_admin_can_restrict_contexts_and_endpoints() -> None:
    policy = VariablePolicy(contexts=frozenset({"robot"}), dial_prefixes=("sofia/gateway/",))
    assert refused(spec(destination_context="default"), policy).field == "destination_context"
    assert refused(spec(dial_format="user/%s", destination_context="robot"), policy).field == "dial_format"
    assert render(spec(destination_context="robot"), policy=policy).endswith(" 9000 XML robot")


def test_comma_switches_the_separator_and_space_quotes_the_argument() -> None:
    cmd = render(spec(tenant_variables={"execute_on_answer": "playback a,b c"}))
    parsed = parse_originate(cmd[len("originate ") :])
    assert parsed.variables["execute_on_answer"] == "playback a,b c"
    assert parsed.legs == ("sofia/gateway/gw1/13800000001",)
    assert (parsed.destination, parsed.dialplan, parsed.context) == ("9000", "XML", "default")


def test_seed_variable_text_is_parsed() -> None:
    assert parse_variables("{execute_on_media=start_da2}") == {"execute_on_media": "start_da2"}
    assert parse_variables("") == {}
    with pytest.raises(OriginateError):
        parse_variables("{novalue}")
    with pytest.raises(OriginateError):
        parse_variables("{a=1,a=2}")  # FreeSWITCH keeps the last: say so instead of guessing


def test_admin_can_allow_more_applications() -> None:
    policy = VariablePolicy(allowed_apps=frozenset({"lua"}))
    assert "execute_on_answer=lua" in render(spec(tenant_variables={"execute_on_answer": "lua"}), policy=policy)
    assert check_variables("{execute_on_answer=transfer 9000 XML robot}") == {
        "execute_on_answer": "transfer 9000 XML robot"
    }


safe_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(
    phone=st.from_regex(r"\+?[0-9]{1,32}", fullmatch=True),
    variables=st.dictionaries(safe_names, st.text(max_size=30), max_size=5),
)
def test_whatever_is_accepted_parses_back_to_exactly_what_was_given(phone: str, variables: dict[str, str]) -> None:
    """FreeSWITCH's parsing layers see only our variables, one leg and four arguments."""
    try:
        template = compile_originate(spec(tenant_variables=variables))
    except OriginateError:
        return
    cmd = template.render(UUID, 42, phone)
    parsed = parse_originate(cmd[len("originate ") :])
    expected = {k: v for k, v in variables.items() if v != ""}
    assert {k: v for k, v in parsed.variables.items() if k in variables} == expected
    assert set(parsed.variables) - set(variables) == {
        "origination_uuid", "origination_caller_id_number", "originate_timeout", "ignore_early_media",
        "eslbridge_engine", "eslbridge_task", "eslbridge_number",
    }
    assert parsed.variables["origination_uuid"] == UUID and parsed.variables["eslbridge_number"] == "42"
    assert parsed.legs == ("sofia/gateway/gw1/" + phone,)
    assert (parsed.destination, parsed.dialplan, parsed.context) == ("9000", "XML", "default")


@settings(max_examples=600, deadline=None)
@given(
    dial=st.text(alphabet=st.sampled_from("sofia/gateway/loopback%s:_|,[]{}<>^;=@ 'x1"), max_size=40),
    ext=st.text(alphabet=st.sampled_from("undefUNDEF9&( ),'x"), min_size=0, max_size=8),
    context=st.text(alphabet=st.sampled_from("undefUNDEF ,:'x"), min_size=0, max_size=8),
)
def test_accepted_settings_never_make_two_calls_or_a_missing_argument(dial: str, ext: str, context: str) -> None:
    try:
        template = compile_originate(spec(dial_format=dial, destination_extension=ext, destination_context=context))
    except OriginateError:
        return
    parsed = parse_originate(template.render(UUID, 7, "13800000001")[len("originate ") :])
    assert len(parsed.legs) == 1
    assert (parsed.destination, parsed.context) == (ext, context)


@settings(max_examples=300, deadline=None)
@given(
    phone=st.from_regex(r"\+?[0-9]{1,32}", fullmatch=True),
    caller_id=st.from_regex(r"\+?[0-9]{1,32}", fullmatch=True),
    variables=st.dictionaries(safe_names, st.text(alphabet=st.sampled_from("ab ,:1"), max_size=12), max_size=4),
)
def test_a_caller_id_given_per_call_parses_back_as_itself_beside_any_accepted_value(
        phone: str, caller_id: str, variables: dict[str, str]) -> None:
    """A number group's caller id is a hole of the template: whatever separator or quoting the
    task's values need, it is one variable, and the task's own caller id is not sent."""
    try:
        template = compile_originate(spec(tenant_variables=variables, caller_id_per_call=True))
    except OriginateError:
        return
    assert template.has_caller_id
    parsed = parse_originate(template.render(UUID, 42, phone, caller_id)[len("originate ") :])
    assert parsed.variables["origination_caller_id_number"] == caller_id
    assert parsed.variables["eslbridge_number"] == "42" and parsed.legs == ("sofia/gateway/gw1/" + phone,)
    assert {k: v for k, v in parsed.variables.items() if k in variables} == {k: v for k, v in variables.items() if v}


def test_a_template_without_the_hole_renders_as_before() -> None:
    template = compile_originate(spec())
    assert not template.has_caller_id
    assert template.render(UUID, 42, "13800000001") == template.render(UUID, 42, "13800000001", "")
