"""Which of a number group's caller ids a call shows (seed 001 ``outboundNumberGroupId``).

A task that names a number group shows one of the group's numbers on each
call. With the display switch on (``strategyDisplaySwitch``) it is the number
that best fits the callee, in this order:

1. a number of the callee's city,
2. else of the callee's province (both from the numbers' prefixes, mainland
   China: :mod:`eslbridge.places`),
3. else of the callee's area code (any country: the caller id's country and
   area code start the callee's number),
4. else any number of the group;

and within the first of these that has a number left, the one used least
today (ties: the one used longest ago, so equals take turns). With the switch
off the numbers simply take turns. A number with a daily cap is skipped once
it has been used that many times today.

Theory of operation: one :class:`CallerIds` per group (and line prefix) per
engine, built when the group's numbers change and refreshed with the day's
counts at every task-list refresh. "Used today" counts every engine's calls:
the dialer adds its picks to the group's counter rows in the claim
transaction and hands back what the rows say (:meth:`CallerIds.settle`); a
number another engine took to its cap is refused there and picked again. The
fitting picks use one heap per bucket (a city, a province, an area code, the
whole group) of ``(used, turn, number)`` packed in one integer (a heap
operation on ints costs half what it did on tuples); every number has one entry in
each of its buckets, put right lazily when it reaches a top with a count that
has moved since (:meth:`CallerIds._top`). A pick is a table lookup, a few
dict lookups and two or three heap operations (``eslbridge bench``'s
``caller_id_pick_us``: a few µs with 1,000 numbers).

Pure: no I/O, no clock (the day comes with the counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from heapq import heapify, heappop, heapreplace
from typing import Final

from ..places import NOWHERE, Place, Places

ALL: Final = 0  # the bucket holding every number of the group
TURN_BITS: Final = 48  # turns a heap entry can tell apart (2**48 picks)


@dataclass(frozen=True, slots=True)
class GroupNumber:
    """One number of a group as the engine shows it."""

    caller_id: str  # as the group holds it: the key of its daily counter
    shown: str  # what the originate carries: the line's call_number_prefix and the caller id
    cap: int | None = None  # calls a day; None: no cap
    place: Place = NOWHERE


class CallerIds:
    """The caller ids of one number group, and how much each was used ``day``."""

    def __init__(self, numbers: Sequence[GroupNumber], used: Mapping[str, int], day: date, places: Places) -> None:
        self.numbers = tuple(numbers)
        self.places = places
        self.day = day
        n = len(self.numbers)
        self.used = [-1] * n  # none yet: the first refresh sets them
        self._retired = False  # a number left the group since the last refresh
        self.live = [True] * n  # not at its cap
        self.ring: list[int] = []  # live numbers in group order: the turns of the switch-off mode
        self.cursor = 0
        self.turn = n  # tie-break of the heaps: a number's last use
        self.last = list(range(n))
        self.left = 0  # calls the capped live numbers have left today
        self.uncapped = 0  # live numbers without a cap
        self.caps = [g.cap for g in self.numbers]
        # Built at the first fitting pick (a group only rotated never needs them).
        self.heaps: list[list[int]] | None = None
        # A heap entry: used << USED_SHIFT | last turn << ibits | number (the order of the tuple).
        self.ibits = max(1, (len(self.numbers) - 1).bit_length())
        self.ushift = TURN_BITS + self.ibits
        self.city_bucket: dict[int, int] = {}
        self.province_bucket: dict[int, int] = {}
        self.area_bucket: dict[str, int] = {}
        self.area_lengths: tuple[int, ...] = ()  # lengths of the area keys, longest first
        self.cn = False  # some number has a city or province
        self.member: list[tuple[int, ...]] = []  # the buckets of each number
        self.buckets = 1
        self._by_place: dict[int, tuple[int, ...]] = {}  # a callee's place → the buckets it tries
        self.refresh(used, day)

    # -- what the dialer asks ---------------------------------------------------------------
    def room(self) -> int | None:
        """Calls the group can still show today; None: no limit (a number without a cap)."""
        return None if self.uncapped else self.left

    def fit(self, phone: str) -> int | None:
        """The number (index into ``numbers``) that best fits the callee ``phone``, now used once
        more; None when every number is at its cap. On the claim path: kept to a few lookups."""
        if self.heaps is None:
            self._build_heaps()
        i = pid = -1
        if self.cn:
            pid = self.places.callee_place(phone)
            if pid >= 0:
                buckets = self._by_place.get(pid)
                if buckets is None:
                    buckets = self._by_place[pid] = self._place_buckets(pid)
                for b in buckets:
                    i = self._top(b)
                    if i >= 0:
                        break
        # A placed Chinese callee skips the area codes: a Chinese area code is a city's, tried above.
        if i < 0 and pid < 0:
            digits = self.places.digits(phone)
            area = self.area_bucket
            for length in self.area_lengths:
                same_area = area.get(digits[:length])
                if same_area is not None:
                    i = self._top(same_area)
                    if i >= 0:
                        break
        if i < 0:
            i = self._top(ALL)
            if i < 0:
                return None
        self.turn = turn = self.turn + 1
        self.last[i] = turn
        if self.caps[i] is None:  # no cap: nothing else moves
            self.used[i] += 1
        else:
            self._set_used(i, self.used[i] + 1)
        return i

    def rotate(self) -> int | None:
        """The next number in turn, now used once more; None when every number is at its cap."""
        ring = self.ring
        if not ring:
            return None
        pos = self.cursor % len(ring)
        self.cursor = pos + 1
        i = ring[pos]
        self._use(i)
        return i

    def settle(self, i: int, used: int, day: date | None, took: bool = True) -> None:
        """What the group's counter row says of number ``i`` after this claim: every engine's
        calls of it ``day`` (None: the number has left the group). A pick the row refused is
        undone by this; the number then rests until the next refresh."""
        if day is not None and day != self.day:
            self.refresh({}, day)
        cap = self.numbers[i].cap
        if took:
            if used != self.used[i]:
                self._set_used(i, used)
        elif cap is not None and day is not None:
            self._set_used(i, max(used, cap))  # another engine took it to its cap
        else:
            self._retire(i)

    def refresh(self, used: Mapping[str, int], day: date) -> None:
        """The day's counts as the store has them (every engine's), at each task-list refresh.

        Nothing is rebuilt when they are the counts already held (one engine: its
        own picks, settled in its claims)."""
        counts = [int(used.get(g.caller_id, 0)) for g in self.numbers]
        if day == self.day and counts == self.used and not self._retired:
            return
        self.day = day
        self._retired = False
        self.left = 0
        self.uncapped = sum(1 for g in self.numbers if g.cap is None)
        for i, g in enumerate(self.numbers):
            u = self.used[i] = counts[i]
            self.live[i] = g.cap is None or u < g.cap
            if g.cap is not None:
                self.left += max(0, g.cap - u)
        keep = self.ring[self.cursor % len(self.ring)] if self.ring else 0
        self.ring = [i for i in range(len(self.numbers)) if self.live[i]]
        # The turns go on from where they were, not from the first number.
        self.cursor = next((k for k, i in enumerate(self.ring) if i >= keep), 0)
        if self.heaps is not None:
            self._rebuild()

    def same_numbers(self, numbers: Sequence[GroupNumber]) -> bool:
        return self.numbers == tuple(numbers)

    # -- the heaps --------------------------------------------------------------------------
    def _build_heaps(self) -> None:
        """Buckets by city, province and area code of the group's numbers, and their heaps."""
        self.city_bucket, self.province_bucket, self.area_bucket = {}, {}, {}
        count = 1  # ALL is bucket 0
        member: list[tuple[int, ...]] = []
        for g in self.numbers:
            mine = []
            for c in g.place.cities:
                b = self.city_bucket.setdefault(c, count)
                count += b == count
                mine.append(b)
            if g.place.province >= 0:
                b = self.province_bucket.setdefault(g.place.province, count)
                count += b == count
                mine.append(b)
            if g.place.area is not None:
                b = self.area_bucket.setdefault(g.place.area, count)
                count += b == count
                mine.append(b)
            mine.append(ALL)
            member.append(tuple(mine))
        self.member = member
        self.buckets = count
        self.area_lengths = tuple(sorted({len(a) for a in self.area_bucket}, reverse=True))
        self.cn = bool(self.city_bucket or self.province_bucket)
        self._by_place = {}
        self.heaps = []
        self._rebuild()

    def _place_buckets(self, pid: int) -> tuple[int, ...]:
        """The buckets a callee of place ``pid`` tries, best first: its cities', its province's."""
        table = self.places.table
        if table is None:
            return ()
        cities, province = table.names[pid]
        found = [self.city_bucket[c] for c in cities if c in self.city_bucket]
        if province in self.province_bucket:
            found.append(self.province_bucket[province])
        return tuple(found)

    def _rebuild(self) -> None:
        heaps: list[list[int]] = [[] for _ in range(self.buckets)]
        for i, mine in enumerate(self.member):
            if self.live[i]:
                entry = self._entry(i)
                for b in mine:
                    heaps[b].append(entry)
        for h in heaps:
            heapify(h)
        self.heaps = heaps

    def _top(self, b: int) -> int:
        """The least used live number of bucket ``b``, -1 if none.

        Every live number has one entry in each of its buckets, which may be
        stale: its count has moved since (a use through another bucket, another
        engine's calls). A stale entry is put right when it reaches the top, so
        a use costs one heap operation in the bucket that is consulted, not one
        in each of the number's buckets.
        """
        assert self.heaps is not None
        heap = self.heaps[b]
        used, live, last = self.used, self.live, self.last
        ushift, ibits, mask = self.ushift, self.ibits, (1 << self.ibits) - 1
        while heap:
            e = heap[0]
            i = e & mask
            if not live[i]:
                heappop(heap)  # at its cap: back at the next refresh
            elif e >> ushift == used[i]:
                return i
            else:
                heapreplace(heap, (used[i] << ushift) | (last[i] << ibits) | i)
        return -1

    def _entry(self, i: int) -> int:
        return (self.used[i] << self.ushift) | (self.last[i] << self.ibits) | i

    # -- counts -----------------------------------------------------------------------------
    def _use(self, i: int) -> None:
        self.turn += 1
        self.last[i] = self.turn
        self._set_used(i, self.used[i] + 1)

    def _set_used(self, i: int, used: int) -> None:
        cap = self.numbers[i].cap
        was = self.used[i]
        self.used[i] = used
        revived = False
        if cap is not None:
            self.left += max(0, cap - used) - max(0, cap - was)
            live = used < cap
            if live != self.live[i]:
                self.live[i] = live
                self._move_in_ring(i, live)
                revived = live
        # A count that went down (a claim undone) or a number back under its cap: its
        # entries sit too deep in the heaps, or are gone. Rare: the heaps are made again.
        if self.heaps is not None and (used < was or revived):
            self._rebuild()

    def _retire(self, i: int) -> None:
        """Number ``i`` is no longer the group's: out until the next refresh."""
        if not self.live[i]:
            return
        g = self.numbers[i]
        self._retired = True
        if g.cap is None:
            self.uncapped -= 1
        else:
            self.left -= max(0, g.cap - self.used[i])
        self.live[i] = False
        self._move_in_ring(i, False)

    def _move_in_ring(self, i: int, live: bool) -> None:
        ring = self.ring
        if not live:
            k = ring.index(i)
            del ring[k]
            if k < self.cursor:
                self.cursor -= 1
            return
        k = next((k for k, j in enumerate(ring) if j > i), len(ring))  # back in group order
        ring.insert(k, i)
        if k < self.cursor:
            self.cursor += 1
