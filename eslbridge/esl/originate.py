"""Build ``originate`` command lines that nothing a tenant sends can subvert.

FreeSWITCH parses ``originate {k=v,...}DIAL DEST DIALPLAN CONTEXT`` in layers:
the line is split on spaces (single quotes group), the ``{}`` block on commas
(``{^^X...}`` switches the separator to X), each item on the first ``=``;
``${...}`` in values is expanded (with api expansion, that runs commands);
CR/LF ends the command. Instead of trying to escape every layer we accept only
values that no layer treats specially, switch the separator when a value holds
a comma, and single-quote the first argument when a value holds a space (the
same mechanism that makes ``'&transfer(9000 XML default)'`` one argument).
Anything else is refused with :class:`OriginateError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

PHONE_RE: Final = re.compile(r"\+?[0-9]{1,32}")
VAR_NAME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Destination extension / dialplan / context: one plain token.
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_.+\-@#*]{1,128}")
# Characters that some parsing layer treats specially (see module docstring).
_FORBIDDEN_VALUE_CHARS: Final = frozenset("{}[]<>'\"\\$^`|;&")
_SEPARATORS: Final = ":!~%#/"  # tried in order when a value holds a comma
MAX_VALUE_LEN: Final = 1024
MAX_DIAL_LEN: Final = 512

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
# Variables that make FreeSWITCH run commands, hooks or change routing.
_DANGEROUS_PREFIXES: Final = (
    "api_",
    "execute_",
    "exec_",
    "bridge_pre_execute",
    "session_in_hangup_hook",
    "transfer_after",
    "effective_caller_id",
    "origination_",
    "originate_",
    "system",
    "bgsystem",
)
_DANGEROUS_SUFFIXES: Final = ("_hook", "_app", "_api")

DEFAULT_EXECUTE_VARS: Final = frozenset({"execute_on_media", "execute_on_answer", "execute_on_ring"})
DEFAULT_ALLOWED_APPS: Final = frozenset(
    {"start_da2", "playback", "park", "transfer", "record_session", "sleep", "answer", "echo"}
)


class OriginateError(ValueError):
    """A task setting or number cannot be turned into a safe originate; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class VariablePolicy:
    """Which tenant-supplied originate variables may pass (SPEC §4)."""

    execute_vars: frozenset[str] = DEFAULT_EXECUTE_VARS
    allowed_apps: frozenset[str] = DEFAULT_ALLOWED_APPS
    extra_allowed: frozenset[str] = frozenset()  # data-looking names an admin wants to allow anyway

    def check(self, name: str, value: str, field_name: str = "originate_variables") -> None:
        if not VAR_NAME_RE.fullmatch(name):
            raise OriginateError(field_name, f"variable name {name!r} is not a plain identifier")
        lname = name.lower()
        if lname in RESERVED_VARS:
            raise OriginateError(field_name, f"variable {name!r} is set by eslbridge itself")
        if lname in self.execute_vars:
            app = value.split(" ", 1)[0].split("::", 1)[0].strip()
            if app not in self.allowed_apps:
                raise OriginateError(
                    field_name, f"application {app!r} in {name!r} is not on the allow-list"
                )
            return
        if lname in self.extra_allowed:
            return
        if lname.startswith(_DANGEROUS_PREFIXES) or lname.endswith(_DANGEROUS_SUFFIXES):
            raise OriginateError(field_name, f"variable {name!r} is not allowed")


def check_value(value: str, field_name: str) -> str:
    """Return ``value`` if it can be expressed in a ``{}`` block, else raise."""
    if len(value) > MAX_VALUE_LEN:
        raise OriginateError(field_name, f"value longer than {MAX_VALUE_LEN} characters")
    for ch in value:
        if ch < " " or ch == "\x7f":
            raise OriginateError(field_name, "value contains a control character")
        if ch in _FORBIDDEN_VALUE_CHARS:
            raise OriginateError(field_name, f"value contains forbidden character {ch!r}")
    if value != value.strip():
        raise OriginateError(field_name, "value has leading or trailing spaces")
    return value


def check_phone(phone: str, field_name: str = "phone") -> str:
    if not PHONE_RE.fullmatch(phone):
        raise OriginateError(field_name, "must be digits with an optional leading '+'")
    return phone


