"""Pure parts of the simulator: originate parsing, outcome rules, call timelines, event encoding.

A simulated call replays the event sequence that the real FreeSWITCH produced
for the same outcome (``templates.json``, extracted from the captures by
``scripts/extract_sim_templates.py``): same events, same order, same header
names and constant values. Only per-call values (uuids, phone, caller id,
variables, times, durations) are filled in, and the ring and talk phases are
stretched to the rule's durations and multiplied by the time scale.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

import orjson

P = "\x01"
USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)
# FreeSWITCH's switch_url_encode: these, controls and non-ASCII become %XX.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\"#%&+:;<=>?@[\\]^`{|}")


def url_encode(value: str) -> str:
    return quote(value, safe=_URL_SAFE) if value else value


# -- originate parsing (as FreeSWITCH 1.10.12 does it) ------------------------
# A model of the layers that read an originate line: switch_separate_string
# (src/switch_utils.c), mod_commands' originate_function, switch_ivr_originate's
# enterprise (:_:), '|' and ',' splits, and switch_event_create_brackets for
# {} <> [] blocks. The simulator plays what FreeSWITCH would do with the line:
# a missing extension aborts the switch, several legs are several calls.
class OriginateUsage(ValueError):
    """The command line is not a valid originate (FreeSWITCH answers -USAGE)."""


_UNESCAPE = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "s": " "}


def _cleanup(token: str, delim: str = " ") -> str:
    """cleanup_separated_string: paired single quotes go, known escapes (and an escaped
    delimiter) are decoded, other backslashes stay."""
    if "\\" not in token and "'" not in token:  # nothing to decode: the usual case
        return token.strip(" ")
    quotes = token.count("'") - (token.count("'") % 2)
    out: list[str] = []
    i = 0
    while i < len(token):
        ch = token[i]
        if ch == "\\" and i + 1 < len(token) and (token[i + 1] in _UNESCAPE or token[i + 1] == delim):
            out.append(_UNESCAPE.get(token[i + 1], token[i + 1]))
            i += 2
            continue
        if ch == "'" and quotes > 0:
            quotes -= 1
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip(" ")


def fs_separate(text: str, delim: str = " ") -> list[str]:
    """switch_separate_string: ``^^X`` at the start picks the delimiter, every ``'`` toggles
    quoting, a backslash protects the next character; runs of blank delimiters collapse."""
    if text.startswith("^^") and len(text) > 2:
        delim, text = text[2], text[3:]
    if "\\" not in text and "'" not in text:  # no quoting or escapes: a plain split says the same
        plain = [t.strip(" ") for t in text.split(delim)]
        return [t for t in plain if t] if delim == " " else plain
    tokens: list[str] = []
    cur: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += [ch, text[i + 1]]
            i += 2
            continue
        if ch == "'":
            quoted = not quoted
        if ch == delim and not quoted:
            tokens.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    tokens.append("".join(cur))
    cleaned = [_cleanup(t, delim) for t in tokens]
    return [t for t in cleaned if t] if delim == " " else cleaned


def find_end(text: str, open_ch: str, close_ch: str) -> int:
    """switch_find_end_paren: the index of the matching close, counting depth; -1 if none."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i
    return -1


def parse_block(text: str, open_ch: str, close_ch: str, variables: dict[str, str]) -> str:
    """switch_event_create_brackets: read one block into ``variables``; return the rest."""
    end = find_end(text, open_ch, close_ch)
    if end < 0:
        raise OriginateUsage(text)
    body, rest = text[1:end], text[end + 1 :]
    sep = ","
    if body.startswith("^^") and len(body) > 2:
        sep, body = body[2], body[3:]
    for item in fs_separate(body, sep):
        pair = fs_separate(item, "=")
        if len(pair) >= 2 and pair[0] and "=".join(pair[1:]):
            variables[pair[0]] = "=".join(pair[1:])  # the last of a name wins
    return rest


def split_legs(dial: str) -> list[str]:
    """The legs a dial string asks for: ``:_:`` (enterprise), then ``|`` and ``,`` outside ``[]``."""
    legs: list[str] = []
    for piece in dial.split(":_:"):  # a plain strstr split: no quotes, no brackets
        part = piece.lstrip(" ")
        try:
            while part.startswith("<"):
                part = parse_block(part, "<", ">", {})
            while part.startswith("{"):
                part = parse_block(part, "{", "}", {})
        except OriginateUsage:
            legs.append(piece)  # each piece is originated on its own: this one fails to parse
            continue
        for seq in fs_separate(part, "|"):
            depth, start = 0, 0
            for i, ch in enumerate(seq):
                depth += (ch == "[") - (ch == "]")
                if ch == "," and depth == 0:
                    legs.append(seq[start:i].strip())
                    start = i + 1
            legs.append(seq[start:].strip())
    return [leg for leg in legs if leg]


