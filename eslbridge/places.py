"""Where a phone number is: its city and province (mainland China) and its area code.

A number group's caller id that is local to the callee is more likely to be
answered (seed 001 ``strategyDisplaySwitch``): this module gives the keys the
caller-id pick (:mod:`eslbridge.dialer.caller_ids`) matches on.

* **City and province** of a Chinese number come from its prefix in
  ``phonenumbers``' geocoding data: a landline's area code (``0755`` Shenzhen),
  a mobile's first seven digits (``1861122`` → its city). The data of every
  country is ~100 MB once imported, so it is read once, in a child process
  (:func:`load_cn_places`), flattened into sorted runs of the seven-digit
  national space; every mobile segment's place is then one array entry, and
  a landline's a bisect over a few hundred runs: a callee's place is looked
  up per call (:meth:`Places.callee_place`, ~0.4 µs), its prefix's answer
  precomputed.
* **Area code** (any country) is the country code and the geographic area code
  (``4420`` London, ``1212`` New York, ``86755`` Shenzhen), from a full parse:
  computed once per caller id. A callee is in a caller id's area when its
  E.164 digits start with that key (numbering plans are prefix-free), so a
  callee is never parsed.

Numbers are read in the form the store keeps them (:mod:`eslbridge.phones`):
``+E.164``, or the national form of the home region with its trunk prefix
(``01012345678``), or a mobile (``18611228822``). Numbers too short to be
geographic (short codes, extensions) have no place.

Pure but for :func:`load_cn_places`, which runs the child once per process.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Final

import orjson
import phonenumbers

log = logging.getLogger(__name__)

CN_CODE: Final = "86"
SPAN: Final = 7  # national digits that decide a Chinese number's city (a mobile's segment)
MIN_DIGITS: Final = 8  # E.164 digits below which a number has no place (short codes, extensions)
MIN_NATIONAL: Final = MIN_DIGITS - len(CN_CODE)
CN_PLUS: Final = "+" + CN_CODE
MOBILE_LO, MOBILE_HI = 1_300_000, 2_000_000  # the seven-digit segments of mobiles, 13x-19x


@dataclass(frozen=True, slots=True)
class Place:
    """A number's keys: city ids (an area code may serve several cities), province id, area key."""

    cities: tuple[int, ...] = ()
    province: int = -1
    area: str | None = None


NOWHERE: Final = Place()


@dataclass(frozen=True)
class CnTable:
    """Chinese numbers by their first ``SPAN`` national digits: sorted run starts and place ids.

    Mobiles (most callees) are read straight from ``mobile``, one entry per
    segment (1.4 MB); other numbers by a bisect over the few runs outside it.
    """

    starts: array[int]  # arrays, not lists: one allocation each, nothing left scattered by the load
    places: array[int]  # index into ``names``; -1: no place
    names: list[tuple[tuple[int, ...], int]]  # place → (city ids, province id)
    city_names: list[str]
    province_names: list[str]
    mobile: array[int] = field(init=False, repr=False)  # the place of each segment MOBILE_LO…MOBILE_HI
    rest_starts: list[int] = field(init=False, repr=False)  # the runs outside it
    rest_places: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        starts, places = self.starts, self.places
        mobile = array("h", [-1]) * (MOBILE_HI - MOBILE_LO)
        first = bisect_right(starts, MOBILE_LO) - 1  # the run holding MOBILE_LO
        last = bisect_right(starts, MOBILE_HI) - 1  # the run holding MOBILE_HI
        for k in range(first, last):
            lo, hi = max(starts[k], MOBILE_LO), min(starts[k + 1], MOBILE_HI)
            if places[k] >= 0:
                mobile[lo - MOBILE_LO:hi - MOBILE_LO] = array("h", [places[k]]) * (hi - lo)
        object.__setattr__(self, "mobile", mobile)
        below = bisect_right(starts, MOBILE_LO - 1)
        object.__setattr__(self, "rest_starts", [*starts[:below], MOBILE_LO, MOBILE_HI, *starts[last + 1:]])
        object.__setattr__(self, "rest_places", [*places[:below], -1, places[last], *places[last + 1:]])

    def lookup(self, national: str) -> int:
        """The place id of a Chinese national number (no trunk prefix), -1 if unknown."""
        if len(national) < SPAN:
            national = national.ljust(SPAN, "0")
        x = int(national[:SPAN])
        if MOBILE_LO <= x < MOBILE_HI:
            return self.mobile[x - MOBILE_LO]
        return self.rest_places[bisect_right(self.rest_starts, x) - 1]


