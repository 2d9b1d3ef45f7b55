"""The dialer loop: for every running task, claim what may start now and originate it.

Claims are committed before any originate is sent: a crash after the commit
leaves attempts that reconciliation finds missing on FreeSWITCH and ends as
LOST; a crash before it leaves nothing. An originate that cannot be sent
(link down, refused) is undone: not an attempt.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import gevent
import gevent.event
import gevent.pool

from ..callcenter.desk import Allowance, CallDesk
from ..esl.link import NodeLink
from ..esl.originate import (
    DEFAULT_POLICY,
    PHONE_RE,
    OriginateError,
    VariablePolicy,
    check_caller_id,
)
from ..places import Places, load_cn_places
from ..plan import TaskPlan, plan_task
from ..store import claims, nodes, number_groups, plans
from ..store.db import Database
from ..store.rows import Row
from ..uuids import random_uuids
from . import hours
from .caller_ids import CallerIds, GroupNumber
from .policy import Limits, TokenBucket, claim_floor, free_slots

log = logging.getLogger(__name__)
TASK_REFRESH_S = 1.0
# A claim's transaction costs about as much CPU for one number as for fifty (~1.5 ms). A task
# whose calls per second, not its slots, bound its last claim claims again only when its
# buckets hold CLAIM_QUANTUM_S of calls (or as many as the slots it had left): claiming each
# call as its token came cost a millisecond of CPU per call at a few hundred calls a second.
# The bursts stay within the buckets' tenth of a second.
CLAIM_QUANTUM_S = 0.05
PICK_ROUNDS = 3  # picks again for calls whose caller id another engine took to its cap meanwhile


def _ignore(seconds: float) -> None:
    """The claim timer when no metrics are kept."""


class Dialer:
    def __init__(self, db: Database, links: dict[str, NodeLink], engine_id: str, *, tick_s: float = 0.05,
                 batch: int = 200, policy: VariablePolicy = DEFAULT_POLICY, desk: CallDesk | None = None,
                 safe_harbor: str = "silence_stream://1000", abandon_after_s: float = 2.0,
                 phone_region: str = "CN", on_blocked: Callable[[Sequence[str]], None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.links = links
        self.engine_id = engine_id
        self.tick_s = tick_s
        self.batch = batch
        self.policy = policy
        self.buckets = {name: TokenBucket(link.node.calls_per_second) for name, link in links.items()}
        self.line_buckets: dict[Any, TokenBucket] = {}
        self.task_buckets: dict[Any, TokenBucket] = {}
        self.engines = 1  # live engines sharing every node's and line's calls per second
        self.wake = gevent.event.Event()
        # Slots are freed by calls ending (the recorder's commits) and by originates undone. A
        # task whose claim took its last free slots is not claimed for again (a transaction that
        # could only find them full) until one of those happens, or the task list is next read
        # (a task's or line's limit may have been raised, or another engine's calls on a shared
        # line may have ended).
        self.freed = 0  # bumped whenever a slot may have come free
        self.full: dict[str, int] = {}  # task → ``freed`` as it was when its slots were found full
        # Task → the least worth claiming: set when calls per second bound its last claim (the
        # quantum's tokens, at most the slots that claim left free), dropped when slots did.
        self.least: dict[str, int] = {}
        # Tasks whose last claim found fewer numbers to call than it asked for: nothing is due
        # until the task list is next read (numbers imported, retries come due, zones open).
        # Claiming for them every tick cost a transaction each (~1.5 ms of CPU), twenty times a
        # second per finished task.
        self.dry: set[str] = set()
        self.tasks: list[TaskPlan] = []
        self.tasks_at = 0.0
        self.paused: frozenset[str] = frozenset()  # nodes drained by an operator: no new calls there
        self.stopping = False
        self.originated = 0
        self.sent: dict[str, int] = {}  # node → originates FreeSWITCH accepted (counted per batch)
        self.refused: dict[str, int] = {}  # node → originates not sent or refused by the reply
        self.observe_claim: Callable[[float], None] = _ignore  # seconds of each claim transaction
        self.ticks = 0
        self.desk = desk  # agents and pacing of agent tasks (None: no agent task is dialled)
        self.safe_harbor = safe_harbor  # what an abandoned call hears
        self.abandon_after_s = abandon_after_s
        self.allowances: dict[str, Allowance] = {}  # agent task → what the desk allowed at its last tick
        self.settling = gevent.pool.Group()  # batches sent whose replies are awaited
        self.places = Places(phone_region)  # where callees and caller ids are (the CN table once needed)
        self.caller_ids: dict[tuple[int, str], CallerIds] = {}  # (number group, line prefix) → its numbers
        self._bad_caller_ids: set[tuple[int, str]] = set()  # caller ids refused by the originate checks (logged once)
        self._exhausted: set[str] = set()  # tasks whose group has no caller id left today (logged once)
        self._no_table = False  # the places table could not be loaded
        self.phone_region = phone_region  # the region of numbers stored without a '+' (do-not-call keys)
        self.zones: dict[str, list[str]] = {}  # task → the zone keys of its numbers to call (pending, due)
        # Claims refused by a do-not-call list, committed (their call uuids): ended as blocked by
        # the recorder, with their notification. Unset, they end when reconciliation finds them.
        self.on_blocked = on_blocked
        self.clock = clock or (lambda: datetime.now(UTC))  # the wall clock calling hours are read on

    def run(self) -> None:
        while not self.stopping:
            try:
                started = self.tick()
            except Exception as exc:
                log.error("dialer tick failed: %s", exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200])
                gevent.sleep(0.5)
                continue
            if not started:
                self.wake.wait(self.tick_s)
                self.wake.clear()
        # Sent batches still settle: a refused originate is undone, not left to reconciliation.
        self.settling.join(timeout=10)

    def tick(self) -> int:
        self.ticks += 1
        now_mono = time.monotonic()
        if now_mono - self.tasks_at > TASK_REFRESH_S:
            with self.db.connection() as conn:
                rows = plans.running_tasks(conn)
                self.share(claims.live_engines(conn))
                self.tasks, changed = self.plan(rows)
                self.full.clear()
                self.least.clear()
                self.dry.clear()
                plans.set_plan_errors(conn, changed)
                self.paused = nodes.paused(conn)
                self.load_caller_ids(conn)
                # Which zones each task's numbers are in (one index probe per task and zone): claims
                # walk the pending index zone by zone.
                self.zones = claims.task_zones(conn, [p.task_id for p in self.tasks])
            self.tasks_at = now_mono
        now = self.clock()
        started = 0
        for plan in self.tasks:
            if self.stopping:
                break
            link = self.links.get(plan.node)
            if link is None or not link.is_up or plan.node in self.paused or \
                    hours.why_not(plan.schedule, plan.hours, now) is not None:
                continue
            zones = None
            known = self.zones.get(plan.task_id, [])
            if plan.hours.by_zone:
                # Only numbers whose own clock is inside the hours now; none at all if no zone is.
                zones = hours.open_zones(plan.schedule, plan.hours, known, now)
                if not zones:
                    continue
            started += self.dial_task(plan, link, zones, wall=now, known=known)
        return started

    def plan(self, rows: list[dict[str, Any]]) -> tuple[list[TaskPlan], dict[str, str | None]]:
        """Plans of the tasks that can be dialled, and the tasks whose ``plan_error`` changed.

        A task that cannot be dialled claims nothing: the API and ``apply``
        refuse such settings, but rows written by other systems may hold them,
        and one tenant's row must never stop the others' calls.
        """
        ok: list[TaskPlan] = []
        changed: dict[str, str | None] = {}
        for row in rows:
            key = str(row["uuid"])
            error: str | None = None
            try:
                ok.append(plan_task(row, self.policy, self.engine_id, self.safe_harbor, self.abandon_after_s))
            except OriginateError as exc:
                error = str(exc)
            except Exception as exc:
                error = f"task: cannot be read ({exc.__class__.__name__})"
            if error != row.get("plan_error"):
                changed[key] = error
                if error is not None:
                    log.error("task %s cannot be dialled: %s", key, error, extra={"task": key})
        return ok, changed

    def load_caller_ids(self, conn: Any) -> None:
        """The numbers of the groups the running tasks show, with today's counts (every engine's).

        A group's index is kept while its numbers stay the same (its turns and
        heaps go on) and only given the new counts. The first task that fits
        caller ids to callees loads the Chinese places table (a child process,
        0.5–2 s, once per process): the dialer waits for it.
        """
        wanted = {(p.caller_ids.group_id, p.caller_ids.prefix) for p in self.tasks if p.caller_ids is not None}
        if not wanted:
            self.caller_ids = {}
            return
        if (self.places.table is None and not self._no_table
                and any(p.caller_ids.fit for p in self.tasks if p.caller_ids is not None)):
            try:
                self.places = Places(self.places.home, load_cn_places())
                self.caller_ids = {}  # their places had no cities
            except Exception as exc:  # picks go on by area code and use; never retried
                self._no_table = True
                log.error("places table not loaded, caller ids fit callees by area code only: %s",
                          exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__)
        found = number_groups.group_numbers(conn, sorted({g for g, _ in wanted}))
        fresh: dict[tuple[int, str], CallerIds] = {}
        for key in wanted:
            group, prefix = key
            rows = found.get(group, [])
            numbers = [n for n in (self._group_number(group, prefix, r) for r in rows) if n is not None]
            used = {r["caller_id"]: int(r["used_today"]) for r in rows}
            day: date = rows[0]["day"] if rows else date.today()
            index = self.caller_ids.get(key)
            if index is not None and index.same_numbers(numbers):
                index.refresh(used, day)
            else:
                index = CallerIds(numbers, used, day, self.places)
            fresh[key] = index
        self.caller_ids = fresh

    def _group_number(self, group: int, prefix: str, row: Row) -> GroupNumber | None:
        """A group's number as the originate shows it (the line's prefix first), if it passes the
        originate's caller-id check; else it is left out (the store's check keeps the number
        alone sound, not a prefix before it)."""
        shown = f"{prefix}{row['caller_id']}"
        try:
            check_caller_id(shown, "number_group_number.caller_id")
        except OriginateError as exc:
            if (group, shown) not in self._bad_caller_ids:
                self._bad_caller_ids.add((group, shown))
                log.error("number group %s: caller id left out: %s", group, exc)
            return None
        return GroupNumber(row["caller_id"], shown, row["daily_cap"], self.places.place(row["caller_id"]))

    def share(self, engines: int) -> None:
        """Split calls per second between the live engines.

        FreeSWITCH's sessions-per-second limit, and a trunk's, hold per node
        and per line whatever the number of dialers: each of n engines paces
        itself at 1/n of them.
        """
        self.engines = max(1, engines)
        for name, link in self.links.items():
            self.buckets[name].rate = link.node.calls_per_second / self.engines

    def _cap(self, buckets: dict[Any, TokenBucket], key: Any, cps: float | None) -> TokenBucket | None:
        """The calls-per-second bucket of a line or a task with a cap (this engine's share of it)."""
        if not cps:
            return None
        rate = cps / self.engines
        bucket = buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = buckets[key] = TokenBucket(rate)
        return bucket

    def dial_task(self, plan: TaskPlan, link: NodeLink, zones: Sequence[str] | None = None,
                  wall: datetime | None = None, known: Sequence[str] | None = None) -> int:
        """Claim and originate what ``plan`` may start now on ``link``; ``zones``: only numbers of
        these zone keys (None: any); ``known``: the zone keys of its pending numbers (None: read
        them). Returns how many originates were sent (or are being sent)."""
        freed = self.freed  # read before the counts: a slot freed during the claim is not missed
        if self.full.get(plan.task_id) == freed or plan.task_id in self.dry:
            return 0
        now = time.monotonic()
        # The node's rate, then the line's and the task's own caps, if they have them: what one
        # bucket grants and the next refuses goes back to the ones before it.
        taken = [self.buckets[link.name]]
        tokens = taken[0].take(self.batch, now)
        for cap in (self._cap(self.line_buckets, plan.line_id, plan.line_cps),
                    self._cap(self.task_buckets, plan.task_id, plan.task_cps)):
            if cap is not None and tokens > 0:
                allowed = cap.take(tokens, now)
                for b in taken:
                    b.give_back(tokens - allowed)
                taken.append(cap)
                tokens = allowed
        if tokens < self.least.get(plan.task_id, 1):
            for b in taken:
                b.give_back(tokens)
            return 0
        paced = tokens  # what the buckets granted
        caller_ids = None
        if plan.caller_ids is not None:
            # No more calls than the group's caller ids have left today (before an agent
            # task's pacing is told how many go out).
            caller_ids = self.caller_ids.get((plan.caller_ids.group_id, plan.caller_ids.prefix))
            room = caller_ids.room() if caller_ids is not None else 0
            if caller_ids is None or self._note_exhausted(plan, room == 0):
                for b in taken:
                    b.give_back(tokens)
                return 0
            if room is not None and room < tokens:
                for b in taken:
                    b.give_back(tokens - room)
                tokens = room
        if plan.agents is not None:
            allowed = self._agents_allow(plan, tokens, now)
            for b in taken:
                b.give_back(tokens - allowed)
            tokens = allowed
            if tokens == 0:
                return 0
        render = plan.originate.render
        batch: list[tuple[str, str]] = []
        blocked: list[str] = []
        listed: list[str] = []
        clock = wall or self.clock()
        local: dict[str, tuple[str, str]] = {}  # zone key → what the record keeps of the callee's clock
        shared = claims.AttemptBatch(plan.task_id, plan.line_id, link.name, self.engine_id, plan.user_id)
        # Pipelined: BEGIN, the line lock and the counts share a round trip; the insert goes with COMMIT.
        claim_started = time.perf_counter()
        with self.db.connection() as conn, conn.pipeline(), conn.transaction():
            line_max, line_busy, task_busy = claims.lock_line_and_count(conn, plan.line_id, plan.task_id, plan.call_pause_second)
            free = free_slots(Limits(plan.maximumcall, task_busy, line_max, line_busy))
            n = min(tokens, free)
            claimed = claims.claim_numbers(conn, plan.task_id, n, plan.random_order, plan.user_id, zones, plan.caps,
                                           pending_zones=known, region=self.phone_region)
            # Over a contact cap: its next attempt moved, nothing is dialled. On a do-not-call
            # list: an attempt is recorded, never originated.
            if len(claimed) < n:
                self.dry.add(plan.task_id)
            rows = [r for r in claimed if not r.waits]
            attempts = []

            def attempt(row: claims.Claimed, call_uuid: str, shown: str | None) -> None:
                zone = local.get(row.tz)
                if zone is None:
                    zone = local[row.tz] = hours.recorded(row.tz, plan.hours, plan.schedule, clock)
                attempts.append((row.id, row.attempts, call_uuid, row.phone, shown, row.dnc_list_id, *zone))

            names = iter(random_uuids(len(rows)))  # each claimed row's call uuid
            if caller_ids is None:
                cid = plan.caller_id  # the same on every call, in the template
                for row in rows:
                    call_uuid = next(names)
                    attempt(row, call_uuid, cid)
                    if row.dnc_list_id is not None:
                        listed.append(call_uuid)
                    elif PHONE_RE.fullmatch(row.phone):
                        batch.append((render(call_uuid, row.id, row.phone), call_uuid))
                    else:  # a row older than the phone column's check (migration 006)
                        blocked.append(call_uuid)
            else:
                dialable = [r.dnc_list_id is None and PHONE_RE.fullmatch(r.phone) is not None for r in rows]
                released = []
                for row, ok, g in zip(rows, dialable, self._pick(conn, plan, caller_ids, rows, dialable), strict=True):
                    if ok and g is None:  # no caller id of the group was left: not an attempt
                        released.append(row.id)
                        continue
                    call_uuid = next(names)
                    attempt(row, call_uuid, g.shown if g is not None else None)
                    if row.dnc_list_id is not None:
                        listed.append(call_uuid)
                    elif g is not None:
                        batch.append((render(call_uuid, row.id, row.phone, g.shown), call_uuid))
                    else:
                        blocked.append(call_uuid)
                claims.release(conn, released)
            claims.insert_attempts(conn, shared, attempts)
        self.observe_claim(time.perf_counter() - claim_started)
        # Only the buckets' grant counts: a caller-id group's room or an agent task's pacing
        # (which runs every tick) is not a rate to wait for.
        floor = 1 if paced != tokens or plan.agents is not None else \
            claim_floor(tokens, free, self.batch, min(b.rate for b in taken), CLAIM_QUANTUM_S)
        if floor > 1:
            self.least[plan.task_id] = floor
        else:
            self.least.pop(plan.task_id, None)
        if batch and len(batch) >= free and plan.agents is None and not plan.call_pause_second:
            # This claim took the last free slots. (Slots found full at once are other engines':
            # ticks go on looking for them, as those engines' calls end unseen by this one. A
            # pause frees the task's slots with time; an agent task's pacing runs every tick.)
            self.full[plan.task_id] = freed
        for b in taken:
            b.give_back(tokens - len(batch))  # what was not originated: waits, do-not-call, released, bad phones
        if listed and self.on_blocked is not None:
            self.on_blocked(listed)
        if plan.agents is None:
            # Sent, and its replies awaited, beside the loop, which goes on claiming: waiting
            # here idled the dialer for a round trip per batch. The claimed attempts count
            # against every limit until a refusal undoes them. Greenlets start in spawn
            # order, so batches reach FreeSWITCH in the order they were claimed.
            self.settling.spawn(self._send_beside, plan, link, batch, blocked)
            return len(batch)
        # An agent task's pacing needs to know what went out before its next tick.
        return self._send(plan, link, batch, blocked)

    def _pick(self, conn: Any, plan: TaskPlan, caller_ids: CallerIds, rows: Sequence[claims.Claimed],
              dialable: Sequence[bool]) -> list[GroupNumber | None]:
        """The group's number each dialable claimed row shows (None: none was left today, or
        the row is not dialled).

        The picks are added to the day's counters in the claim transaction; a
        number another engine took to its cap meanwhile is refused there and
        its calls are picked again, up to ``PICK_ROUNDS`` times.
        """
        assert plan.caller_ids is not None
        fit = plan.caller_ids.fit
        chosen: list[int | None] = [None] * len(rows)
        todo = [k for k, ok in enumerate(dialable) if ok]
        for _ in range(PICK_ROUNDS):
            for k in todo:
                chosen[k] = caller_ids.fit(rows[k].phone) if fit else caller_ids.rotate()
            uses = Counter(i for k in todo if (i := chosen[k]) is not None)
            if not uses:
                break
            of = {caller_ids.numbers[i].caller_id: i for i in uses}
            refused = set()
            for r in number_groups.use_caller_ids(conn, plan.caller_ids.group_id,
                                                  {caller_ids.numbers[i].caller_id: n for i, n in uses.items()}):
                i = of[r["caller_id"]]
                caller_ids.settle(i, int(r["calls"]), r["day"], took=bool(r["took"]))
                if not r["took"]:
                    refused.add(i)
            todo = [k for k in todo if chosen[k] in refused]
            for k in todo:
                chosen[k] = None
            if not todo:
                break
        return [None if i is None else caller_ids.numbers[i] for i in chosen]

    def _note_exhausted(self, plan: TaskPlan, exhausted: bool) -> bool:
        """Log once when a task's number group has no caller id left today (and when it has again)."""
        if exhausted and plan.task_id not in self._exhausted:
            self._exhausted.add(plan.task_id)
            assert plan.caller_ids is not None
            log.warning("task %s held: every caller id of number group %s reached its daily cap",
                        plan.task_id, plan.caller_ids.group_id, extra={"task": plan.task_id})
        elif not exhausted and plan.task_id in self._exhausted:
            self._exhausted.discard(plan.task_id)
            log.info("task %s: its number group has caller ids again", plan.task_id, extra={"task": plan.task_id})
        return exhausted

    def _send_beside(self, plan: TaskPlan, link: NodeLink, batch: list[tuple[str, str]], blocked: list[str]) -> None:
        try:
            self._send(plan, link, batch, blocked)
        except Exception as exc:  # the undo failed: reconciliation ends those attempts as LOST
            log.error("originate batch on %s not settled: %s", link.name,
                      exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__)

    def _send(self, plan: TaskPlan, link: NodeLink, batch: list[tuple[str, str]], blocked: list[str]) -> int:
        """Originate ``batch`` and undo what FreeSWITCH did not take; returns how many it took."""
        try:
            errors = link.bgapi_many(batch)
        except Exception as exc:  # not connected
            errors = [exc] * len(batch)  # type: ignore[list-item]
        failed = [call_uuid for (_, call_uuid), err in zip(batch, errors) if err is not None]
        self.originated += len(batch) - len(failed)
        self.sent[link.name] = self.sent.get(link.name, 0) + len(batch) - len(failed)
        if plan.agents is not None and self.desk is not None:
            gone = set(failed)
            self.desk.originated(plan, [u for _, u in batch if u not in gone], time.time())
        if failed:
            self.refused[link.name] = self.refused.get(link.name, 0) + len(failed)
            log.warning("%d originate(s) on %s not sent: %s", len(failed), link.name, next(e for e in errors if e),
                        extra={"node": link.name, "task": plan.task_id})
        if failed or blocked:
            with self.db.transaction() as conn:
                claims.unsend(conn, failed)
                claims.block(conn, blocked, "INVALID_PHONE")
            self.slots_freed()
        return len(batch) - len(failed)

    def slots_freed(self) -> None:
        """Calls ended or originates were undone: slots may be free, claim again now."""
        self.freed += 1
        self.wake.set()

    def _agents_allow(self, plan: TaskPlan, tokens: int, mono: float) -> int:
        """How many of ``tokens`` an agent task may use: what its pacing allows for its agents."""
        if self.desk is None:
            self.allowances[plan.task_id] = Allowance(0, "the engine follows no call centre")
            return 0
        allowance = self.desk.allow(plan, time.time(), mono, max_more=tokens)
        self.allowances[plan.task_id] = allowance
        return allowance.calls
