"""Places from phonenumbers' own geocoding data, read once through a child process."""

from __future__ import annotations

import pytest

from eslbridge.places import Places, load_cn_places


@pytest.fixture(scope="module")
def places() -> Places:
    return Places("CN", load_cn_places())


@pytest.mark.parametrize(
    ("number", "where"),
    [
        ("075588888888", "Guangdong/Shenzhen"),  # a landline: its area code
        ("+8675588888888", "Guangdong/Shenzhen"),
        ("02088888888", "Guangdong/Guangzhou"),
        ("01012345678", "Beijing/Beijing"),
        ("18611228822", "Beijing/Beijing"),  # the seed's mobile: its segment
        ("057112345678", "Zhejiang/Hangzhou"),
        ("+442079460958", "area 4420"),  # elsewhere: the area code only
        ("95588", ""),  # a service number: nowhere
    ],
)
def test_numbers_are_placed_by_their_prefix(places, number, where):
    assert places.describe(places.place(number)) == where


def test_a_callee_is_placed_by_a_table_lookup_cached_by_prefix(places):
    digits = places.digits("13912345678")
    first = places.cn_place(digits)
    assert first >= 0 and places.cn_place(places.digits("13912340000")) == first  # same segment 1391234
    assert places.table is not None
    _, province = places.table.names[first]
    assert places.table.province_names[province] == places.describe(places.place("13912345678")).split("/")[0]
    assert places.cn_place(places.digits("+12125550000")) == -1


def test_the_pick_benchmark_reports_its_keys():
    from eslbridge.bench.caller_ids import bench_pick, group

    figures = bench_pick(size=200, calls=2_000, passes=1)
    assert set(figures) == {"caller_id_pick_us", "caller_id_turn_us"} and all(v > 0 for v in figures.values())
    import random

    ids = group(random.Random(3), Places("CN", load_cn_places()), 1000)
    assert len(ids.numbers) == 1000 and ids.room() is None
    assert ids.fit("075512345679") is not None and ids.cn  # Chinese cities and provinces among its buckets
    assert sum(1 for g in ids.numbers if g.place.cities) > 500
