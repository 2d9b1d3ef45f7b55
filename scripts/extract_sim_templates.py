"""Turn captured FreeSWITCH call streams into the simulator's call scripts.

Usage: python scripts/extract_sim_templates.py [CAPTURE_DIR] > eslbridge/sim/templates.json

Each outcome's script is the capture's own event sequence (both loopback legs
and the BACKGROUND_JOB), with header names, order and constant values kept
byte for byte, and with the parts that differ per call replaced by
placeholders ``\\x01name\\x01``: uuids, phone, caller id, originate variables,
event times, channel instants and durations. The simulator fills them in.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from eslbridge.esl.protocol import FrameReader, parse_event

SCENARIOS = {
    "loopback": {
        "answer3": "callee0_answer3s_park",
        "busy": "callee1_busy",
        "noanswer": "callee2_noanswer_timeout10",
        "unallocated": "callee3_unallocated",
        "answer20": "callee4_answer20s_park",
        "rejected": "callee5_rejected",
        "earlymedia": "callee6_earlymedia_then_answer",
        "ring_answer": "callee7_ring3s_then_answer",
        "answer1": "callee9_answer1s_park",
    },
    "sofia": {
        "answer": "sofia_sipp_answer_then_remote_bye2s",
        "busy": "sofia_sipp_486_busy",
        "noanswer": "sofia_sipp_ring_forever_timeout10",
        "unallocated": "sofia_sipp_404_not_found",
        "rejected": "sofia_sipp_603_decline",
        "no_user_response": "sofia_sipp_480_temp_unavailable",
        "temporary_failure": "sofia_sipp_503_service_unavailable",
    },
}
INSTANTS = {
    "Caller-Channel-Created-Time": "created",
    "Caller-Channel-Answered-Time": "answered",
    "Caller-Channel-Progress-Time": "progress",
    "Caller-Channel-Progress-Media-Time": "progress_media",
    "Caller-Channel-Hangup-Time": "hangup",
}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DURATION_RE = re.compile(
    r"variable_(flow_bill|bill|progress_media|progress|answer|wait)(sec|msec|usec)$|variable_(u|m)?duration$"
)
P = "\x01"
EPOCH_RE = re.compile(r"variable_(start|profile_start|answer|end|progress|progress_media)_(epoch|uepoch)$")
EPOCH_NAMES = {"start": "created", "profile_start": "created", "answer": "answered", "end": "hangup"}


# Headers every simulated event fills in afresh: the placeholder each one gets.
EVENT_PLACEHOLDERS = {"Event-Date-Timestamp": "ev_us", "Event-Date-Local": "ev_local", "Event-Date-GMT": "ev_gmt",
                      "Event-Sequence": "seq", "Core-UUID": "CORE"}

def originate_of(sent: bytes) -> tuple[str, str, dict[str, str]]:
    line = next(x for x in sent.decode().split("\n") if x.startswith("bgapi originate "))
    arg = line[len("bgapi originate ") :]
    block = arg[arg.index("{") + 1 : arg.index("}")]
    variables = dict(item.split("=", 1) for item in block.split(","))
    dial = arg[arg.index("}") + 1 :].split(" ")[0]
    return arg, dial, variables


def extract(path: Path) -> dict[str, object]:
    raw_recv = (path.parent / (path.name + ".recv.raw")).read_bytes()
    arg, dial, variables = originate_of((path.parent / (path.name + ".sent.raw")).read_bytes())
    a_uuid = variables["origination_uuid"]
    phone = re.search(r"(\d{6,})", dial).group(1)  # type: ignore[union-attr]
    cid = variables["origination_caller_id_number"]
    reader = FrameReader()
    reader.receive_data(raw_recv)
    frames = list(reader)
    job_uuid = next(f.headers["Job-UUID"] for f in frames if "Job-UUID" in f.headers)
    events = [parse_event(f) for f in frames if f.is_event]
    events = [e for e in events if e.name != "HEARTBEAT"]
    # Legs: ours (A), and any other channel uuid seen (the loopback B leg).
    legs: dict[str, str] = {a_uuid: "A"}
    for e in events:
        uid = e.unique_id
        if uid and uid not in legs:
            legs[uid] = "B"
    instants: dict[str, dict[str, int]] = {}
    for e in events:
        if e.unique_id in legs:
            leg = legs[e.unique_id]  # type: ignore[index]
            for header, name in INSTANTS.items():
                value = int(e.headers.get(header, "0") or 0)
                if value:
                    instants.setdefault(leg, {})[name] = value
    t0 = min(e.timestamp_us for e in events)
    context = dial.split("/")[2] if dial.startswith("loopback/") else ""

    def template(value: str, leg: str) -> str:
        value = value.replace(arg, P + "ARG" + P)
        for uid, name in legs.items():
            value = value.replace(uid, P + name + P)
        value = value.replace(job_uuid, P + "J" + P).replace(phone, P + "P" + P).replace(cid, P + "C" + P)
        for other in UUID_RE.findall(value):
            value = value.replace(other, P + "U" + P)  # unrelated uuids: fresh per call
        return value

    out_events = []
    for e in events:
        leg = legs.get(e.unique_id or "", "J") if e.name != "BACKGROUND_JOB" else "J"
        own = instants.get(leg, {})
        headers: list[list[str]] = []
        vars_done = False
        for name, value in list(e.headers.items()) + list(e.repeated):
            if name.startswith("variable_") and name[9:] in variables:
                if not vars_done:
                    headers.append([P + "VARS" + P, ""])
                    vars_done = True
                continue
            if name in EVENT_PLACEHOLDERS:
                value = P + EVENT_PLACEHOLDERS[name] + P
            elif name in INSTANTS:
                value = value if value == "0" else f"{P}us:{INSTANTS[name]}{P}"
            elif (m := EPOCH_RE.match(name)) and value.isdigit():
                kind = "us" if m.group(2) == "uepoch" else "s"
                value = value if value == "0" else f"{P}{kind}:{EPOCH_NAMES.get(m.group(1), m.group(1))}{P}"
            elif name == "Content-Length" and e.name == "BACKGROUND_JOB":
                value = P + "bodylen" + P
            elif DURATION_RE.match(name):
                value = P + "d:" + name[9:] + P
            elif name == "Caller-Context" and context and value == context:
                value = P + "CTX" + P
            elif value.isdigit() and len(value) >= 10 and value != "0":
                num = int(value)
                match = next((k for k, v in own.items() if v == num), None)
                match = match or next((k for k, v in own.items() if v // 1_000_000 == num), None)
                if match is not None:
                    kind = "us" if len(value) > 12 else "s"
                    value = f"{P}{kind}:{match}{P}"
                else:
                    value = template(value, leg)
            elif name.endswith("_stamp") and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value):
                which = name[9:-6].replace("profile_start", "start").replace("start", "created")
                which = {"answer": "answered", "end": "hangup"}.get(which, which)
                value = f"{P}stamp:{which}{P}"
            else:
                value = template(value, leg)
            headers.append([name, value])
        out_events.append(
            {
                "t_us": e.timestamp_us - t0,
                "leg": leg,
                "name": e.name,
                "headers": headers,
                "body": template(e.body, leg) if e.body is not None else None,
            }
        )
    # Keep the capture's delivery order but time-sort for scheduling; the
    # "seq" placeholder is filled in delivery order by the simulator.
    return {
        "source": path.name,
        "dial_kind": "loopback" if dial.startswith("loopback/") else "sofia",
        "instants": {leg: {k: v - t0 for k, v in d.items()} for leg, d in instants.items()},
        "events": out_events,
    }


# -- mod_callcenter ------------------------------------------------------------
# Single events, each named for the moment the simulator sends it; the
# simulator strings them together as mod_callcenter does. (capture, event number
# as numbered in the capture's .summary.txt, the role the event must belong to).
CC_EVENTS: dict[str, tuple[str, int, str]] = {
    "members-count": ("cc_answered_to_agent", 5, "-"),
    "agent-state-change": ("cc_answered_to_agent", 6, "-"),
    "agent-offering": ("cc_answered_to_agent", 7, "-"),
    "agent-status-change": ("cc_agent_no_answer", 23, "-"),
    "bridge-agent-fail": ("cc_agent_no_answer", 9, "-"),
    "agent-max-no-answer": ("cc_agent_no_answer", 22, "-"),
    "agent-status-get": ("cc_agents_api", 3, "-"),
    "agent-state-get": ("cc_agents_api", 4, "-"),
    "agent-contact-change": ("cc_agent_status_changes", 12, "-"),
    "member-queue-start": ("cc_answered_to_agent", 4, "A"),
    "bridge-agent-start": ("cc_answered_to_agent", 13, "PA"),
    "bridge-agent-end": ("cc_answered_to_agent", 25, "PA"),  # the member hung up first
    "bridge-agent-end:agent-first": ("cc_answered_to_agent_agent_hangs_up", 23, "PA"),
    "member-queue-end:terminated-gone": ("cc_answered_to_agent", 26, "A"),
    "member-queue-end:terminated-up": ("cc_answered_to_agent_agent_hangs_up", 24, "A"),
    "member-queue-end:cancel-up": ("cc_abandoned_no_agent", 6, "A"),
    "member-queue-end:cancel-gone": ("cc_abandoned_no_agent_callee_hangs_up_3s", 7, "A"),
    "A:bridge": ("cc_answered_to_agent", 19, "A"),
    "A:unbridge-gone": ("cc_answered_to_agent", 21, "A"),
    "A:unbridge-up": ("cc_answered_to_agent_agent_hangs_up", 21, "A"),
    "A:huc-answered": ("cc_answered_to_agent", 22, "A"),
    "A:huc-after-bridge": ("cc_answered_to_agent_agent_hangs_up", 26, "A"),
    "A:huc-cancel": ("cc_abandoned_no_agent", 8, "A"),
    "A:huc-break-out": ("cc_abandoned_no_agent_callee_hangs_up_3s", 9, "A"),
    "B:huc-self": ("cc_answered_to_agent", 20, "B"),
    "B:huc-peer": ("cc_abandoned_no_agent", 9, "B"),
    "PA:answer": ("cc_answered_to_agent", 8, "PA"),
    "PB:answer": ("cc_answered_to_agent", 9, "PB"),
    "LA:answer": ("cc_answered_to_agent", 10, "LA"),
    "LB:answer": ("cc_answered_to_agent", 11, "LB"),
    "LB:bridge": ("cc_answered_to_agent", 12, "LB"),
    "LB:unbridge": ("cc_answered_to_agent", 15, "LB"),
    "LB:huc": ("cc_answered_to_agent", 16, "LB"),
    "LA:huc": ("cc_answered_to_agent", 17, "LA"),
    "PA:huc-second": ("cc_answered_to_agent", 23, "PA"),
    "PB:huc-second": ("cc_answered_to_agent", 24, "PB"),
    "PB:huc-first": ("cc_answered_to_agent_agent_hangs_up", 20, "PB"),
    "PA:huc-first": ("cc_answered_to_agent_agent_hangs_up", 22, "PA"),
    "LA:huc-failed": ("cc_agent_no_answer", 8, "LA"),
    "LB:huc-failed": ("cc_agent_no_answer", 11, "LB"),
}
CC_MARKS = {
    "Profile-Created-Time": "profile",
    "Channel-Created-Time": "created",
    "Channel-Answered-Time": "answered",
    "Channel-Progress-Time": "progress",
    "Channel-Progress-Media-Time": "progress_media",
    "Channel-Hangup-Time": "hangup",
    "Channel-Transfer-Time": "transfer",
    "Channel-Resurrect-Time": "resurrect",
    "Channel-Bridged-Time": "bridged",
}
CC_EPOCH_RE = re.compile(
    r"variable_(start|profile_start|answer|bridge|end|progress|progress_media|resurrect)_(epoch|uepoch|stamp)$"
)
CC_EPOCH_MARKS = {"start": "created", "profile_start": "profile", "answer": "answered", "bridge": "bridged", "end": "hangup"}
# Whole-second times mod_callcenter writes (CC-*-Time headers, cc_*_epoch variables).
CC_TIMES = {
    "CC-Member-Joined-Time": "e:joined",
    "variable_cc_queue_joined_epoch": "e:joined",
    "CC-Agent-Called-Time": "e:called",
    "CC-Agent-Answered-Time": "e:agent_answered",
    "variable_cc_queue_answered_epoch": "e:bridged",
    "CC-Bridge-Terminated-Time": "e:bridge_end",
    "variable_cc_queue_terminated_epoch": "e:bridge_end",
    "CC-Member-Leaving-Time": "e:leaving",
    "variable_cc_queue_canceled_epoch": "e:leaving",
    "CC-Agent-Aborted-Time": "e:aborted",
}
# Per-event values the simulator supplies.
CC_VALUES = {
    "CC-Count": "COUNT",
    "CC-Agent-State": "STATE",
    "CC-Agent-Status": "STATUS",
    "CC-Cancel-Reason": "REASON",
    "variable_cc_cancel_reason": "REASON",
    "CC-Agent-No-Answer-Count": "NA_COUNT",
    "CC-Agent-No-Answer-Status": "NA_STATUS",
    "CC-Agent-Contact": "CONTACT",
    "CC-Agent-Type": "AGTYPE",
    "variable_cc_agent_type": "AGTYPE",
}
# On the failed agent legs and in bridge-agent-fail: why the agent's originate ended.
CC_FAIL_VALUES = {"Hangup-Cause": "CAUSE", "variable_hangup_cause": "CAUSE", "CC-Hangup-Cause": "CAUSE",
                  "variable_hangup_cause_q850": "CAUSE_Q850"}


def _load_events(path: Path) -> list:
    reader = FrameReader()
    reader.receive_data((path.parent / (path.name + ".recv.raw")).read_bytes())
    return [e for e in (parse_event(f) for f in reader if f.is_event) if e.name != "HEARTBEAT"]


def _value(v: object) -> str:
    # JSON events carry a repeated variable as an array; keep FreeSWITCH's plain form.
    return "ARRAY::" + "|:".join(str(x) for x in v) if isinstance(v, list) else str(v)


def _cc_roles(events: list, a_uuid: str) -> dict[str, str]:
    roles = {a_uuid: "A"} if a_uuid else {}
    for e in events:
        if e.unique_id == a_uuid and e.headers.get("variable_other_loopback_leg_uuid"):
            roles.setdefault(e.headers["variable_other_loopback_leg_uuid"], "B")
    for e in events:
        h = e.headers
        uid = e.unique_id
        if not uid or uid in roles:
            continue
        if h.get("variable_cc_side") == "agent" and h.get("variable_loopback_leg") == "A" and h.get("Caller-Context") != "agent_phone":
            roles[uid] = "LA"
            if h.get("variable_other_loopback_leg_uuid"):
                roles.setdefault(h["variable_other_loopback_leg_uuid"], "LB")
    for e in events:
        if e.headers.get("CC-Action") == "bridge-agent-start":
            roles.setdefault(e.headers["CC-Agent-UUID"], "PA")
    for e in events:
        if roles.get(e.unique_id or "") == "PA" and e.headers.get("variable_other_loopback_leg_uuid"):
            roles.setdefault(e.headers["variable_other_loopback_leg_uuid"], "PB")
    return roles


def extract_cc_event(capture_dir: Path, stem: str, number: int, want_role: str) -> dict[str, object]:
    """One captured mod_callcenter-era event with its per-call values made placeholders."""
    path = capture_dir / stem
    events = _load_events(path)
    sent = (capture_dir / (stem + ".sent.raw")).read_text()
    a_match = re.search(r"origination_uuid=([0-9a-f-]{36})", sent)
    a_uuid = a_match.group(1) if a_match else ""
    roles = _cc_roles(events, a_uuid)
    e = events[number - 1]
    role = roles.get(e.unique_id or "", "-")
    assert role == want_role, (stem, number, role, want_role)
    phone = ""
    if (m := re.search(r"loopback/(\d{6,})/", sent)):
        phone = m.group(1)
    member = next((x.headers.get("CC-Member-UUID") for x in events if x.headers.get("CC-Member-UUID")), "")
    agent_name = next((x.headers.get("CC-Agent") for x in events if x.headers.get("CC-Agent")), "")
    agent_number = ""
    for x in events:
        if roles.get(x.unique_id or "") in ("LA", "PA"):
            agent_number = x.headers.get("Caller-Destination-Number", "")
            break
    export_names = {"cc_export_vars"}
    for x in events:
        if x.headers.get("variable_cc_export_vars"):
            export_names.update(x.headers["variable_cc_export_vars"].split(","))
    originate_vars: set[str] = set()
    if (m := re.search(r"\{([^}]*)\}", sent)):
        originate_vars = {item.split("=", 1)[0] for item in m.group(1).split(",")}
    job = e.headers.get("Job-UUID", "")

    def strings(value: str) -> str:
        for uid, r in roles.items():
            value = value.replace(uid, P + r + P)
        if member:
            value = value.replace(member, P + "M" + P)
        if job:
            value = value.replace(job, P + "J" + P)
        for other in UUID_RE.findall(value):
            value = value.replace(other, P + "U" + P)
        if agent_name:
            value = value.replace(agent_name, P + "AG" + P)
        value = value.replace("sales@default", P + "Q" + P)
        value = value.replace("sales/queue/XML", P + "DEST" + P + "/" + P + "DCTX" + P + "/XML")
        value = value.replace("<callee>", "<" + P + "CTX" + P + ">")
        if phone:
            value = value.replace(phone, P + "P" + P)
        if agent_number:
            value = value.replace(agent_number, P + "AGN" + P)
        return value

    out: list[list[str]] = []
    vars_done = exports_done = False
    for name, raw in list(e.headers.items()) + list(e.repeated):
        value = _value(raw)
        if role in ("A", "B") and name.startswith("variable_") and name[9:] in originate_vars:
            if not vars_done:
                out.append([P + "VARS" + P, ""])
                vars_done = True
            continue
        if role in ("LA", "LB", "PA", "PB") and name.startswith("variable_") and name[9:] in export_names:
            if not exports_done:
                out.append([P + "EXPORTS" + P, ""])
                exports_done = True
            continue
        if name == "variable_cc_export_vars":
            value = P + "DP_EXPORTS" + P  # set by the queue's dialplan, not by the originate
        elif name in EVENT_PLACEHOLDERS:
            value = P + EVENT_PLACEHOLDERS[name] + P
        elif name == "variable_Core-UUID":
            value = P + "CORE" + P
        elif name in CC_TIMES:
            value = P + CC_TIMES[name] + P
        elif name in CC_VALUES:
            value = P + CC_VALUES[name] + P
        elif name in CC_FAIL_VALUES and (role in ("LA", "LB") and stem == "cc_agent_no_answer" or e.headers.get("CC-Action") == "bridge-agent-fail"):
            value = P + CC_FAIL_VALUES[name] + P
        elif name.startswith(("Caller-", "Other-Leg-")) and name.split("-", 1)[1].replace("Leg-", "", 1) in CC_MARKS:
            suffix = name.split("-", 1)[1].replace("Leg-", "", 1)
            leg = role if name.startswith("Caller-") else roles.get(e.headers.get("Other-Leg-Unique-ID", ""), "")
            if value != "0":
                assert leg, (stem, number, name)
                value = f"{P}us:{leg}:{CC_MARKS[suffix]}{P}"
        elif (m := CC_EPOCH_RE.match(name)) and value not in ("0", ""):
            kind = {"epoch": "s", "uepoch": "us", "stamp": "stamp"}[m.group(2)]
            value = f"{P}{kind}:{role}:{CC_EPOCH_MARKS.get(m.group(1), m.group(1))}{P}"
        elif DURATION_RE.match(name):
            value = f"{P}d:{role}:{name[9:]}{P}"
        elif name == "CC-Agent":
            value = P + "AG" + P
        elif name in ("variable_Event-Date-Local", "variable_Event-Date-GMT") and role in ("LA", "LB"):
            value = f"{P}{'stamp' if name.endswith('Local') else 'gmt'}:LA:created{P}"  # the offer's own event
        elif name == "Other-Leg-Context" and value == "queue" and e.headers.get("Other-Leg-Unique-ID") == a_uuid:
            value = P + "DCTX" + P
        elif name == "Other-Leg-Destination-Number" and value == "sales" and e.headers.get("Other-Leg-Unique-ID") == a_uuid:
            value = P + "DEST" + P
        elif name == "Caller-Context" and value == "queue" and role == "A":
            value = P + "DCTX" + P
        elif value == "sales" and (name == "variable_original_destination_number"
                                   or name == "Caller-Destination-Number" and role == "A"):
            value = P + "DEST" + P
        elif value == "callee":
            value = P + "CTX" + P  # the loopback context: it becomes the member's caller id number
        elif value == "0000000000":
            value = P + "C" + P
        elif re.fullmatch(r"\d{10}|\d{16}", value):
            value = f"{P}{_cc_number(events, roles, role, int(value))}{P}"
        else:
            value = strings(value)
            value = re.sub(r"(?<![\d])(\d{10})(?=:)", lambda mm: f"{P}s:{role}:profile{P}", value)
        out.append([name, value])
    return {"source": stem, "events": [{"t_us": 0, "leg": role, "name": e.name, "headers": out, "body": None}],
            "instants": {}}


def _cc_number(events: list, roles: dict[str, str], role: str, value: int) -> str:
    """A time that is not in a known header: the instant of some leg it equals."""
    us = len(str(value)) == 16
    for prefer_own in (True, False):
        for x in events:
            leg = roles.get(x.unique_id or "")
            if leg is None or (prefer_own and leg != role):
                continue
            for suffix, mark in CC_MARKS.items():
                seen = int(x.headers.get("Caller-" + suffix, "0") or 0)
                if seen and (seen == value if us else seen // 1_000_000 == value):
                    return f"{'us' if us else 's'}:{leg}:{mark}"
    raise AssertionError(f"unmatched time {value}")


def extract_cc(capture_dir: Path) -> dict[str, object]:
    return {name: extract_cc_event(capture_dir, stem, n, role) for name, (stem, n, role) in CC_EVENTS.items()}



def main() -> None:
    capture_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/captures")
    result: dict[str, object] = {
        kind: {name: extract(capture_dir / stem) for name, stem in table.items()}
        for kind, table in SCENARIOS.items()
    }
    result["cc"] = extract_cc(capture_dir)
    json.dump(result, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