def _split(description: str) -> tuple[list[str], str]:
    """``"Shenyang/Tieling, Liaoning"`` → (["Shenyang", "Tieling"], "Liaoning"); ``"Beijing"`` → (["Beijing"], "Beijing")."""
    cities, _, province = description.rpartition(", ")
    if not cities:
        return [description], description
    return [c.strip() for c in cities.split("/") if c.strip()], province


def flatten(prefixes: dict[str, str]) -> CnTable:
    """Runs of the ``SPAN``-digit national space from ``{national prefix: English description}``.

    Prefixes nest (``"10"`` Beijing holds no longer one) or are disjoint; the
    longest wins, as phonenumbers' own lookup does.
    """
    city_ids: dict[str, int] = {}
    province_ids: dict[str, int] = {}
    place_ids: dict[str, int] = {}
    names: list[tuple[tuple[int, ...], int]] = []
    spans = []
    for prefix, description in prefixes.items():
        if not description or len(prefix) > SPAN or not prefix.isdigit():
            continue
        if description not in place_ids:
            cities, province = _split(description)
            p = province_ids.setdefault(province, len(province_ids))
            names.append((tuple(city_ids.setdefault(f"{province}/{c}", len(city_ids)) for c in cities), p))
            place_ids[description] = len(names) - 1
        scale = 10 ** (SPAN - len(prefix))
        lo = int(prefix) * scale
        spans.append((lo, -scale, lo + scale, place_ids[description]))
    spans.sort()  # by start, the widest first: an outer prefix before those it holds
    starts: list[int] = [0]
    places: list[int] = [-1]

    def mark(at: int, place: int) -> None:
        if starts[-1] == at:
            places[-1] = place
            if len(places) > 1 and places[-2] == place:
                starts.pop()
                places.pop()
        elif places[-1] != place:
            starts.append(at)
            places.append(place)

    open_: list[tuple[int, int]] = []  # (end, place) of the prefixes holding the position
    for lo, _, hi, place in spans:
        while open_ and open_[-1][0] <= lo:
            end, _ = open_.pop()
            mark(end, open_[-1][1] if open_ else -1)
        mark(lo, place)
        open_.append((hi, place))
    while open_:
        end, _ = open_.pop()
        mark(end, open_[-1][1] if open_ else -1)
    return CnTable(array("l", starts), array("h", places), names, list(city_ids), list(province_ids))


def build_cn_table() -> CnTable:
    """The table from ``phonenumbers``' geocoding data, in this process (~100 MB while it runs)."""
    from phonenumbers.geodata import GEOCODE_DATA

    return flatten({k[len(CN_CODE):]: v.get("en", "") for k, v in GEOCODE_DATA.items() if k.startswith(CN_CODE)})


def _to_json(t: CnTable) -> bytes:
    return orjson.dumps({"starts": t.starts.tolist(), "places": t.places.tolist(), "names": t.names,
                         "cities": t.city_names, "provinces": t.province_names})


def _from_json(data: bytes) -> CnTable:
    d = orjson.loads(data)
    return CnTable(array("l", d["starts"]), array("h", d["places"]), [(tuple(c), int(p)) for c, p in d["names"]],
                   [str(c) for c in d["cities"]], [str(p) for p in d["provinces"]])


_table: CnTable | None = None
_lock = threading.Lock()
LOAD_TIMEOUT_S: Final = 120


