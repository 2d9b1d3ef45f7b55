"""Which caller id of a number group a call shows: the pick order, caps, turns, other engines."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.dialer.caller_ids import CallerIds, GroupNumber
from eslbridge.places import Places, flatten

# A small table in the shape of phonenumbers' Chinese data: area codes, mobile segments, and
# an area code shared by two cities.
TABLE = flatten({
    "10": "Beijing",
    "20": "Guangzhou, Guangdong",
    "755": "Shenzhen, Guangdong",
    "757": "Foshan, Guangdong",
    "24": "Shenyang/Tieling, Liaoning",
    "1861122": "Shenzhen, Guangdong",
    "1390000": "Foshan, Guangdong",
    "1390001": "Hangzhou, Zhejiang",
    "1330000": "Tieling, Liaoning",
})
PLACES = Places("CN", TABLE)
DAY = date(2026, 11, 22)

SHENZHEN = "075588880001"
SHENZHEN_2 = "075588880002"
GUANGZHOU = "02088880001"
BEIJING = "01088880001"
LONDON = "+442079460001"
NEW_YORK = "+12125550001"


def group(*numbers: str | tuple[str, int | None], used: dict[str, int] | None = None, prefix: str = "") -> CallerIds:
    entries = []
    for n in numbers:
        caller_id, cap = n if isinstance(n, tuple) else (n, None)
        entries.append(GroupNumber(caller_id, prefix + caller_id, cap, PLACES.place(caller_id)))
    return CallerIds(entries, used or {}, DAY, PLACES)


def fit(ids: CallerIds, phone: str) -> str | None:
    i = ids.fit(phone)
    return None if i is None else ids.numbers[i].caller_id


def test_the_table_reads_longest_prefixes_and_shared_area_codes():
    assert PLACES.describe(PLACES.place("18611229999")) == "Guangdong/Shenzhen"
    assert PLACES.describe(PLACES.place("075512345678")) == "Guangdong/Shenzhen"
    assert PLACES.describe(PLACES.place("+8675512345678")) == "Guangdong/Shenzhen"
    assert PLACES.place("075512345678").area == "86755" and PLACES.place("18611229999").area is None
    assert [TABLE.city_names[c] for c in PLACES.place("02412345678").cities] == ["Liaoning/Shenyang", "Liaoning/Tieling"]
    assert PLACES.place("+442079460958").area == "4420" and PLACES.place("+442079460958").cities == ()
    assert PLACES.place("95588").area is None and PLACES.place("95588").cities == ()  # a service number


@pytest.mark.parametrize(
    ("callee", "expected"),
    [
        ("18611229999", SHENZHEN),  # a Shenzhen mobile: the Shenzhen landline (same city)
        ("075599990000", SHENZHEN),  # a Shenzhen landline
        ("13900009999", GUANGZHOU),  # a Foshan mobile: no Foshan number; Guangdong's least used
        ("01099990000", BEIJING),  # Beijing
        ("+442079469999", LONDON),  # London: the same area code
        ("+12125559999", NEW_YORK),  # New York
    ],
    ids=["city-mobile", "city-landline", "province", "beijing", "area-london", "area-new-york"],
)
def test_the_best_fit_is_the_city_then_the_province_then_the_area_code(callee, expected):
    # Counts do not beat a better place: the least used (Beijing, New York) is never taken
    # for a callee that has a better one.
    ids = group(GUANGZHOU, SHENZHEN, BEIJING, LONDON, NEW_YORK,
                used={SHENZHEN: 50, GUANGZHOU: 10, BEIJING: 0, LONDON: 9, NEW_YORK: 0})
    assert fit(ids, callee) == expected


def test_no_fit_takes_the_least_used_today():
    ids = group(GUANGZHOU, BEIJING, LONDON, used={GUANGZHOU: 3, BEIJING: 1, LONDON: 2})
    assert fit(ids, "13300009999") == BEIJING  # Tieling: nothing in Liaoning, no area code in the group
    assert fit(ids, "+33140000000") == LONDON  # Paris: Beijing and London at 2, London used longest ago
    assert fit(ids, "+33140000001") == BEIJING
    assert Counter(fit(ids, "+33140000002") for _ in range(6)) == {GUANGZHOU: 2, BEIJING: 2, LONDON: 2}


def test_within_a_city_the_least_used_today_and_equals_take_turns():
    ids = group(SHENZHEN, SHENZHEN_2, GUANGZHOU, used={SHENZHEN: 2})
    assert [fit(ids, "18611229999") for _ in range(5)] == [SHENZHEN_2, SHENZHEN_2, SHENZHEN, SHENZHEN_2, SHENZHEN]
    assert ids.used[:2] == [4, 3]


def test_a_number_at_its_daily_cap_is_skipped_for_the_next_best():
    ids = group((SHENZHEN, 2), (GUANGZHOU, 1), BEIJING)
    picks = [fit(ids, "18611229999") for _ in range(5)]
    assert picks == [SHENZHEN, SHENZHEN, GUANGZHOU, BEIJING, BEIJING]  # city, then province, then any
    assert ids.room() is None  # Beijing has no cap


def test_room_is_what_the_capped_numbers_have_left_and_none_when_all_are_at_their_cap():
    ids = group((SHENZHEN, 2), (GUANGZHOU, 3), used={GUANGZHOU: 1})
    assert ids.room() == 4
    assert [fit(ids, "01099990000") for _ in range(4)] and ids.room() == 0
    assert ids.fit("01099990000") is None and ids.rotate() is None


def test_switched_off_the_numbers_take_turns_skipping_those_at_their_cap():
    ids = group(BEIJING, (GUANGZHOU, 1), SHENZHEN, used={BEIJING: 40})
    turns = [ids.numbers[i].caller_id for i in (ids.rotate() for _ in range(7)) if i is not None]
    assert turns == [BEIJING, GUANGZHOU, SHENZHEN, BEIJING, SHENZHEN, BEIJING, SHENZHEN]


def test_turns_go_on_from_where_they_were_after_a_refresh():
    ids = group(BEIJING, GUANGZHOU, SHENZHEN)
    ids.rotate()
    ids.refresh({BEIJING: 10, GUANGZHOU: 3}, DAY)  # other engines' calls
    assert [ids.numbers[ids.rotate() or 0].caller_id for _ in range(3)] == [GUANGZHOU, SHENZHEN, BEIJING]


def test_another_engines_calls_count_and_a_refused_pick_rests_the_number():
    ids = group((SHENZHEN, 10), GUANGZHOU)
    i = ids.fit("18611229999")
    assert ids.numbers[i].caller_id == SHENZHEN
    ids.settle(i, 10, DAY, took=False)  # the counter row: another engine took it to its cap
    assert ids.used[i] == 10 and fit(ids, "18611229999") == GUANGZHOU
    j = ids.fit("18611229999")
    ids.settle(j, 7, DAY)  # taken; other engines had used it 6 times
    assert ids.used[j] == 7


def test_a_number_that_left_the_group_is_not_picked_until_the_next_refresh():
    ids = group(SHENZHEN, GUANGZHOU)
    i = ids.fit("18611229999")
    ids.settle(i, 0, None, took=False)
    assert {fit(ids, "18611229999") for _ in range(3)} == {GUANGZHOU}
    assert [ids.numbers[ids.rotate() or 0].caller_id for _ in range(2)] == [GUANGZHOU, GUANGZHOU]


def test_a_new_day_starts_every_count_again():
    ids = group((SHENZHEN, 1), (GUANGZHOU, 1), used={SHENZHEN: 1, GUANGZHOU: 1})
    assert ids.room() == 0
    ids.settle(0, 1, DAY + timedelta(days=1))  # the first claim of the next day saw it
    assert ids.day == DAY + timedelta(days=1) and ids.used == [1, 0] and ids.room() == 1
    assert fit(ids, "18611229999") == GUANGZHOU


def test_a_count_undone_puts_the_number_back_in_its_place():
    ids = group(SHENZHEN, SHENZHEN_2, used={SHENZHEN: 5, SHENZHEN_2: 3})
    assert fit(ids, "18611229999") == SHENZHEN_2
    ids.settle(0, 0, DAY)  # the store says 0 (a claim rolled back): now the least used
    assert fit(ids, "18611229999") == SHENZHEN


def test_the_shown_number_carries_the_lines_prefix():
    ids = group(SHENZHEN, prefix="9")
    i = ids.fit("18611229999")
    assert (ids.numbers[i].caller_id, ids.numbers[i].shown) == (SHENZHEN, "9" + SHENZHEN)


@given(st.lists(st.sampled_from([SHENZHEN, SHENZHEN_2, GUANGZHOU, BEIJING, LONDON]), min_size=1, max_size=5, unique=True),
       st.lists(st.sampled_from(["18611229999", "13900009999", "+442079469999", "+12125559999", "13300009999"]),
                max_size=60),
       st.lists(st.one_of(st.none(), st.integers(1, 6)), min_size=5, max_size=5))
def test_picks_never_pass_a_cap_and_always_pick_from_the_best_place_with_room(numbers, callees, caps):
    ids = group(*zip(numbers, caps, strict=False))
    for callee in callees:
        before = list(ids.used)
        i = ids.fit(callee)
        live = [k for k, g in enumerate(ids.numbers) if g.cap is None or before[k] < g.cap]
        if i is None:
            assert not live
            continue
        assert i in live
        # Nothing with room was in a better place, nor less used in the same one.
        rank = _rank(ids, callee)
        assert all(rank(k) > rank(i) or (rank(k) == rank(i) and before[k] >= before[i]) for k in live)
    assert all(g.cap is None or u <= g.cap for g, u in zip(ids.numbers, ids.used, strict=True))


def _rank(ids: CallerIds, callee: str):  # type: ignore[no-untyped-def]
    """0 same city, 1 same province, 2 same area code, 3 elsewhere."""
    there = PLACES.place(callee)
    digits = PLACES.digits(callee)

    def rank(k: int) -> int:
        p = ids.numbers[k].place
        if set(p.cities) & set(there.cities):
            return 0
        if p.province >= 0 and p.province == there.province:
            return 1
        if p.area is not None and digits.startswith(p.area):
            return 2
        return 3

    return rank


@given(st.dictionaries(st.text("0123456789", min_size=1, max_size=7), st.sampled_from(["A", "B, P", "C/D, Q"]),
                       max_size=30),
       st.lists(st.text("0123456789", min_size=7, max_size=11), max_size=30))
def test_the_flattened_table_answers_as_the_longest_matching_prefix(prefixes, numbers):
    table = flatten(prefixes)
    for number in numbers:
        longest = next((prefixes[number[:n]] for n in range(7, 0, -1) if number[:n] in prefixes), None)
        pid = table.lookup(number)
        if longest is None:
            assert pid == -1
        else:
            cities, province = table.names[pid]
            name = [table.city_names[c] for c in cities], table.province_names[province]
            assert name == _expected(longest)


def _expected(description: str) -> tuple[list[str], str]:
    cities, _, province = description.rpartition(", ")
    if not cities:
        return [f"{description}/{description}"], description
    return [f"{province}/{c}" for c in cities.split("/")], province


def test_a_refresh_with_the_counts_already_held_rebuilds_nothing():
    ids = group(SHENZHEN, GUANGZHOU)
    fit(ids, "18611229999")
    heaps = ids.heaps
    ids.refresh({SHENZHEN: 1}, DAY)  # this engine's own pick, as the store has it
    assert ids.heaps is heaps
    ids.refresh({SHENZHEN: 1, GUANGZHOU: 4}, DAY)  # another engine's calls
    assert ids.heaps is not heaps and ids.used == [1, 4]
