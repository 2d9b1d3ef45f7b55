"""Pacing of agent tasks: how many new calls to launch now.

Theory of operation. An agent task dials people for human agents; a call
answered while no agent is free within ``grace_s`` (2 s) is abandoned, and the
task's abandonment (abandoned ÷ answered) must stay at or under its target.
Two strategies answer the one question the dialer asks every tick,
``launch(state) -> int``:

* :class:`Ratio` (``sendNumberStrategy`` 0): calls ringing or waiting for an
  agent stay at or under ``multiply_power`` × ready agents.
* :class:`Predictive` (``sendNumberStrategy`` 1): launches a new call while the
  risk that *this* call, once answered, finds no agent stays at or under a
  threshold ``theta``; a feedback loop moves ``theta`` so that the measured
  abandonment sits just under the target.

The predictive risk of one more call. Count, ``u`` seconds from now::

    A(u) = calls waiting now + answers by u from calls ringing now
           + answers by u from the calls launched earlier in this tick
    S(u) = ready agents + wrap-up ends by u + grace (known exactly)
           + talking agents whose talk ends by u + grace - acw (estimated)

A new call answered at ``t`` finds an agent only if no shortage D(u) = A(u) -
S(u) >= 0 happens at any ``u >= t``: before t it takes nobody's agent, after t
it takes the agent of the next answer in line, which is lost unless an agent
stays spare. Its risk is P(D(u) >= 0 for some u >= t), taken as the largest
P(D(u) >= 0) over the later points, averaged over where ``t`` may fall: six
quantiles of the answer-time distribution learnt from the task's own calls,
weighted by the probability each stands for and denser in the early tail
(an early answer beats the agent it was meant for), plus two late quantiles.

A ringing call of age ``e`` answers by ``e + u`` with the conditional
probability ``p (F(e + u) - F(e)) / (p (1 - F(e)) + (1 - p) N(e))`` where p is
the answer probability (Beta(1, 1) prior, recent calls), F the answer-time CDF
and N the survival of unanswered calls' ring times: an old ringing call is most
likely one that will not answer. A(u) and S(u) are sums of independent
Bernoulli variables; D is taken as normal, with a continuity correction. The
risk grows with every call added, so the largest count whose last call's risk
is <= theta is found by a galloping search.

Why a threshold on the last call's risk rather than on the average: the first
calls of a tick are nearly safe, the last ones are not; bounding the marginal
risk spends the abandonment allowance where it buys the most agent time (a
Lagrangian reading of "maximise occupancy subject to an abandonment rate").

The feedback. The model ignores calls that later ticks will launch, treats
the calls as independent and the normal as exact, so its risk is biased; the
task's measured abandonment fixes that. ``log theta = log theta0 + I + kp *
e_short`` where ``e_short`` is the relative error of a short exponentially
weighted window of answered calls and ``I`` integrates the per-call error
(+ki for a served call, -ki (1 - r) / r for an abandoned one, so that it rests
where the abandonment is r), clamped, and raised only while the launches are
bounded by the risk (not by the line or the fallback: no wind-up). The
effective target r is the target minus a safety margin that shrinks as
answered calls accumulate, and never above the rate at which an hour of this
task's answer volume would break ``hourly_limit`` with odds over HOURLY_ODDS
(abandons counted as Poisson clusters of CLUSTER calls): a 5-agent team's
hour has 70 answers, and 4 abandons make 5 %.

Below ``min_agents`` logged-in agents, or before ``min_answered`` answered
calls, the task dials as :class:`Ratio` (``fallback_ratio``): no model is
trusted without data. Pure: no clock, no I/O; ``now`` (epoch seconds) comes in
with the state.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul, sub
from typing import Protocol

RING_STEP_S = 1.0  # age buckets of ringing calls
TALK_STEP_S = 5.0  # elapsed-talk buckets of busy agents
TALK_BUCKETS = 180  # 15 minutes; longer talks share the last bucket
# Where the new call may answer: answer-time quantiles and the probability each stands
# for (denser in the early tail, where an answer beats the agent it was meant for).
ANSWER_POINTS = ((0.025, 0.05), (0.125, 0.15), (0.3, 0.2), (0.5, 0.2), (0.7, 0.2), (0.9, 0.2))
LATE = (0.975, 1.0)  # later quantiles where a displaced answer may still want an agent
POINTS = len(ANSWER_POINTS)
CLUSTER = 1.5  # abandoned calls per shortage, for the hourly bound (1.0–1.4 measured)
HOURLY_ODDS = 0.005  # accepted odds that an hour breaks the hourly limit
VAR_FLOOR = 1e-6  # keeps the normal approximation finite when nothing is random
SMALL = 8  # up to this many certain agents, the normal is also bounded by a Poisson tail


@dataclass(frozen=True, slots=True)
class PacingState:
    """One task's situation at ``now`` (epoch seconds).

    Agents are those of the task's queue: ready, busy (talking), in wrap-up;
    ``agents_logged_in`` counts the three (not those on break).
    ``busy_ends`` are free-up times the caller knows (wrap-up ends);
    ``busy_since`` the bridge times of agents talking, whose end the core
    estimates; talking agents not listed count as bridged now. ``ring_started``
    are the originate times of ringing calls; ringing calls not listed count as
    launched now (the riskiest age). ``max_more`` is the dialer's own cap.
    """

    now: float
    agents_ready: int
    agents_busy: int = 0
    agents_wrap_up: int = 0
    agents_logged_in: int = 0
    busy_ends: Sequence[float] = ()
    busy_since: Sequence[float] = ()
    calls_ringing: int = 0
    ring_started: Sequence[float] = ()
    calls_waiting: int = 0
    max_more: int = 1_000_000


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """The dial result of one call, reported once, as soon as it is known.

    ``answered`` False: the call failed or was not answered after ``ring_s``.
    ``answered`` True: answered after ``ring_s``; ``abandoned`` if no agent took
    it in time. ``talk_s``/``acw_s`` when already known (a caller reporting at
    the end of the call); otherwise report them later with ``observe_talk``.
    """

    at: float
    answered: bool
    ring_s: float
    abandoned: bool = False
    talk_s: float | None = None
    acw_s: float | None = None


class Pacer(Protocol):
    """What the dialer's call desk asks of a pacing strategy."""

    @property
    def dial_level(self) -> float: ...  # calls in flight it aims at per agent, for reports

    def launch(self, s: PacingState) -> int: ...

    def observe(self, outcome: CallOutcome) -> None: ...

    def observe_talk(self, talk_s: float, acw_s: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Ratio:
    """Calls ringing or waiting ≤ ``multiply_power`` × ready agents."""

    multiply_power: float = 1.0

    def launch(self, s: PacingState) -> int:
        # The epsilon keeps 1.1 × 10 from flooring to 10 through rounding.
        allowed = math.floor(self.multiply_power * max(0, s.agents_ready) + 1e-9)
        return max(0, min(allowed - s.calls_ringing - s.calls_waiting, s.max_more))

    def observe(self, outcome: CallOutcome) -> None:
        """A ratio learns nothing."""

    def observe_talk(self, talk_s: float, acw_s: float | None = None) -> None:
        """Nor from talk times."""

    @property
    def dial_level(self) -> float:
        """Calls in flight it allows per ready agent."""
        return self.multiply_power


def _binomial_tail(n: int, mean: float, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, mean / n): for k >= mean + 1 it bounds the tail of
    every sum of n independent Bernoulli variables with that mean (Hoeffding, 1956)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    q = mean / n
    if q >= 1.0:
        return 1.0
    term = (1.0 - q) ** n
    below = term
    odds = q / (1.0 - q)
    for i in range(k - 1):
        term *= (n - i) / (i + 1) * odds
        below += term
    return max(0.0, 1.0 - below)


def _poisson_tail(mean: float, k: int) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    term = math.exp(-mean)
    below = term
    for i in range(1, k):
        term *= mean / i
        below += term
    return max(0.0, 1.0 - below)


class _Samples:
    """The most recent values of one duration, sorted on demand."""

    def __init__(self, size: int) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []
        self._dirty = False

    def add(self, value: float) -> None:
        self.values.append(value)
        self._dirty = True

    def __len__(self) -> int:
        return len(self.values)

    def sorted(self) -> list[float]:
        if self._dirty:
            self._sorted = sorted(self.values)
            self._dirty = False
        return self._sorted

    def mean(self, default: float) -> float:
        return sum(self.values) / len(self.values) if self.values else default


class Predictive:
    """Launches as many calls as keep abandonment at or under ``target_abandon``.

    Parameters (defaults in brackets): ``target_abandon`` 0.01–0.05;
    ``acw_s`` the task's after-call work [10]; ``grace_s`` how long an answered
    call may wait for an agent [2]; ``min_agents`` [3] and ``min_answered``
    [30] below which it dials as ``Ratio(fallback_ratio)`` [1]; ``window`` the
    calls the estimates remember [1000 results, 500 durations]; ``theta0`` the
    initial risk threshold [0.03]; ``kp``/``ki`` the feedback gains [1.0/0.004];
    ``short_calls`` the short window in answered calls [100]; ``hourly_limit``
    the abandonment no hour may exceed [target + 2 points];
    ``max_lines_per_agent`` the ceiling of calls in flight per logged-in agent
    [10], which bounds the damage of a wrong estimate.

    Can go wrong: estimates come from this task's calls only; after a restart
    it falls back to the ratio until ``min_answered`` answers are seen again
    (feed recent outcomes through ``observe`` to warm it).
    """

    def __init__(
        self,
        target_abandon: float,
        *,
        acw_s: float = 10.0,
        grace_s: float = 2.0,
        min_agents: int = 3,
        min_answered: int = 30,
        fallback_ratio: float = 1.0,
        window: int = 1000,
        theta0: float = 0.03,
        kp: float = 1.0,
        ki: float = 0.004,
        short_calls: int = 100,
        hourly_limit: float | None = None,
        max_lines_per_agent: float = 10.0,
        talk_prior_s: float = 120.0,
        refresh_s: float = 30.0,
    ) -> None:
        if not 0.0 < target_abandon < 1.0:
            raise ValueError(f"target_abandon must be a fraction, got {target_abandon}")
        self.target = target_abandon
        self.acw_s = acw_s
        self.grace_s = grace_s
        self.min_agents = min_agents
        self.min_answered = min_answered
        self.fallback = Ratio(fallback_ratio)
        self.theta0 = theta0
        self.kp = kp
        self.ki = ki
        self.short_calls = short_calls
        self.hourly_limit = target_abandon + 0.02 if hourly_limit is None else hourly_limit
        self.max_lines_per_agent = max_lines_per_agent
        self.talk_prior_s = talk_prior_s
        self.refresh_s = refresh_s
        # Observations.
        self._results: deque[bool] = deque(maxlen=window)  # answered or not
        self._answers = 0  # answered among _results
        self._answer_ring = _Samples(window // 2)
        self._noanswer_ring = _Samples(window // 2)
        self._talk = _Samples(window // 2)
        self._acw = _Samples(window // 5)
        self._answer_times: deque[float] = deque(maxlen=window)
        self.answered = 0
        self.abandoned = 0
        self._short: float | None = None  # EWMA of the abandonment indicator, once predictive
        self._integral = 0.0
        self._new_since_refresh = 0
        # Model, rebuilt by _refresh.
        self._refreshed_at = -math.inf
        self._p = 0.5
        self._t: list[float] = []  # evaluation points, seconds from now
        self._f: list[float] = []  # the answer-time CDF at each point
        self._q: list[list[float]] = []  # [point][age bucket] answer-by-t probability
        self._qv: list[list[float]] = []
        self._g: list[list[float]] = []  # [point][talk bucket] free-by-t probability
        self._gv: list[list[float]] = []
        self._ring_buckets = 1
        self._edges: list[float] = [0.0]
        self._target_eff = target_abandon
        # Last decision, for reports and anti-wind-up.
        self.mode = "fallback"
        self.dial_level = 0.0  # calls ringing or waiting per logged-in agent, after the decision
        self.theta = theta0
        self._bound_by_risk = False

    # -- observations -------------------------------------------------------

    def observe(self, outcome: CallOutcome) -> None:
        self._results.append(outcome.answered)
        self._new_since_refresh += 1
        if outcome.answered:
            self._answer_ring.add(outcome.ring_s)
            self._answer_times.append(outcome.at)
            self._on_answered(outcome.abandoned)
        else:
            self._noanswer_ring.add(outcome.ring_s)
        if outcome.talk_s is not None:
            self.observe_talk(outcome.talk_s, outcome.acw_s)

    def observe_talk(self, talk_s: float, acw_s: float | None = None) -> None:
        """A bridged call ended after ``talk_s``; its agent wrapped up for ``acw_s``."""
        self._talk.add(talk_s)
        if acw_s is not None:
            self._acw.add(acw_s)

    def _on_answered(self, abandoned: bool) -> None:
        self.answered += 1
        self.abandoned += abandoned
        if self.answered <= self.min_answered:
            return
        r = self._target_eff
        if self._short is None:
            self._short = r  # the window starts at the target: no kick either way
        weight = 1.0 / max(10, self.short_calls)
        self._short += weight * (float(abandoned) - self._short)
        step = -self.ki * (1.0 - r) / r if abandoned else self.ki
        if step > 0 and not self._bound_by_risk:
            return  # the risk did not bind: idle agents say nothing about theta
        low, high = math.log(0.002 / self.theta0), math.log(0.9 / self.theta0)
        self._integral = min(high, max(low, self._integral + step))

    @property
    def answer_probability(self) -> float:
        return self._p

    # -- the model ---------------------------------------------------------

    def _refresh(self, now: float) -> None:
        """Rebuild the probability tables from the recent calls."""
        self._refreshed_at = now
        self._new_since_refresh = 0
        n = len(self._results)
        self._answers = sum(self._results)
        self._p = (self._answers + 1.0) / (n + 2.0)  # Beta(1, 1) prior
        p = self._p
        answered = self._answer_ring.sorted()
        unanswered = self._noanswer_ring.sorted()
        na, nu = len(answered), len(unanswered)
        self._f = [f for f, _ in ANSWER_POINTS] + list(LATE)
        self._t = [answered[min(na - 1, int(f * na))] for f in self._f]
        longest = max(answered[-1], unanswered[-1] if nu else 0.0)
        buckets = min(480, int(longest / RING_STEP_S) + 2)
        self._ring_buckets = buckets
        self._edges = [b * RING_STEP_S for b in range(buckets)]
        q: list[list[float]] = [[0.0] * buckets for _ in self._t]
        for b in range(buckets):
            age = (b + 0.5) * RING_STEP_S
            f_age = bisect.bisect_right(answered, age) / na
            n_age = (nu - bisect.bisect_right(unanswered, age)) / nu if nu else 0.0
            denom = p * (1.0 - f_age) + (1.0 - p) * n_age
            if denom <= 1e-12:
                continue
            for k, t in enumerate(self._t):
                f_then = bisect.bisect_right(answered, age + t) / na
                q[k][b] = p * (f_then - f_age) / denom
        self._q = q
        self._qv = [[x * (1.0 - x) for x in row] for row in q]
        self._refresh_talk()
        self._refresh_target()

    def _refresh_talk(self) -> None:
        talks = self._talk.sorted() if len(self._talk) >= 10 else []
        mean_talk = self._talk.mean(self.talk_prior_s) if talks else self.talk_prior_s
        acw = self._acw.mean(self.acw_s)
        g: list[list[float]] = []
        for t in self._t:
            d = t + self.grace_s - acw
            row = [0.0] * TALK_BUCKETS
            if d > 0:
                for b in range(TALK_BUCKETS):
                    e = b * TALK_STEP_S
                    above = len(talks) - bisect.bisect_right(talks, e)
                    if above >= 5:
                        ended = bisect.bisect_right(talks, e + d) - (len(talks) - above)
                        row[b] = ended / above
                    else:  # beyond the sample: a constant hazard
                        row[b] = 1.0 - math.exp(-d / mean_talk)
            g.append(row)
        self._g = g
        self._gv = [[x * (1.0 - x) for x in row] for row in g]

    def _refresh_target(self) -> None:
        """Target minus a margin shrinking with data, capped by the hourly limit."""
        n = self.answered
        margin = min(0.5, max(0.1, 1.0 / math.sqrt(max(1.0, n * self.target))))
        target = self.target * (1.0 - margin)
        times = self._answer_times
        if len(times) >= 2 and times[-1] > times[0]:
            per_hour = (len(times) - 1) * 3600.0 / (times[-1] - times[0])
            # Abandons come in clusters (one shortage drops several calls): counted as
            # Poisson clusters of CLUSTER calls, an hour must break with odds under HOURLY_ODDS.
            limit = math.floor(self.hourly_limit * per_hour / CLUSTER) + 1
            rate = target
            while rate > 0.2 * self.target and _poisson_tail(rate * per_hour / CLUSTER, limit) > HOURLY_ODDS:
                rate *= 0.95
            target = rate
        self._target_eff = target

    # -- the decision ------------------------------------------------------

    def launch(self, s: PacingState) -> int:
        if (
            s.agents_logged_in < self.min_agents
            or self.answered < self.min_answered
            or not self._answer_ring
        ):
            self.mode = "fallback"
            self._bound_by_risk = False
            n = self.fallback.launch(s)
            self._note(s, n)
            return n
        self.mode = "predictive"
        stale = self._new_since_refresh >= max(30, len(self._results) // 4)
        if stale or s.now - self._refreshed_at >= self.refresh_s or not self._t:
            self._refresh(s.now)
        cap = min(
            s.max_more,
            math.floor(self.max_lines_per_agent * s.agents_logged_in) - s.calls_ringing - s.calls_waiting,
        )
        self.theta = self._theta()
        if cap <= 0:
            self._bound_by_risk = False
            self._note(s, 0)
            return 0
        m_a, v_a = self._demand(s)
        m_s, v_s, k_s = self._supply(s)
        # P(D(u) >= 0) at each point u, D = A - S normal, after j new calls:
        # 0.5 erfc(-(mu + 0.5) / sqrt(2 var)), with a continuity correction. A new call
        # answering at t is lost if D(u) >= 0 at any u >= t: before t it takes nobody's
        # agent; after t it takes the agent of the next answer in line.
        p, waiting, ringing = self._p, s.calls_waiting, max(s.calls_ringing, len(s.ring_started))
        terms = []
        for a, b, va, vb, f, k in zip(m_a, m_s, v_a, v_s, self._f, k_s, strict=True):
            pf = p * f
            terms.append((a - b + 0.5, pf, 2.0 * (va + vb + VAR_FLOOR), 2.0 * pf * (1.0 - pf),
                          a - waiting, k - waiting))
        theta = self.theta * 2.0
        erfc, sqrt = math.erfc, math.sqrt
        weights = [w for _, w in ANSWER_POINTS]

        def risk(j: int) -> float:  # times 2, as theta
            lost = []
            for a, f, c, d, rand, need in terms:
                x = erfc(-(a + j * f) / sqrt(c + j * d))
                # The normal puts mass where fewer agents than the certain ones free up; the
                # answers alone must reach the certain agents first (a binomial bounds that).
                if x > 1e-3 and need <= SMALL:
                    x = min(x, 2.0 * _binomial_tail(ringing + j, rand + j * f, need))
                lost.append(x)
            worst, total = 0.0, 0.0
            for k in range(len(lost) - 1, -1, -1):
                worst = max(worst, lost[k])
                if k < POINTS:
                    total += weights[k] * worst
            return total

        if risk(0) > theta:
            self._bound_by_risk = True
            self._note(s, 0)
            return 0
        good, bad = 0, 1  # risk(good) <= theta; bad is the first guess to try
        while bad < cap and risk(bad) <= theta:
            good, bad = bad, bad * 2 + 1
        bad = min(bad, cap)
        while bad - good > 1:
            mid = (good + bad) // 2
            if risk(mid) <= theta:
                good = mid
            else:
                bad = mid
        n = good + 1
        self._bound_by_risk = n < cap
        self._note(s, n)
        return n

    def _theta(self) -> float:
        r = self._target_eff
        error = 0.0 if self._short is None else (r - self._short) / r
        short = max(-3.0, min(1.0, self.kp * error))
        return min(0.9, max(0.002, self.theta0 * math.exp(self._integral + short)))

    def _demand(self, s: PacingState) -> tuple[list[float], list[float]]:
        """Mean and variance of the answers by each point, from calls in flight."""
        # Calls per age bucket from the bucket edges: far cheaper than one bucket per call
        # (the originate times usually come in order, and sorting a sorted list is linear).
        starts = sorted(s.ring_started)
        older = list(map(bisect.bisect_right, repeat(starts), map(s.now.__sub__, self._edges)))
        counts = list(map(sub, older, older[1:]))
        counts.append(older[-1])
        counts[0] += len(starts) - older[0] + max(0, s.calls_ringing - len(starts))
        waiting = float(s.calls_waiting)
        m = [waiting + sum(map(mul, counts, row)) for row in self._q]
        v = [sum(map(mul, counts, row)) for row in self._qv]
        return m, v

    def _supply(self, s: PacingState) -> tuple[list[float], list[float], list[int]]:
        """Mean and variance of the agents free by each point plus the grace, and how
        many of them are certain (ready, or ending a wrap-up)."""
        now, grace = s.now, self.grace_s
        ends = sorted([e - now for e in s.busy_ends])
        ready = max(0, s.agents_ready)
        certain = [ready + bisect.bisect_right(ends, t + grace) for t in self._t]
        m = [float(x) for x in certain]
        v = [0.0] * len(m)
        talking = max(s.agents_busy, len(s.busy_since))
        rows = [k for k, row in enumerate(self._g) if row[0] or row[-1]]
        if talking and rows:
            last, inv = TALK_BUCKETS - 1, 1.0 / TALK_STEP_S
            idx = list(map(int, map((now * inv).__sub__, map(inv.__mul__, s.busy_since))))
            if idx and (max(idx) > last or min(idx) < 0):
                idx = [min(last, max(b, 0)) for b in idx]
            idx.extend([0] * (talking - len(idx)))
            for k in rows:
                m[k] += sum(map(self._g[k].__getitem__, idx))
                v[k] = sum(map(self._gv[k].__getitem__, idx))
        return m, v, certain

    def _note(self, s: PacingState, n: int) -> None:
        in_flight = s.calls_ringing + s.calls_waiting + n
        self.dial_level = in_flight / max(1, s.agents_logged_in)


@dataclass(frozen=True, slots=True)
class Window:
    answered: int = 0
    abandoned: int = 0

    @property
    def rate(self) -> float:
        """Abandoned ÷ answered (0 when nothing was answered)."""
        return self.abandoned / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class AbandonReport:
    life: Window
    day: Window  # the last 24 hours, to the minute
    month: Window  # the last 30 days, to the hour


class _Buckets:
    """Counts per time bucket over a sliding span; buckets come mostly in order."""

    def __init__(self, width_s: float, span_s: float) -> None:
        self.width = width_s
        self.span = int(span_s // width_s)
        self.rows: deque[list[int]] = deque()  # [bucket index, answered, abandoned]

    def add(self, at: float, abandoned: bool) -> None:
        index = int(at // self.width)
        rows = self.rows
        for row in reversed(rows):
            if row[0] == index:
                row[1] += 1
                row[2] += abandoned
                return
            if row[0] < index:
                break
        rows.append([index, 1, int(abandoned)])
        if len(rows) > 1 and rows[-2][0] > index:  # out of order: keep the deque sorted
            self.rows = deque(sorted(rows))
        while self.rows and self.rows[0][0] <= index - self.span:
            self.rows.popleft()

    def window(self, now: float) -> Window:
        first = int(now // self.width) - self.span + 1
        answered = abandoned = 0
        for index, a, b in self.rows:
            if index >= first:
                answered += a
                abandoned += b
        return Window(answered, abandoned)


class AbandonStats:
    """A task's abandonment over its life, the last 24 h and the last 30 days.

    Counts are bucketed (a minute for 24 h, an hour for 30 days), so a window's
    edge is exact to its bucket. Memory is bounded: 1,440 + 720 buckets.
    """

    def __init__(self) -> None:
        self._life = [0, 0]
        self._day = _Buckets(60.0, 86_400.0)
        self._month = _Buckets(3600.0, 30 * 86_400.0)

    def add(self, at: float, abandoned: bool) -> None:
        """One answered call at ``at`` (epoch seconds), abandoned or not."""
        self._life[0] += 1
        self._life[1] += abandoned
        self._day.add(at, abandoned)
        self._month.add(at, abandoned)

    def observe(self, outcome: CallOutcome) -> None:
        if outcome.answered:
            self.add(outcome.at, outcome.abandoned)

    def report(self, now: float) -> AbandonReport:
        return AbandonReport(Window(*self._life), self._day.window(now), self._month.window(now))