def check_token(value: str, field_name: str) -> str:
    if not TOKEN_RE.fullmatch(value):
        raise OriginateError(field_name, f"{value!r} is not a plain token")
    return value


def dial_string(dial_format: str, phone: str) -> str:
    """``dial_format`` with ``%s`` replaced by the phone; without ``%s`` it is dialled as is."""
    check_phone(phone)
    if not dial_format:
        raise OriginateError("dial_format", "is empty")
    if len(dial_format) > MAX_DIAL_LEN:
        raise OriginateError("dial_format", f"longer than {MAX_DIAL_LEN} characters")
    if dial_format.count("%s") > 1:
        raise OriginateError("dial_format", "has more than one %s")
    for ch in dial_format:
        if ch <= " " or ch == "\x7f" or ch in _FORBIDDEN_VALUE_CHARS or ch in ",=":
            raise OriginateError("dial_format", f"contains forbidden character {ch!r}")
    return dial_format.replace("%s", phone)


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
            raise OriginateError(field_name, f"item {item!r} is not name=value")
        result[name] = value.strip()
    return result


def check_variables(text: str | None, policy: VariablePolicy = VariablePolicy()) -> dict[str, str]:
    """Parse a task's ``originate_variables`` and check every name and value; raises OriginateError."""
    variables = parse_variables(text)
    for name, value in variables.items():
        policy.check(name, value)
        check_value(value, f"originate_variables.{name}")
    return variables


def _pick_separator(values: Sequence[str]) -> str:
    if not any("," in v for v in values):
        return ","
    for sep in _SEPARATORS:
        if not any(sep in v for v in values):
            return sep
    raise OriginateError("originate_variables", "values use every available separator")


@dataclass(frozen=True)
class OriginateRequest:
    """Everything needed for one ``originate``; build with :func:`build_originate`."""

    call_uuid: str
    dial_format: str
    phone: str
    destination_extension: str
    destination_dialplan: str = "XML"
    destination_context: str = "default"
    caller_id_number: str | None = None
    timeout_s: int = 45
    tenant_variables: Mapping[str, str] = field(default_factory=dict)
    engine_variables: Mapping[str, str] = field(default_factory=dict)
    ignore_early_media: bool = True


def build_originate(req: OriginateRequest, policy: VariablePolicy = VariablePolicy()) -> str:
    """Return the ``originate …`` argument string (without ``bgapi``); raises OriginateError."""
    dial = dial_string(req.dial_format, req.phone)
    check_token(req.destination_extension, "destination_extension")
    check_token(req.destination_dialplan, "destination_dialplan")
    check_token(req.destination_context, "destination_context")
    if not 1 <= req.timeout_s <= 600:
        raise OriginateError("_originate_timeout", "must be 1..600 seconds")

    variables: dict[str, str] = {"origination_uuid": check_token(req.call_uuid, "call_uuid")}
    if req.caller_id_number:
        variables["origination_caller_id_number"] = check_value(
            req.caller_id_number, "_origination_caller_id_number"
        )
        if not PHONE_RE.fullmatch(req.caller_id_number):
            raise OriginateError("_origination_caller_id_number", "must be digits with optional '+'")
    variables["originate_timeout"] = str(int(req.timeout_s))
    if req.ignore_early_media:
        variables["ignore_early_media"] = "true"
    for name, value in req.tenant_variables.items():
        policy.check(name, value)
        variables[name] = check_value(value, f"originate_variables.{name}")
    for name, value in req.engine_variables.items():
        if not VAR_NAME_RE.fullmatch(name):
            raise OriginateError("engine_variables", f"bad name {name!r}")
        variables[name] = check_value(value, f"engine_variables.{name}")
    # `{k=}` is silently dropped by FreeSWITCH: drop it here so what we log is what runs.
    items = [(k, v) for k, v in variables.items() if v != ""]
    sep = _pick_separator([v for _, v in items])
    prefix = "" if sep == "," else "^^" + sep
    block = "{" + prefix + sep.join(f"{k}={v}" for k, v in items) + "}"
    first = block + dial
    if " " in first:
        first = f"'{first}'"
    return (
        f"originate {first} {req.destination_extension} "
        f"{req.destination_dialplan} {req.destination_context}"
    )
