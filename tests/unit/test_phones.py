"""Phone numbers in the form a line dials them: national with its trunk prefix, +E.164, or plain digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslbridge.esl.originate import PHONE_RE
from eslbridge.phones import Normaliser

CN = Normaliser("CN")
E164 = CN.for_format("e164")
DIGITS = CN.for_format("digits")


@pytest.mark.parametrize(
    ("raw", "national", "e164"),
    [
        ("010-12345678", "01012345678", "+861012345678"),  # SPEC §4: the Beijing landline keeps its 0
        ("0755-8888 8888", "075588888888", "+8675588888888"),
        ("+86 10 1234 5678", "01012345678", "+861012345678"),
        ("0086 10 12345678", "01012345678", "+861012345678"),
        ("1012345678", "01012345678", "+861012345678"),  # the trunk prefix written or not: one number
        ("18611228822", "18611228822", "+8618611228822"),  # seed 000's import
        (18611228822, "18611228822", "+8618611228822"),  # ... sent as a JSON number
        ("186-1122-8811", "18611228811", "+8618611228811"),
        ("+44 20 7946 0958", "+442079460958", "+442079460958"),  # other countries: +E.164
        ("4001100266", "4001100266", "+864001100266"),
    ],
)
def test_national_and_e164_forms(raw: str | int, national: str, e164: str) -> None:
    assert CN.normalise(raw) == national
    assert E164.normalise(raw) == e164


@pytest.mark.parametrize(
    ("region", "raw", "national"),
    [("GB", "020 7946 0958", "02079460958"), ("GB", "+44 20 7946 0958", "02079460958"),
     ("US", "(201) 555-0123", "2015550123"), ("US", "1 201 555 0123", "2015550123")],
    ids=["gb-trunk-0", "gb-from-e164", "us-no-trunk-prefix", "us-1-is-not-kept"],
)
def test_the_national_form_follows_each_countrys_own_rules(region: str, raw: str, national: str) -> None:
    assert Normaliser(region).normalise(raw) == national


@pytest.mark.parametrize("raw", ["95588", "10086", "1001", "12345678901"])
def test_service_numbers_short_codes_extensions_and_the_seeds_example_need_the_digits_format(raw: str) -> None:
    assert CN.normalise(raw) is None and E164.normalise(raw) is None
    assert DIGITS.normalise(raw) == raw


@pytest.mark.parametrize(
    "raw",
    ["12", "1" * 21, "12ab", "1001;x=y", "1001/evil", "1001,1002", "10 01\x00", "95588\n10086x", "+", "", "--",
     "1001@host", "1001|1002", "${x}", "95588#", "*97", True, -1],
    ids=lambda r: repr(r),
)
def test_refused_in_every_format(raw: str | int) -> None:
    for fmt in (CN, E164, DIGITS):
        assert fmt.normalise(raw) is None


def test_digits_keep_the_usual_separators_out_and_an_initial_plus_in() -> None:
    assert DIGITS.normalise("95 588") == "95588"
    assert DIGITS.normalise("(0755) 8888-8888") == "075588888888"
    assert DIGITS.normalise("+8613800138000") == "+8613800138000"


def test_a_keyword_is_the_lines_form_of_the_number_or_its_digits() -> None:
    assert CN.keyword("186 1122 8822") == "18611228822"
    assert CN.keyword("+86 10 1234 5678") == "01012345678"
    assert CN.keyword("12345678901") == "12345678901"  # the seed's example: no national number, still digits
    assert CN.keyword("138") == "138"  # a number, not a part of one: it matches only "138"
    assert CN.keyword("13a") is None and CN.keyword("1") is None


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="number_format"):
        Normaliser("CN", "local")


@given(st.text(max_size=30) | st.integers())
def test_whatever_passes_can_be_put_in_a_dial_string(raw: str | int) -> None:
    for fmt in (CN, E164, DIGITS):
        out = fmt.normalise(raw)
        assert out is None or PHONE_RE.fullmatch(out)


@pytest.mark.parametrize("region", ["CN", "US", "GB"])
def test_normalise_all_is_normalise_of_each(region):
    texts = ["13800000001", "138-0000-0002", "+86 138 0000 0003", "010-1234-5678", "+1 212 555 0123",
             "not a phone", "", "1380000000", "23800000001", "2125550123", "020 7946 0018", "+447700900123"]
    phones = Normaliser(region)
    assert phones.normalise_all(texts) == [phones.normalise(t) if t else "" for t in texts]
