"""Build ``originate`` command lines that nothing a tenant sends can subvert.

FreeSWITCH 1.10.12 parses ``bgapi originate {k=v,...}DIAL EXT DIALPLAN CONTEXT``
in layers, and each layer honours characters of its own:

* mod_event_socket: CR/LF end the command;
* mod_commands ``originate``: the line is split on spaces, single quotes group
  (``switch_separate_string``); an argument that is literally ``undef`` (any
  case) counts as missing, and a missing extension aborts the whole switch;
  an extension starting with ``&`` is an application;
* ``switch_ivr_enterprise_originate``: ``:_:`` splits the dial string into
  parallel originates, ``<...>`` holds their shared variables;
* ``switch_ivr_originate``: ``|`` (one after another) and ``,`` (at once) split
  it into legs outside ``{}``/``[]``/``<>``; ``[...]`` holds per-leg variables;
* ``switch_event_create_brackets``: the ``{}`` block splits on ``,`` (``\\,``
  escapes, ``{^^X...}`` switches the separator to X), each item on its first
  ``=``; an empty value is dropped;
* variable expansion: ``${...}`` and ``$${...}`` in values and dial strings
  are expanded (``${system(...)}``-style expansions run commands).

Instead of escaping every layer, a value may hold only characters that no
layer treats specially: the separator is switched when a value holds a comma,
and the first argument is single-quoted when a value holds a space (the same
mechanism that makes ``'&transfer(9000 XML default)'`` one argument).
Anything else is refused with :class:`OriginateError` naming the field.

Everything is checked once per task (:func:`compile_originate`); per call
:meth:`OriginateTemplate.render` only fills in the call uuid, the number id
and the phone, all three of which are digits, hex and ``-`` or ``+`` by
construction (the phone column refuses anything else, see migration 006),
and, for a task showing a number group's caller ids, the caller id: one the
engine checked with :func:`check_caller_id` when it read the group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

ENGINE_VAR: Final = "eslbridge_engine"  # tags our calls: the ESL `filter` selects them
TASK_VAR: Final = "eslbridge_task"
NUMBER_VAR: Final = "eslbridge_number"
CS_VAR: Final = "eslbridge_customer_service"  # the task's customer service (skill) group id

PHONE_RE: Final = re.compile(r"\+?[0-9]{1,32}")
VAR_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Destination extension / dialplan / context: one plain token (no space, quote,
# comma, '&', parenthesis or '$': see the module docstring).
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_.+\-@#*]{1,128}")
# A dial string: endpoint/profile/gateway names, '%s', and what SIP URIs need
# ('@', ':' for ports). No layer of the originate treats any of these alone
# specially; ':_:' (enterprise split) is refused as a sequence.
DIAL_RE: Final = re.compile(r"[A-Za-z0-9_.+\-@/:%*#]{1,512}")
ENTERPRISE_DELIM: Final = ":_:"
# What a value inside the {} block may hold: no layer treats these specially
# (',' is handled by switching the separator, ' ' by quoting the argument).
# Not '%' either: sofia URL-decodes caller ids and headers that hold one.
_VALUE_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.+@#*/=-,:"
)
# Separators for {^^X…}: characters no value may hold, so one is always free.
_SEPARATORS: Final = "!~"
# Substrings FreeSWITCH acts on wherever they stand in the command: the
# enterprise split, mod_event_socket's rewrite of a packet naming
# "unload"/"reload" and mod_event_socket into `unload mod_event_socket`,
# the switch that turns off the ${} check of variable values, and the
# prefix that makes a value an array (each element of execute_on_* runs).
_FORBIDDEN_SUBSTRINGS: Final = (":_:", "mod_event_socket", "origination_nested_vars")
MAX_VALUE_LEN: Final = 1024
MAX_VARIABLES: Final = 32
MAX_COMMAND_LEN: Final = 8192  # characters of the whole originate line

# Variables that the engine itself sets; a tenant may not override them.
RESERVED_VARS: Final = frozenset(
    {
        "origination_uuid",
        "origination_caller_id_number",
        "origination_caller_id_name",
        "originate_timeout",
        "ignore_early_media",
    }
)
# Variables that make FreeSWITCH run commands or hooks, read or write files and
# URLs, change where or as whom the call goes, or hold resources of the switch.
_DANGEROUS_PREFIXES: Final = (
    "api_",
    "execute_",
    "exec_",
    "bridge_pre_execute",
    "session_in_hangup_hook",
    "transfer_",  # transfer_after_bridge, transfer_on_fail, transfer_ringback
    "park_after",
    "loopback_",
    "local_var_clobber",
    "fail_on_single_reject",
    "app_disable_expand",
    "effective_caller_id",
    "outbound_caller_id",
    "origination_",
    "originate_",
    "system",
    "bgsystem",
    "eslbridge_",  # the engine's own tags (task, number, engine)
    "cc_",  # mod_callcenter's routing and export variables
    "record_",
    "recording_",
    "hold_music",
    "ringback",
    "sip_",  # routing, authentication and identity of the trunk (sip_h_X-* headers pass)
    "sofia_",
    "absolute_codec_string",
    "limit_",
    "export_",
    "nolocal",
    "presence_",
    "fire_",
    "rtp_",
    "media_",
    "bypass_media",
    "proxy_media",
    "hangup_after",
    "continue_on_fail",
    "failure_causes",
    "leg_",
    "call_timeout",
    "group_confirm",
    "fax_",
    "tts_",
)
_DANGEROUS_SUFFIXES: Final = ("_hook", "_app", "_api", "_file", "_path", "_dir", "_url", "_uri", "_vars")
_SAFE_PREFIXES: Final = ("sip_h_X-", "sip_h_x-")  # custom SIP headers are data

DEFAULT_EXECUTE_VARS: Final = frozenset({"execute_on_media", "execute_on_answer", "execute_on_ring"})
DEFAULT_ALLOWED_APPS: Final = frozenset(
    {"start_da2", "playback", "park", "transfer", "record_session", "sleep", "answer", "echo"}
)
DEFAULT_DIALPLANS: Final = frozenset({"XML"})
# Stream schemes an application argument may name; any other ``scheme://``
# (http://, shout://, ...) would make the switch fetch or send elsewhere.
_SAFE_SCHEMES: Final = ("silence_stream://", "tone_stream://")


class OriginateError(ValueError):
    """A task setting or number cannot be turned into a safe originate; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message


