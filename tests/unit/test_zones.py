"""A callee's time zone from the number as stored (phonenumbers' prefix data)."""

from __future__ import annotations

import pytest

from eslbridge.zones import Zones, zone_key, zone_of, zones_in


@pytest.mark.parametrize(
    ("phone", "region", "zone"),
    [
        ("13800000000", "CN", "Asia/Shanghai"),  # a mobile in the national form
        ("01012345678", "CN", "Asia/Shanghai"),  # a landline with its trunk prefix
        ("1012345678", "CN", "Asia/Shanghai"),  # … and without
        ("+12015550123", "CN", "America/New_York"),  # New Jersey's area code
        ("+13085550123", "CN", "America/Chicago"),  # central Nebraska
        ("2015550123", "US", "America/New_York"),  # the national form of another default region
        ("+8613800000000", "US", "Asia/Shanghai"),
        ("+447700900123", "CN", "Europe/London"),  # Guernsey, Isle of Man, Jersey, London: one clock
        ("+61891234567", "CN", "Australia/Adelaide Australia/Perth"),  # only the country is known: its zones
        ("95588", "CN", "Asia/Shanghai"),  # a short code of the default region
        ("+999123456", "CN", ""),  # no such country code
        ("12345", "ZZ", ""),  # no such default region
    ],
    ids=["cn-mobile", "cn-trunk", "cn-no-trunk", "us-nj", "us-ne", "us-national", "cn-from-us", "uk", "au-country",
         "short-code", "unknown-code", "unknown-region"],
)
def test_zone_of_a_stored_phone(phone, region, zone):
    assert zone_of(phone, region) == zone
    assert Zones(region)(phone) == zone  # the importers' memoised finder agrees


def test_zones_keeping_one_clock_collapse_and_others_stay():
    assert zone_key(("Europe/London", "Europe/Jersey")) == "Europe/London"
    assert zone_key(("America/New_York", "America/Chicago")) == "America/Chicago America/New_York"
    assert zone_key(("America/Phoenix", "America/Denver")) == "America/Denver America/Phoenix"  # Arizona keeps no DST
    assert zones_in("America/Chicago America/New_York") == ("America/Chicago", "America/New_York")
    assert zones_in("") == ()


def test_a_finder_gives_the_same_answer_from_its_memory():
    zones = Zones("CN")
    first = [zones(p) for p in ("+12015550123", "+12015550199", "+13085550123")]
    assert first == [zones(p) for p in ("+12015550123", "+12015550199", "+13085550123")]
    assert first == ["America/New_York", "America/New_York", "America/Chicago"]