@dataclass(frozen=True)
class Originate:
    variables: dict[str, str]
    dial: str  # the first leg's endpoint string, e.g. loopback/1380000/lab
    destination: str | None  # None: the argument was missing or `undef` (FreeSWITCH aborts)
    dialplan: str
    context: str
    arg: str  # the command argument as sent (for Job-Command-Arg)
    legs: tuple[str, ...] = ()  # every leg the dial string asks for


def parse_originate(arg: str) -> Originate:
    argv: list[str | None] = list(fs_separate(arg))
    if not 2 <= len(argv) <= 7:
        raise OriginateUsage(arg)
    argv = [None if a is not None and a.lower() == "undef" else a for a in argv]
    first = argv[0] or ""
    variables: dict[str, str] = {}
    if ":_:" not in first:
        first = first.lstrip(" ")
        while first.startswith("<"):
            first = parse_block(first, "<", ">", variables)
        while first.startswith("{"):
            first = parse_block(first, "{", "}", variables)
    legs = tuple(split_legs(first))
    return Originate(
        variables,
        legs[0] if legs else first,
        argv[1],
        (argv[2] if len(argv) > 2 else None) or "XML",
        (argv[3] if len(argv) > 3 else None) or "default",
        arg,
        legs,
    )


def dial_target(dial: str) -> tuple[str, str, str] | None:
    """(kind, number, loopback context) or None for an endpoint FreeSWITCH lacks."""
    parts = dial.split("/")
    if parts[0] == "loopback" and len(parts) >= 2:
        return "loopback", parts[1], parts[2] if len(parts) > 2 else "default"
    if parts[0] in ("sofia", "user", "verto") and len(parts) >= 2:
        return "sofia", parts[-1].split("@", 1)[0], ""
    return None


# -- outcome rules ------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What the far end does. ``template`` names a captured scenario."""

    template: str
    ring_s: float | None = None  # None: as captured; "noanswer" rings until originate_timeout
    talk_s: float | None = None


OUTCOMES: dict[str, Outcome] = {
    "answer": Outcome("answer3", 0.0, 3.0),
    "busy": Outcome("busy"),
    "noanswer": Outcome("noanswer"),
    "unallocated": Outcome("unallocated"),
    "answer_long": Outcome("answer20", 0.0, 20.0),
    "rejected": Outcome("rejected"),
    "earlymedia": Outcome("earlymedia"),
    "ring_answer": Outcome("ring_answer"),
    "stay_up": Outcome("answer20", 0.0, 120.0),
    "answer_short": Outcome("answer1", 0.0, 1.0),
}
DEFAULT_DIGIT_RULES: dict[str, str] = {
    "0": "answer",
    "1": "busy",
    "2": "noanswer",
    "3": "unallocated",
    "4": "answer_long",
    "5": "rejected",
    "6": "earlymedia",
    "7": "ring_answer",
    "8": "stay_up",
    "9": "answer_short",
}
# A non-loopback (SIP) leg uses the sofia captures.
SOFIA_TEMPLATE = {
    "answer3": "answer",
    "answer20": "answer",
    "answer1": "answer",
    "earlymedia": "answer",
    "ring_answer": "answer",
    "busy": "busy",
    "noanswer": "noanswer",
    "unallocated": "unallocated",
    "rejected": "rejected",
}


@dataclass
class Rules:
    """Outcome by last digit, or by weighted choice when ``weights`` is set."""

    digits: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_DIGIT_RULES))
    weights: dict[str, float] | None = None
    talk_s: float | None = None  # override every answered call's talk time
    rng: random.Random = field(default_factory=random.Random)

    def pick(self, number: str) -> Outcome:
        if self.weights:
            names = list(self.weights)
            name = self.rng.choices(names, [self.weights[n] for n in names])[0]
        else:
            name = self.digits.get(number[-1:] if number else "", "answer")
        base = OUTCOMES[name]
        if self.talk_s is not None and base.talk_s is not None:
            return Outcome(base.template, base.ring_s, self.talk_s)
        return base


