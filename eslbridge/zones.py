"""A callee's time zone, from the number as it is stored (pure: no I/O, no clock).

The zone comes from `phonenumbers`' time-zone data: a table from E.164
prefixes (country code, then area code where a country has several zones) to
IANA zones. :func:`zone_of` takes a number in any stored form — ``+E.164``, or
national digits of the default region with or without their trunk prefix
(``01012345678`` and ``1012345678`` are both Beijing) — and returns the zone
key the importers store in ``task_number.tz``:

* one IANA name (``Asia/Shanghai``) when the prefix names one zone, or several
  that keep the same clock all year (``+44``: Guernsey, Isle of Man, Jersey and
  London are one key, ``Europe/London``);
* several names joined by a space when the prefix spans zones that differ
  (``+1`` with an unknown area code, Indiana's split counties): the dialer
  counts such a number inside a window only when every zone of the key is
  inside it, which is the safe reading of a calling-hours rule;
* ``""`` when nothing is known (no prefix matches): the task's zone is used.

A country whose prefixes all give one zone (China) is answered from its code
alone; other numbers look up their prefixes from the longest the country has.
About a microsecond a number.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

UNKNOWN = ""
SAMPLE_YEAR = 2025  # zones are compared at noon UTC of every day of one year


@cache
def _country(region: str) -> tuple[str, str]:
    """(country calling code, trunk prefix) of a region; ("", "") for an unknown region."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if meta is None or not meta.country_code:
        return "", ""
    return str(meta.country_code), meta.national_prefix or ""


def _samples() -> tuple[datetime, ...]:
    start = datetime(SAMPLE_YEAR, 1, 1, 12, tzinfo=UTC)
    return tuple(start + timedelta(days=d) for d in range(365))


_SAMPLES = _samples()


@cache
def _offsets(zone: str) -> tuple[timedelta | None, ...]:
    tz = ZoneInfo(zone)
    return tuple(t.astimezone(tz).utcoffset() for t in _SAMPLES)


@cache
def zone_key(zones: tuple[str, ...]) -> str:
    """The stored key of a list of zones: one name per clock (zones keeping the same clock all
    year collapse to the last of them by name), sorted, joined by a space."""
    kept: dict[tuple[timedelta | None, ...], str] = {}
    for zone in sorted(zones):
        try:
            kept[_offsets(zone)] = zone  # a later name of the same clock replaces an earlier one
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone this system's tz database lacks tells nothing
    return " ".join(sorted(kept.values()))


def country(region: str) -> tuple[str, str]:
    """(country calling code, trunk prefix) of a default region, e.g. ("86", "0"); ("", "") if unknown."""
    return _country(region.upper())


def e164(phone: str, region: str) -> str:
    """A stored phone as ``+E.164``: a number of the default region gets its country code (its
    trunk prefix dropped), one with a ``+`` is kept. The claim statement computes the same key
    from ``task_number.phone`` (``take_numbers``): do-not-call entries are stored in it, so an
    entry stops a number whatever form the task's line stores numbers in."""
    if phone.startswith("+"):
        return phone
    digits = e164_digits(phone, region)
    return "+" + digits if digits else phone


def e164_digits(phone: str, region: str) -> str:
    """The country code and national number of a stored phone, digits only ("" if unknown)."""
    if phone.startswith("+"):
        return phone[1:]
    code, trunk = _country(region)
    if not code:
        return ""
    if trunk and phone.startswith(trunk) and len(phone) > len(trunk) + 4:
        phone = phone[len(trunk):]  # the national dialling form keeps the trunk prefix
    return code + phone


@cache
def _countries() -> dict[str, tuple[str | None, int]]:
    """Per country code: its one zone key if every prefix of it gives the same, and its longest prefix."""
    codes = {str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
    prefixes: dict[str, list[str]] = {}
    for prefix in TIMEZONE_DATA:
        code = next((prefix[:n] for n in (1, 2, 3) if prefix[:n] in codes), None)
        if code is not None:
            prefixes.setdefault(code, []).append(prefix)
    out: dict[str, tuple[str | None, int]] = {}
    for code, found in prefixes.items():
        keys = {zone_key(TIMEZONE_DATA[p]) for p in found}
        out[code] = (keys.pop() if len(keys) == 1 else None, max(map(len, found)))
    return out


class Zones:
    """Zone keys of the stored phones of one default region (the importers keep one per import)."""

    MEMO = 100_000  # prefixes remembered (a US import has a few hundred area codes)

    def __init__(self, region: str = "CN") -> None:
        self.region = region.upper()
        known = _countries().get(_country(self.region)[0])
        # The default region's numbers all get this key when its country has one zone (China).
        self.national = known[0] if known is not None else None
        self._memo: dict[str, str] = {}

    def __call__(self, phone: str) -> str:
        """The zone key of ``phone`` (see the module's doc); ``""`` when unknown."""
        if self.national is not None and not phone.startswith("+"):
            return self.national
        digits = e164_digits(phone, self.region)
        head = digits[:TIMEZONE_LONGEST_PREFIX]
        key = self._memo.get(head)
        if key is None:
            key = _lookup(digits)
            if len(self._memo) >= self.MEMO:
                self._memo.clear()
            self._memo[head] = key
        return key


def _lookup(digits: str) -> str:
    countries = _countries()
    for n in (1, 2, 3):  # country calling codes are prefix-free
        known = countries.get(digits[:n])
        if known is not None:
            break
    else:
        return UNKNOWN
    only, longest = known
    if only is not None:
        return only
    for length in range(min(longest, TIMEZONE_LONGEST_PREFIX, len(digits)), n - 1, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones is not None:
            return zone_key(zones)
    return UNKNOWN


def zone_of(phone: str, region: str = "CN") -> str:
    """The zone key of one stored phone (``Zones(region)(phone)``)."""
    return Zones(region)(phone)


def zones_in(key: str) -> tuple[str, ...]:
    """The IANA names of a stored key (empty for an unknown zone)."""
    return tuple(key.split()) if key else ()
