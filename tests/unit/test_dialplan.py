"""dialplan/ matches the simulator: the lab context plays the same outcome per last digit."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from eslbridge.sim.script import DEFAULT_DIGIT_RULES

ROOT = Path(__file__).parents[2]
# What each simulator outcome looks like as dialplan actions.
SIGNATURE = {
    "answer": [("answer", None), ("playback", "silence_stream://3000")],
    "busy": [("hangup", "USER_BUSY")],
    "noanswer": [("ring_ready", None), ("sleep", None)],
    "unallocated": [("hangup", "UNALLOCATED_NUMBER")],
    "answer_long": [("answer", None), ("playback", "silence_stream://20000")],
    "rejected": [("hangup", "CALL_REJECTED")],
    "earlymedia": [("pre_answer", None), ("answer", None)],
    "ring_answer": [("ring_ready", None), ("sleep", "3000"), ("answer", None)],
    "stay_up": [("answer", None), ("playback", "silence_stream://120000")],
    "answer_short": [("answer", None), ("playback", "silence_stream://1000")],
}


def test_lab_context_plays_the_simulator_table():
    tree = ET.parse(ROOT / "dialplan" / "eslbridge.xml")
    lab = next(c for c in tree.getroot().iter("context") if c.get("name") == "lab")
    by_digit = {}
    for ext in lab.iter("extension"):
        cond = ext.find("condition")
        digit = re.fullmatch(r"(\d)\$", cond.get("expression")).group(1)
        by_digit[digit] = [(a.get("application"), a.get("data")) for a in cond.iter("action")]
    assert set(by_digit) == set(DEFAULT_DIGIT_RULES)
    for digit, outcome in DEFAULT_DIGIT_RULES.items():
        actions = by_digit[digit]
        for app, data in SIGNATURE[outcome]:
            assert any(a == app and (data is None or data == d) for a, d in actions), (digit, outcome, actions)


def test_robot_context_has_the_sample_extension():
    tree = ET.parse(ROOT / "dialplan" / "eslbridge.xml")
    robot = next(c for c in tree.getroot().iter("context") if c.get("name") == "robot")
    assert any(c.get("expression") == "^9000$" for c in robot.iter("condition"))
