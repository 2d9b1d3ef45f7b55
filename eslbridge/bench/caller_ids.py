"""``caller_id_pick_us``: the dialer's choice of a caller id for one call, with a 1,000-number group.

A micro-benchmark of :class:`eslbridge.dialer.caller_ids.CallerIds` as the
claim path runs it: a group of Chinese landlines and mobiles of many cities,
some with daily caps, and a few foreign numbers; callees that are mobiles of
every segment, landlines and foreign numbers, in the stored form. The places
table is loaded first and not timed. CPU time of this process (``time.process_time``:
what the pick costs the engine, less swayed by other load than the wall clock),
median of several passes.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date

from ..dialer.caller_ids import CallerIds, GroupNumber
from ..places import Places, load_cn_places

AREA_CODES = ("10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371", "411", "431",
              "451", "471", "510", "512", "531", "571", "574", "591", "731", "755", "757", "769", "871", "898")
FOREIGN = ("+4420", "+44161", "+1212", "+1650", "+4930", "+3314", "+8190")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + _digits(rng, 9)


def _landline(rng: random.Random) -> str:
    code = rng.choice(AREA_CODES)
    return "0" + code + _digits(rng, 10 - len(code))


def _foreign(rng: random.Random) -> str:
    return rng.choice(FOREIGN) + _digits(rng, 7)


def group(rng: random.Random, places: Places, size: int = 1000) -> CallerIds:
    numbers: dict[str, GroupNumber] = {}
    while len(numbers) < size:
        kind = rng.random()
        caller_id = _landline(rng) if kind < 0.6 else _mobile(rng) if kind < 0.95 else _foreign(rng)
        cap = rng.choice((None, None, 1_000_000))  # caps that a pass does not reach
        numbers[caller_id] = GroupNumber(caller_id, caller_id, cap, places.place(caller_id))
    ordered = sorted(numbers.values(), key=lambda g: g.caller_id)
    return CallerIds(ordered, {g.caller_id: rng.randrange(50) for g in ordered}, date.today(), places)


def callees(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        kind = rng.random()
        out.append(_mobile(rng) if kind < 0.85 else _landline(rng) if kind < 0.97 else _foreign(rng))
    return out


def bench_pick(size: int = 1000, calls: int = 100_000, passes: int = 5, seed: int = 1) -> dict[str, float]:
    """µs per fitting pick and per turn (switch off), medians of ``passes`` passes over ``calls`` callees."""
    rng = random.Random(seed)
    places = Places("CN", load_cn_places())
    ids = group(rng, places, size)
    phones = callees(rng, calls)
    for phone in phones[:10_000]:  # warm: the heaps, the buckets of each callee place
        ids.fit(phone)
    fit_us, turn_us = [], []
    for _ in range(passes):
        fit = ids.fit
        t0 = time.process_time()
        for phone in phones:
            fit(phone)
        fit_us.append((time.process_time() - t0) * 1e6 / calls)
        rotate = ids.rotate
        t0 = time.process_time()
        for _ in phones:
            rotate()
        turn_us.append((time.process_time() - t0) * 1e6 / calls)
    return {"caller_id_pick_us": round(statistics.median(fit_us), 2),
            "caller_id_turn_us": round(statistics.median(turn_us), 2)}