@dataclass(frozen=True)
class VariablePolicy:
    """Which tenant-supplied originate variables and destinations may pass (SPEC §4)."""

    execute_vars: frozenset[str] = DEFAULT_EXECUTE_VARS
    allowed_apps: frozenset[str] = DEFAULT_ALLOWED_APPS
    extra_allowed: frozenset[str] = frozenset()  # data-looking names an admin wants to allow anyway
    dialplans: frozenset[str] = DEFAULT_DIALPLANS
    contexts: frozenset[str] = frozenset()  # allowed destination contexts; empty: any
    dial_prefixes: tuple[str, ...] = ()  # allowed dial string prefixes; empty: any endpoint

    def check(self, name: str, value: str, field_name: str = "originate_variables") -> None:
        if not VAR_NAME_RE.fullmatch(name):
            raise OriginateError(field_name, f"variable name {name!r} is not a plain identifier")
        lname = name.lower()
        if lname in RESERVED_VARS:
            raise OriginateError(field_name, f"variable {name!r} is set by eslbridge itself")
        if lname in self.execute_vars:
            self.check_application(value, f"{field_name}.{name}")
            return
        if name in self.extra_allowed:
            return
        if name.startswith(_SAFE_PREFIXES):
            return
        if lname.startswith(_DANGEROUS_PREFIXES) or lname.endswith(_DANGEROUS_SUFFIXES):
            raise OriginateError(field_name, f"variable {name!r} is not allowed")

    def check_application(self, value: str, field_name: str) -> None:
        """``app`` or ``app args`` of an execute_on_* variable: an allowed application, and
        arguments that name no file outside the switch's directories, no URL and, for
        ``transfer``, only a destination the task itself could name."""
        app, _, args = value.partition(" ")
        if app not in self.allowed_apps:
            # FreeSWITCH also reads `app:args` and `app::args`: such a word is no allowed name either.
            raise OriginateError(field_name, f"application {app[:64]!r} is not on the allow-list")
        if app == "transfer":
            words = args.split()
            if not 1 <= len(words) <= 3:
                raise OriginateError(field_name, "transfer takes an extension, a dialplan and a context")
            check_token(words[0], field_name)
            if len(words) > 1:
                check_dialplan(words[1], self, field_name)
            if len(words) > 2:
                check_context(words[2], self, field_name)
            return
        check_app_args(args, field_name)