# -- templates ----------------------------------------------------------------
@dataclass(frozen=True)
class TemplateEvent:
    t_us: int
    leg: str
    name: str
    headers: tuple[tuple[str, tuple[str, ...]], ...]  # value split on P: odd parts are placeholders
    body: tuple[str, ...] | None

    @cached_property
    def formats(self) -> tuple[tuple[str, str | None, bool], ...]:
        """Per header (name, text, filled): a literal, or a ``%(placeholder)s`` format that
        fills in one C-level step; text None stands for the call's variables."""
        out: list[tuple[str, str | None, bool]] = []
        for name, parts in self.headers:
            if name == P + "VARS" + P:
                out.append((name, None, False))
            elif len(parts) == 1:
                out.append((name, parts[0], False))
            else:
                text = "".join(f"%({p})s" if i % 2 else p.replace("%", "%%") for i, p in enumerate(parts))
                out.append((name, text, True))
        return tuple(out)

    @cached_property
    def joined(self) -> tuple[tuple[str, ...], str, int]:
        """(names, format, where the variables go): every header's format joined by NULs,
        filled by one ``%`` and split again. The variables' place is -2 when there are
        several (header by header then)."""
        names: list[str] = []
        texts: list[str] = []
        at = -1
        for name, text, filled in self.formats:
            if text is None:
                at = len(names) if at == -1 else -2
                continue
            names.append(name)
            texts.append(text if filled else text.replace("%", "%%"))
        return tuple(names), "\x00".join(texts), at


class _Values(dict[str, str]):
    """Placeholder values; one the call has none for reads ``0``, as the templates expect."""

    def __missing__(self, key: str) -> str:
        return "0"


@dataclass(frozen=True)
class Template:
    name: str
    events: tuple[TemplateEvent, ...]
    instants: Mapping[str, Mapping[str, int]]
    answered: bool
    ring_us: int  # first ANSWER (answered) or first HANGUP (failed)
    talk_us: int  # first HANGUP - first ANSWER


@lru_cache(maxsize=1)
def load_templates() -> dict[str, dict[str, Template]]:
    data = json.loads(resources.files(__package__).joinpath("templates.json").read_text())
    out: dict[str, dict[str, Template]] = {}
    for kind, table in data.items():
        out[kind] = {}
        for name, spec in table.items():
            events = tuple(
                TemplateEvent(
                    e["t_us"],
                    e["leg"],
                    e["name"],
                    tuple((h[0], tuple(h[1].split(P))) for h in e["headers"]),
                    tuple(e["body"].split(P)) if e["body"] is not None else None,
                )
                for e in spec["events"]
            )
            answers = [e.t_us for e in events if e.name == "CHANNEL_ANSWER"]
            hangups = [e.t_us for e in events if e.name == "CHANNEL_HANGUP"]
            first_hangup = hangups[0] if hangups else events[-1].t_us
            ring = answers[0] if answers else first_hangup
            out[kind][name] = Template(
                name, events, spec["instants"], bool(answers), ring, max(0, first_hangup - ring)
            )
    return out


# -- a call's timeline --------------------------------------------------------
@dataclass
class CallPlan:
    """Times (µs after the originate) of each template event and of each leg's instants."""

    template: Template
    times_us: list[int]
    instants: dict[str, dict[str, int]]
    job_body: str


def plan_call(
    template: Template, outcome: Outcome, timeout_s: float, time_scale: float, a_uuid: str
) -> CallPlan:
    ring_s = outcome.ring_s
    if outcome.template == "noanswer" or ring_s is None and not template.answered and template.ring_us > 5e6:
        ring_s = timeout_s
    ring_new = int((ring_s * 1e6) if ring_s is not None else template.ring_us) * time_scale
    talk_new = int((outcome.talk_s * 1e6) if outcome.talk_s is not None else template.talk_us) * time_scale
    ans_tpl = template.ring_us if template.answered else None
    hang_tpl = template.ring_us + template.talk_us if template.answered else template.ring_us

    def shift(t: int, phase: int) -> int:
        if phase == 0:
            base_tpl, base_new = 0, 0.0
        elif phase == 1:
            base_tpl, base_new = ans_tpl or 0, ring_new
        else:
            base_tpl, base_new = hang_tpl, ring_new + (talk_new if template.answered else 0)
        return int(base_new + max(0, t - base_tpl) * time_scale)

    times: list[int] = []
    phase = 0
    for ev in template.events:
        if ev.name == "CHANNEL_ANSWER" and phase == 0:
            phase = 1
        elif ev.name == "CHANNEL_HANGUP" and phase < 2:
            phase = 2
        times.append(shift(ev.t_us, phase))
    instants: dict[str, dict[str, int]] = {}
    for leg, marks in template.instants.items():
        instants[leg] = {
            name: shift(t, {"answered": 1, "hangup": 2}.get(name, 0)) for name, t in marks.items()
        }
    job = next((e for e in template.events if e.name == "BACKGROUND_JOB"), None)
    parts = job.body if job and job.body else ("+OK ", "A", "\n")
    body = "".join(a_uuid if i % 2 else p for i, p in enumerate(parts))
    return CallPlan(template, times, instants, body)


