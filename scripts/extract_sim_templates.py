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
from eslbridge.esl.protocol import FrameReader, parse_event  # noqa: E402

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
            if name == "Event-Date-Timestamp":
                value = P + "ev_us" + P
            elif name == "Event-Date-Local":
                value = P + "ev_local" + P
            elif name == "Event-Date-GMT":
                value = P + "ev_gmt" + P
            elif name == "Event-Sequence":
                value = P + "seq" + P
            elif name == "Core-UUID":
                value = P + "CORE" + P
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


def main() -> None:
    capture_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/captures")
    result = {
        kind: {name: extract(capture_dir / stem) for name, stem in table.items()}
        for kind, table in SCENARIOS.items()
    }
    json.dump(result, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