DEFAULT_POLICY: Final = VariablePolicy()


def check_app_args(args: str, field_name: str) -> None:
    """An allowed application's arguments may not name files outside the switch's own
    directories or other servers (``playback http://…``, ``record_session /etc/…``)."""
    for word in args.split():
        if ":" in word and "://" not in word:
            raise OriginateError(field_name, "application arguments may not hold ':' (an app list in FreeSWITCH)")
        if word.startswith("/") or ".." in word:
            raise OriginateError(field_name, "application arguments may not name absolute or parent paths")
        if "://" in word and not word.startswith(_SAFE_SCHEMES):
            raise OriginateError(field_name, "application arguments may not name URLs")


def check_value(value: str, field_name: str) -> str:
    """Return ``value`` if it can be expressed in a ``{}`` block, else raise."""
    if len(value) > MAX_VALUE_LEN:
        raise OriginateError(field_name, f"value longer than {MAX_VALUE_LEN} characters")
    for ch in value:
        if ch not in _VALUE_CHARS and not (ch > "\x7f" and ch.isalnum()):
            if ch < " " or ch == "\x7f":
                raise OriginateError(field_name, "value contains a control character")
            raise OriginateError(field_name, f"value contains forbidden character {ch!r}")
    if value != value.strip():
        raise OriginateError(field_name, "value has leading or trailing spaces")
    if value.startswith("ARRAY::"):
        raise OriginateError(field_name, "value may not start with 'ARRAY::'")
    _check_substrings(value, field_name)
    return value


def _check_substrings(text: str, field_name: str) -> None:
    low = text.lower()
    for bad in _FORBIDDEN_SUBSTRINGS:
        if bad in low:
            raise OriginateError(field_name, f"contains {bad!r}, which FreeSWITCH acts on")


def check_token(value: str, field_name: str) -> str:
    """One positional argument of ``originate``: a plain token, never ``undef``."""
    if not TOKEN_RE.fullmatch(value):
        raise OriginateError(field_name, f"{value[:64]!r} is not a plain token (letters, digits, _ . + - @ # *)")
    if value.lower() == "undef":
        # FreeSWITCH reads the argument as missing; a missing extension aborts 1.10.12.
        raise OriginateError(field_name, "'undef' means a missing argument to FreeSWITCH")
    return value


def check_caller_id(value: str, field_name: str = "_origination_caller_id_number") -> str:
    if not PHONE_RE.fullmatch(value):
        raise OriginateError(field_name, "must be digits with an optional leading '+'")
    return value