_DURATIONS = {
    "bill": ("answered", "hangup"),
    "flow_bill": ("answered", "hangup"),
    "progress": ("created", "progress"),
    "progress_media": ("created", "progress_media"),
    "answer": ("created", "answered"),
    "wait": ("created", "answered"),
}


def durations(marks: Mapping[str, int]) -> dict[str, str]:
    """FreeSWITCH's billsec/duration family from a leg's absolute instants (µs)."""
    out: dict[str, str] = {}
    for name, (a, b) in _DURATIONS.items():
        us = marks[b] - marks[a] if marks.get(a) and marks.get(b) else 0
        us = max(us, 0)
        out[name + "sec"] = str(us // 1_000_000)
        out[name + "msec"] = str(us // 1000)
        out[name + "usec"] = str(us)
    total = max(0, marks.get("hangup", 0) - marks.get("created", 0)) if marks.get("hangup") else 0
    out["duration"], out["mduration"], out["uduration"] = str(total // 1_000_000), str(total // 1000), str(total)
    return out


def local_stamp(us: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1e6))


def event_dates(us: int) -> dict[str, str]:
    return {
        "ev_us": str(us),
        "ev_local": local_stamp(us),
        "ev_gmt": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(us / 1e6)),
    }


@dataclass
class CallContext:
    """Per-call values for placeholders."""

    values: dict[str, str]
    variables: Sequence[tuple[str, str]]
    instants: dict[str, dict[str, int]]  # absolute µs per leg
    leg_cache: dict[str, dict[str, str]] = field(default_factory=dict)

    def leg_values(self, leg: str) -> dict[str, str]:
        """The call's values with one leg's instants; render adds each event's own (date,
        sequence) to this same dict, since they are set afresh for every event."""
        cached = self.leg_cache.get(leg)
        if cached is None:
            marks = self.instants.get(leg, {})
            cached = _Values(self.values)
            for name, us in marks.items():
                cached["us:" + name] = str(us)
                cached["s:" + name] = str(us // 1_000_000)
                cached["stamp:" + name] = local_stamp(us)
            cached.update({"d:" + k: v for k, v in durations(marks).items()})
            self.leg_cache[leg] = cached
        return cached


def render(ev: TemplateEvent, ctx: CallContext, now_us: int, seq: int, job_body: str) -> list[tuple[str, str]]:
    """Fill one template event; returns ordered (name, decoded value) pairs."""
    values = ctx.leg_values(ev.leg if ev.leg != "J" else "A")
    values.update(event_dates(now_us))
    values["seq"] = str(seq)
    values["bodylen"] = str(len(job_body.encode()))
    names, joined, at = ev.joined
    if at != -2:
        texts = (joined % values).split("\x00")
        if len(texts) == len(names):  # else a value held a NUL: header by header below
            out = list(zip(names, texts))
            if at >= 0:
                out[at:at] = [("variable_" + k, v) for k, v in ctx.variables]
            return out
    out = []
    for name, text, fill in ev.formats:
        if text is None:
            out.extend(("variable_" + k, v) for k, v in ctx.variables)
        else:
            out.append((name, text % values if fill else text))
    return out


# -- wire encoding ------------------------------------------------------------
def encode_event(headers: Iterable[tuple[str, str]], fmt: str, body: str | None = None) -> bytes:
    """Encode an event frame as FreeSWITCH does for ``event plain|json|xml``."""
    if fmt == "xml":
        # switch_event_xmlize: <event><headers><Name>url-encoded value</Name>…</headers>,
        # then Content-Length and <body> beside <headers> when there is a body.
        lines = ["<event>", "  <headers>"]
        lines += [f"    <{k}>{xml_escape(url_encode(v))}</{k}>" for k, v in headers if k != "Content-Length"]
        lines.append("  </headers>")
        if body:
            lines.append(f"  <Content-Length>{len(body.encode())}</Content-Length>")
            lines.append(f"  <body>{xml_escape(body)}</body>")
        lines.append("</event>")
        payload = "\n".join(lines).encode()
        ctype = "text/event-xml"
    elif fmt == "json":
        pairs = headers if isinstance(headers, list) else list(headers)
        obj: dict[str, Any] = dict(pairs)  # names in the order they first appear …
        if len(obj) != len(pairs):  # … and a repeated name keeps its first value
            obj.update(dict(reversed(pairs)))
        if body is not None:
            obj["_body"] = body
        try:  # byte for byte what json.dumps(separators=(",", ":"), ensure_ascii=False) writes, faster
            payload = orjson.dumps(obj)
        except TypeError:  # a lone surrogate: orjson refuses it, json writes it (and encoding fails as before)
            payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        ctype = "text/event-json"
    else:
        text = "".join(f"{k}: {url_encode(v)}\n" for k, v in headers) + "\n"
        payload = (text + (body or "")).encode()
        ctype = "text/event-plain"
    return b"Content-Length: %d\nContent-Type: %s\n\n" % (len(payload), ctype.encode()) + payload


def reply(text: str, extra: Mapping[str, str] | None = None) -> bytes:
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\n".join(lines) + "\n\n").encode()


def api_response(body: str) -> bytes:
    data = body.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(data) + data


def notice(body: str, ctype: str = "text/disconnect-notice") -> bytes:
    data = body.encode()
    return b"Content-Type: %s\nContent-Length: %d\n\n" % (ctype.encode(), len(data)) + data


DISCONNECT_BYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


# -- mod_callcenter events (templates.json "cc": one captured event per moment) --
def _gmt(us: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(us / 1e6))


def leg_durations(marks: Mapping[str, int]) -> dict[str, str]:
    """:func:`durations`, with FreeSWITCH's wait time: creation to bridge, when bridged."""
    out = durations(marks)
    if marks.get("bridged") and marks.get("created"):
        us = max(0, marks["bridged"] - marks["created"])
        out["waitsec"], out["waitmsec"], out["waitusec"] = str(us // 1_000_000), str(us // 1000), str(us)
    return out


def render_fragment(
    ev: TemplateEvent,
    values: Mapping[str, str | None],
    marks: Mapping[str, Mapping[str, int]],
    variables: Sequence[tuple[str, str]],
    exports: Sequence[tuple[str, str]],
    now_us: int,
    seq: int,
) -> list[tuple[str, str]]:
    """Fill one mod_callcenter-era template event: ``values`` by name (None leaves the
    header out), leg instants ``marks[leg][mark]`` (absolute µs) for ``us:|s:|stamp:|gmt:LEG:mark``
    and ``d:LEG:name`` durations, the originate's variables at VARS and the
    variables cc_export_vars copies onto agent legs at EXPORTS."""
    derived: dict[str, str] = {"ev_us": str(now_us), "ev_local": local_stamp(now_us), "ev_gmt": _gmt(now_us),
                               "seq": str(seq)}
    leg_d: dict[str, dict[str, str]] = {}

    def lookup(name: str) -> str | None:
        if name in derived:
            return derived[name]
        kind, _, rest = name.partition(":")
        if rest:
            leg, _, mark = rest.partition(":")
            if kind == "d":
                if leg not in leg_d:
                    leg_d[leg] = leg_durations(marks.get(leg, {}))
                return leg_d[leg].get(mark, "0")
            if kind in ("us", "s", "stamp", "gmt"):
                us = marks.get(leg, {}).get(mark, 0)
                if not us:
                    return "0"
                return {"us": str(us), "s": str(us // 1_000_000), "stamp": local_stamp(us), "gmt": _gmt(us)}[kind]
        return values.get(name, "0")

    out: list[tuple[str, str]] = []
    for name, parts in ev.headers:
        if name == P + "VARS" + P:
            out.extend(("variable_" + k, v) for k, v in variables)
            continue
        if name == P + "EXPORTS" + P:
            out.extend(("variable_" + k, v) for k, v in exports)
            continue
        if len(parts) == 1:
            out.append((name, parts[0]))
            continue
        text: list[str] = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                text.append(part)
                continue
            got = lookup(part)
            if got is None:
                break
            text.append(got)
        else:
            out.append((name, "".join(text)))
    return out


def encode_event_arrays(headers: Iterable[tuple[str, str]], fmt: str, body: str | None = None) -> bytes:
    """:func:`encode_event` for events that may hold FreeSWITCH arrays (``ARRAY::a|:b``):
    json sends them as JSON arrays, plain and xml as FreeSWITCH serialises them."""
    if fmt != "json":
        return encode_event(headers, fmt, body)
    obj: dict[str, Any] = {}
    for k, v in headers:
        if k not in obj:
            obj[k] = v[7:].split("|:") if v.startswith("ARRAY::") else v
    if body is not None:
        obj["_body"] = body
    payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(payload) + payload
