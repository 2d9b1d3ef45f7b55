"""Phone normalisation for every import path (API, CLI, apply) with the `phonenumbers` package.

A number is stored in the form its line dials (SPEC §4), chosen by the line's
``number_format``:

* ``national`` (default): a number of the region (``ESLBRIDGE_PHONE_REGION``)
  in its national dialling form, trunk prefix kept (the Beijing landline
  ``010-12345678`` is ``01012345678``, a mobile ``18611228822``); a number of
  another country ``+E.164``. Only valid numbers pass.
* ``e164``: every valid number ``+E.164`` (``+861012345678``), for trunks that
  want it so.
* ``digits``: any 3–20 digits, an optional leading ``+``, taken as given: service
  numbers and short codes (``95588``, ``10086``), extensions (``1001`` for a
  ``user/%s`` dial format), test numbers.

Every format strips the usual separators (space, ``-``, ``.``, parentheses)
and refuses anything else: letters, other punctuation, control characters.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import phonenumbers

NumberFormat = Literal["national", "e164", "digits"]
NUMBER_FORMATS: Final = ("national", "e164", "digits")
DEFAULT_FORMAT: Final = "national"

# Mainland China mobile numbers, by far the most common import: checked by
# pattern instead of a full parse (~40 µs each), which matters at millions.
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_STRIP = str.maketrans("", "", " -().\t\r\n")
# What a number may look like once separators are gone: digits, an optional leading '+'.
_PLAIN = re.compile(r"\+?[0-9]{1,40}")
_DIGITS = re.compile(r"\+?[0-9]{3,20}")
_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
_E164 = phonenumbers.PhoneNumberFormat.E164


class Normaliser:
    """``normalise`` returns the dialable form of a number in the line's format, or None."""

    def __init__(self, region: str = "CN", number_format: str = DEFAULT_FORMAT) -> None:
        if number_format not in NUMBER_FORMATS:
            raise ValueError(f"number_format: must be one of {', '.join(NUMBER_FORMATS)}")
        self.region = region.upper()
        self.number_format = number_format
        self._fast_cn = self.region == "CN" and number_format == "national"

    def for_format(self, number_format: str | None) -> Normaliser:
        """The same region in another line's format (None: the default)."""
        fmt = number_format or DEFAULT_FORMAT
        return self if fmt == self.number_format else Normaliser(self.region, fmt)

    def normalise(self, raw: str | int) -> str | None:
        if isinstance(raw, int):  # a JSON number ({"phone": 18611228822}); never a bool
            if isinstance(raw, bool) or raw < 0:
                return None
            raw = str(raw)
        text = raw.strip()
        if self._fast_cn and _CN_MOBILE.fullmatch(text):  # before translate(): half the cost
            return text
        text = text.translate(_STRIP)
        if not _PLAIN.fullmatch(text):
            return None
        if self.number_format == "digits":
            return text if _DIGITS.fullmatch(text) else None
        if self._fast_cn and _CN_MOBILE.fullmatch(text):
            return text
        try:
            num = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(num):
            return None
        if self.number_format == "national" and phonenumbers.region_code_for_number(num) == self.region:
            # The national dialling form keeps the trunk prefix ("0" in China) where the
            # country's own formatting rules write it (not the US "1"); ~40 µs a number.
            return "".join(ch for ch in phonenumbers.format_number(num, _NATIONAL) if ch.isdigit())
        return phonenumbers.format_number(num, _E164)

    def normalise_all(self, texts: list[str]) -> list[str | None]:
        """:meth:`normalise` of each of ``texts`` (stripped lines; an empty one stays ``""``),
        with the Chinese mobile check inline: a file's import reads a million of them."""
        normalise = self.normalise
        if self._fast_cn:
            mobile = _CN_MOBILE.fullmatch
            return [t if mobile(t) else normalise(t) if t else "" for t in texts]
        return [normalise(t) if t else "" for t in texts]

    def keyword(self, raw: str) -> str | None:
        """A number to look for (``number_reset``'s ``keyword``): the line's form of it when it
        has one, else its digits as given (rows other systems wrote); None if it is no number."""
        found = self.normalise(raw)
        if found is not None:
            return found
        text = raw.strip().translate(_STRIP)
        return text if _DIGITS.fullmatch(text) else None