def load_cn_places() -> CnTable:
    """The Chinese places table, built once per process (0.5–2 s).

    Built in a child process (``python -m eslbridge.places``) that imports the
    geocoding data, writes the table as JSON and exits: the ~100 MB it takes
    never enters this process (in it, a quarter stays behind, scattered). Under
    gevent the wait for the child lets other greenlets run. Should the child
    fail, the table is built here.
    """
    global _table
    with _lock:
        if _table is None:
            try:
                out = subprocess.run([sys.executable, "-m", __name__], capture_output=True, check=True,
                                     timeout=LOAD_TIMEOUT_S).stdout
                _table = _from_json(out)
            except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
                log.warning("places table built in this process (its child failed: %s)", exc.__class__.__name__)
                _table = build_cn_table()
        return _table


def cn_places_loaded() -> bool:
    return _table is not None


class Places:
    """Places of numbers stored for ``home`` (the region of national forms, ``ESLBRIDGE_PHONE_REGION``).

    ``table``: the Chinese table (:func:`load_cn_places`); None gives Chinese
    numbers an area code but no city or province.
    """

    def __init__(self, home: str = "CN", table: CnTable | None = None) -> None:
        self.home = home.upper()
        self.table = table
        meta = phonenumbers.PhoneMetadata.metadata_for_region(self.home)
        self.country = str(meta.country_code) if meta is not None else CN_CODE
        self.trunk = (meta.national_prefix or "") if meta is not None else ""
        self.home_cn = self.country == CN_CODE and self.trunk == "0"
        self._of: dict[str, Place] = {}  # caller ids' places, by number

    def digits(self, phone: str) -> str:
        """E.164 digits of a stored number (no '+'): the per-call form, string operations only."""
        if phone[:1] == "+":
            return phone[1:]
        if self.trunk and phone.startswith(self.trunk):
            return self.country + phone[len(self.trunk):]
        return self.country + phone

    def callee_place(self, phone: str) -> int:
        """Chinese place id (-1: none) of a stored number, straight from its national digits:
        the per-call lookup of the dialer's pick (no E.164 digits built, no parse)."""
        table = self.table
        if table is None:
            return -1
        if phone[0] == "+":
            if not phone.startswith(CN_PLUS):
                return -1
            national = phone[len(CN_PLUS):]
        elif self.home_cn:
            national = phone[1:] if phone[0] == "0" else phone  # the trunk prefix, or a mobile
        else:
            return -1
        if len(national) < MIN_NATIONAL:
            return -1
        x = int(national[:SPAN]) if len(national) >= SPAN else int(national.ljust(SPAN, "0"))
        if MOBILE_LO <= x < MOBILE_HI:
            return table.mobile[x - MOBILE_LO]
        return table.rest_places[bisect_right(table.rest_starts, x) - 1]

    def cn_place(self, digits: str) -> int:
        """Place id in the Chinese table of E.164 digits, -1 when none (or no table): the
        table holds every prefix's answer, so this is an index (a mobile) or a short bisect."""
        if self.table is None or len(digits) < MIN_DIGITS or not digits.startswith(CN_CODE):
            return -1
        return self.table.lookup(digits[len(CN_CODE):])

    def place(self, phone: str) -> Place:
        """Every key of one number, with a full parse (~50 µs): for caller ids, cached by number."""
        found = self._of.get(phone)
        if found is not None:
            return found
        digits = self.digits(phone)
        area = None
        cities: tuple[int, ...] = ()
        province = -1
        if len(digits) >= MIN_DIGITS:
            try:
                num = phonenumbers.parse("+" + digits)
            except phonenumbers.NumberParseException:
                num = None
            if num is not None:
                n = phonenumbers.length_of_geographical_area_code(num)
                if n > 0:
                    area = str(num.country_code) + phonenumbers.national_significant_number(num)[:n]
            pid = self.cn_place(digits)
            if pid >= 0 and self.table is not None:
                cities, province = self.table.names[pid]
        found = self._of[phone] = Place(cities, province, area)
        return found

    def describe(self, place: Place) -> str:
        """``"Guangdong/Shenzhen"``, ``"Guangdong"``, ``"area 4420"`` or ``""``: for logs and tests."""
        if self.table is not None and place.cities:
            return self.table.city_names[place.cities[0]]
        if self.table is not None and place.province >= 0:
            return self.table.province_names[place.province]
        return f"area {place.area}" if place.area else ""


if __name__ == "__main__":  # the child of load_cn_places
    sys.stdout.buffer.write(_to_json(build_cn_table()))
