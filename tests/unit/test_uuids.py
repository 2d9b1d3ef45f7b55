from __future__ import annotations

import uuid

import pytest

from eslbridge.uuids import random_uuids


@pytest.mark.parametrize("n", [0, 1, 2, 500])
def test_random_uuids_are_canonical_version_4(n):
    got = random_uuids(n)
    assert len(got) == n == len(set(got))
    for text in got:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)


def test_random_uuids_vary_in_every_random_bit():
    """122 random bits each: over many UUIDs every one of them is seen both ways."""
    values = [uuid.UUID(t).int for t in random_uuids(2000)]
    fixed = (0xF << 76) | (0x3 << 62)  # the version nibble and the variant bits
    ones = zeros = 0
    for v in values:
        ones |= v
        zeros |= ~v
    assert (ones & zeros) & ((1 << 128) - 1) == ((1 << 128) - 1) & ~fixed