def check_dial_format(dial_format: str, field_name: str = "dial_format",
                      prefixes: Sequence[str] = ()) -> str:
    """A dial string with at most one ``%s``; one leg to one endpoint, nothing expanded."""
    if not dial_format:
        raise OriginateError(field_name, "is empty")
    if not DIAL_RE.fullmatch(dial_format):
        bad = next((ch for ch in dial_format if not DIAL_RE.fullmatch(ch)), None)
        if bad is None:
            raise OriginateError(field_name, "longer than 512 characters")
        raise OriginateError(field_name, f"contains forbidden character {bad!r}")
    if ENTERPRISE_DELIM in dial_format:
        raise OriginateError(field_name, f"{ENTERPRISE_DELIM!r} would split it into several calls")
    if dial_format.count("%") != dial_format.count("%s") or dial_format.count("%s") > 1:
        raise OriginateError(field_name, "may hold one '%s' and no other '%'")
    if "/" not in dial_format:
        raise OriginateError(field_name, "must name an endpoint (e.g. sofia/gateway/NAME/%s)")
    if dial_format.lower().startswith("loopback/"):
        # loopback/EXT/CONTEXT/DIALPLAN: the number is the extension, the dialplan is XML.
        parts = dial_format.split("/")
        if len(parts) > 4 or (len(parts) == 4 and parts[3].lower() != "xml") or "%s" in "/".join(parts[2:]):
            raise OriginateError(field_name, "a loopback dial string is loopback/%s[/CONTEXT[/XML]]")
    _check_substrings(dial_format, field_name)
    if prefixes and not dial_format.startswith(tuple(prefixes)):
        raise OriginateError(field_name, "uses an endpoint this eslbridge does not allow")
    return dial_format


def check_context(value: str, policy: VariablePolicy, field_name: str = "destination_context") -> str:
    check_token(value, field_name)
    if policy.contexts and value not in policy.contexts:
        raise OriginateError(field_name, f"{value!r} is not an allowed context")
    return value


def check_dialplan(value: str, policy: VariablePolicy, field_name: str = "destination_dialplan") -> str:
    check_token(value, field_name)
    if value not in policy.dialplans:
        allowed = ", ".join(sorted(policy.dialplans))
        raise OriginateError(field_name, f"{value!r} is not an allowed dialplan ({allowed})")
    return value


def parse_variables(text: str | None, field_name: str = "originate_variables") -> dict[str, str]:
    """Parse the seed's ``{a=b,c=d}`` form (braces optional) into a dict.

    Only the plain form is accepted: a value with a comma must be given as a
    mapping (JSON) instead, where no parsing is needed.
    """
    if text is None:
        return {}
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    result: dict[str, str] = {}
    if not body.strip():
        return result
    for item in body.split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise OriginateError(field_name, f"item {item[:64]!r} is not name=value")
        if name in result:
            raise OriginateError(field_name, f"variable {name!r} is given twice")
        result[name] = value.strip()
    if len(result) > MAX_VARIABLES:
        raise OriginateError(field_name, f"more than {MAX_VARIABLES} variables")
    return result


def check_variables(text: str | None, policy: VariablePolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Parse a task's ``originate_variables`` and check every name and value; raises OriginateError."""
    variables = parse_variables(text)
    for name, value in variables.items():
        policy.check(name, value)
        check_value(value, f"originate_variables.{name}")
    return variables


def _pick_separator(values: Sequence[str]) -> str:
    if not any("," in v for v in values):
        return ","
    return _SEPARATORS[0]  # no value may hold it


@dataclass(frozen=True)
class OriginateSpec:
    """A task's originate, all but what changes per call (uuid, number id, phone)."""

    dial_format: str
    destination_extension: str
    destination_dialplan: str = "XML"
    destination_context: str = "default"
    caller_id_number: str | None = None
    timeout_s: int = 45
    tenant_variables: Mapping[str, str] = field(default_factory=dict)
    engine_variables: Mapping[str, str] = field(default_factory=dict)  # the same on every call
    number_variable: str = NUMBER_VAR  # carries the number id of each call
    ignore_early_media: bool = True
    caller_id_per_call: bool = False  # a number group's: given to render(); caller_id_number is unused


@dataclass(frozen=True, slots=True)
class OriginateTemplate:
    """A checked originate line with holes: call uuid, number id, phone, and the caller id of a
    task showing a number group's."""

    head: str  # up to the call uuid
    mid: str  # from the call uuid to the number id
    dial_head: str  # from the number id (or the caller id) to the phone
    tail: str  # after the phone: the rest of the dial string and the destination
    has_phone: bool
    cid: str = ""  # after the number id: the caller id's variable, when it is given per call

    @property
    def has_caller_id(self) -> bool:
        return bool(self.cid)

    def render(self, call_uuid: str, number_id: int, phone: str, caller_id: str = "") -> str:
        """The ``originate …`` argument (without ``bgapi``). No checks: see the module docstring.

        ``caller_id`` only for a template with ``has_caller_id`` (else it must be
        empty: it would land in the number id's value).
        """
        if self.has_phone:
            return f"{self.head}{call_uuid}{self.mid}{number_id}{self.cid}{caller_id}{self.dial_head}{phone}{self.tail}"
        return f"{self.head}{call_uuid}{self.mid}{number_id}{self.cid}{caller_id}{self.dial_head}{self.tail}"


def compile_originate(spec: OriginateSpec, policy: VariablePolicy = DEFAULT_POLICY) -> OriginateTemplate:
    """Check every setting once and return the template; raises OriginateError naming the field."""
    dial = check_dial_format(spec.dial_format, prefixes=policy.dial_prefixes)
    check_token(spec.destination_extension, "destination_extension")
    check_dialplan(spec.destination_dialplan, policy)
    check_context(spec.destination_context, policy)
    if not 1 <= spec.timeout_s <= 600:
        raise OriginateError("_originate_timeout", "must be 1..600 seconds")

    # Engine variables come after the tenant's: FreeSWITCH keeps the last of a name.
    static: dict[str, str] = {}
    if spec.caller_id_number and not spec.caller_id_per_call:
        static["origination_caller_id_number"] = check_caller_id(spec.caller_id_number)
    static["originate_timeout"] = str(int(spec.timeout_s))
    if spec.ignore_early_media:
        static["ignore_early_media"] = "true"
    if len(spec.tenant_variables) > MAX_VARIABLES:
        raise OriginateError("originate_variables", f"more than {MAX_VARIABLES} variables")
    for name, value in spec.tenant_variables.items():
        policy.check(name, value)
        static[name] = check_value(value, f"originate_variables.{name}")
    for name, value in spec.engine_variables.items():
        if not VAR_NAME_RE.fullmatch(name):
            raise OriginateError("engine_variables", f"bad name {name!r}")
        static[name] = check_value(value, f"engine_variables.{name}")
    if not VAR_NAME_RE.fullmatch(spec.number_variable):
        raise OriginateError("engine_variables", f"bad name {spec.number_variable!r}")
    # `{k=}` is silently dropped by FreeSWITCH: drop it here so what we log is what runs.
    items = [(k, v) for k, v in static.items() if v != ""]
    # The holes hold hex, digits, '-' and '+': never a separator from _SEPARATORS.
    sep = _pick_separator([v for _, v in items])
    for _, v in items:
        _check_substrings(v, "originate_variables")
    quote = "'" if any(" " in v for _, v in items) else ""
    prefix = "" if sep == "," else "^^" + sep
    statics = "".join(f"{sep}{k}={v}" for k, v in items)
    before, has_phone, after = dial.partition("%s")
    template = OriginateTemplate(
        head=f"originate {quote}{{{prefix}origination_uuid=",
        mid=f"{statics}{sep}{spec.number_variable}=",
        dial_head="}" + before,
        tail=f"{after}{quote} {spec.destination_extension} {spec.destination_dialplan} {spec.destination_context}",
        has_phone=bool(has_phone),
        # The caller id holds digits and an optional '+', like the other holes.
        cid=f"{sep}origination_caller_id_number=" if spec.caller_id_per_call else "",
    )
    longest = template.render("0" * 36, 10**18, "+" + "9" * 31, "+" + "9" * 31 if spec.caller_id_per_call else "")
    if len(longest) > MAX_COMMAND_LEN:
        raise OriginateError("originate_variables", f"the originate would be longer than {MAX_COMMAND_LEN} characters")
    return template
