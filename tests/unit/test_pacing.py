"""Pacing cores tick by tick: the clock is the ``now`` passed in, never read."""

from __future__ import annotations

import json
import random

import pytest

from eslbridge.bench import pacing as bench
from eslbridge.dialer.pacing import AbandonStats, CallOutcome, PacingState, Predictive, Ratio

T0 = 1_800_000_000.0  # a fake epoch second
DAY = 86_400.0


def trained(answer_rate: float, *, calls: int = 600, abandon_every: int = 0, seed: int = 7) -> Predictive:
    """A predictive core fed ``calls`` outcomes of a list answering at ``answer_rate``.

    Ring times as in the benchmark (lognormal around 8 s; 30 s for no answer), talks
    around a minute; every ``abandon_every``-th answered call abandoned (0: none).
    """
    rng = random.Random(seed)
    pacer = Predictive(0.03, acw_s=10.0)
    answered = 0
    for i in range(calls):
        at = T0 + i * 0.5
        if rng.random() < answer_rate:
            answered += 1
            abandoned = bool(abandon_every) and answered % abandon_every == 0
            talk = None if abandoned else rng.lognormvariate(3.75, 0.8)
            pacer.observe(CallOutcome(at, True, rng.lognormvariate(1.97, 0.47), abandoned=abandoned,
                                      talk_s=talk, acw_s=None if abandoned else 10.0))
        else:
            pacer.observe(CallOutcome(at, False, 30.0))
    return pacer


def state(now: float = T0 + 400.0, **fields: object) -> PacingState:
    values: dict[str, object] = {"agents_ready": 0, "agents_logged_in": 10}
    values.update(fields)
    return PacingState(now=now, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("power", "ready", "ringing", "waiting", "max_more", "expected"),
    [
        (1.0, 5, 0, 0, 100, 5),
        (1.5, 5, 2, 0, 100, 5),  # floor(7.5) = 7 in flight, 2 already ringing
        (2.0, 3, 4, 1, 100, 1),  # waiting calls count as in flight
        (1.0, 2, 3, 0, 100, 0),  # more in flight than allowed: nothing, never negative
        (1.1, 10, 0, 0, 100, 11),  # 1.1 x 10 is 11, not 10.999...
        (3.0, 0, 0, 0, 100, 0),  # no ready agent, no call
        (2.0, 10, 0, 0, 4, 4),  # the dialer's own cap wins
    ],
    ids=["one-per-agent", "fraction-floors", "waiting-counts", "never-negative", "float-rounding",
         "no-agent", "capped"],
)
def test_ratio_keeps_calls_in_flight_under_power_times_ready(power, ready, ringing, waiting, max_more, expected):
    s = state(agents_ready=ready, calls_ringing=ringing, calls_waiting=waiting, max_more=max_more)
    assert Ratio(power).launch(s) == expected


def test_predictive_without_data_dials_as_ratio_one():
    pacer = Predictive(0.03)
    s = state(agents_ready=6, agents_busy=4, calls_ringing=2)
    assert pacer.launch(s) == 4
    assert pacer.mode == "fallback"


def test_predictive_below_three_agents_dials_as_ratio_one():
    pacer = trained(0.3)
    few = state(agents_ready=2, agents_logged_in=2)
    assert pacer.launch(few) == 2
    assert pacer.mode == "fallback"
    many = state(agents_ready=2, agents_busy=8, agents_logged_in=10)
    pacer.launch(many)
    assert pacer.mode == "predictive"


def test_predictive_starts_after_thirty_answered_calls():
    pacer = Predictive(0.03)
    s = state(agents_ready=10)
    for i in range(29):
        pacer.observe(CallOutcome(T0 + i, True, 8.0, talk_s=60.0, acw_s=10.0))
    pacer.launch(s)
    assert pacer.mode == "fallback"
    pacer.observe(CallOutcome(T0 + 30, True, 8.0, talk_s=60.0, acw_s=10.0))
    pacer.launch(s)
    assert pacer.mode == "predictive"


def test_high_answer_rate_launches_fewer_calls_than_low():
    s = state(agents_ready=10, agents_busy=10, agents_logged_in=20)
    high, low = trained(0.6).launch(s), trained(0.15).launch(s)
    assert 10 <= high < low


def test_measured_abandonment_above_target_lowers_the_dial_level():
    s = state(agents_ready=10, agents_busy=10, agents_logged_in=20)
    calm = trained(0.3)
    hot = trained(0.3, abandon_every=5)  # 20 % of answered calls abandoned
    calm_n, hot_n = calm.launch(s), hot.launch(s)
    assert hot_n < calm_n
    assert hot.dial_level < calm.dial_level
    assert hot.theta < calm.theta


def test_a_burst_of_abandons_lowers_the_level_at_the_next_tick_and_it_stays_down():
    pacer = trained(0.3)
    s = state(agents_ready=10, agents_busy=10, agents_logged_in=20)
    levels = [pacer.launch(s)]
    for tick in range(3):  # each tick, a burst of abandoned answers is reported
        for i in range(5):
            pacer.observe(CallOutcome(T0 + 400 + tick + i / 10, True, 7.0, abandoned=True))
        levels.append(pacer.launch(s))
    assert levels[1] < levels[0]
    assert levels == sorted(levels, reverse=True)


def test_never_launches_when_no_agent_is_ready_or_about_to_be():
    pacer = trained(0.3)
    now = T0 + 400.0
    all_talking = state(now, agents_busy=10, busy_since=[now - 5.0] * 10)
    assert pacer.launch(all_talking) == 0
    wrap_far = state(now, agents_busy=9, agents_wrap_up=1, busy_since=[now - 5.0] * 9, busy_ends=[now + 60.0])
    assert pacer.launch(wrap_far) == 0
    wrap_soon = state(now, agents_busy=9, agents_wrap_up=1, busy_since=[now - 5.0] * 9, busy_ends=[now + 3.0])
    assert pacer.launch(wrap_soon) >= 1  # an agent about to be free is worth a call


def test_nobody_logged_in_gets_no_call():
    assert trained(0.3).launch(state(agents_ready=0, agents_logged_in=0)) == 0


def test_a_ready_agent_with_no_call_in_flight_always_gets_one():
    pacer = trained(0.6)
    now = T0 + 400.0
    s = state(now, agents_ready=1, agents_busy=4, agents_logged_in=5, busy_since=[now - 30.0] * 4)
    assert pacer.launch(s) >= 1


def test_old_ringing_calls_weigh_less_than_fresh_ones():
    pacer = trained(0.3)
    now = T0 + 400.0
    fresh = state(now, agents_ready=5, agents_busy=5, calls_ringing=8, ring_started=[now - 1.0] * 8)
    old = state(now, agents_ready=5, agents_busy=5, calls_ringing=8, ring_started=[now - 25.0] * 8)
    assert pacer.launch(old) > pacer.launch(fresh)


def test_predictive_respects_the_dialers_cap():
    pacer = trained(0.15)
    assert pacer.launch(state(agents_ready=10, agents_busy=10, agents_logged_in=20, max_more=3)) == 3


def test_target_outside_a_fraction_is_refused():
    with pytest.raises(ValueError, match="target_abandon"):
        Predictive(3.0)


def test_abandon_stats_windows_life_day_and_month():
    stats = AbandonStats()
    now = T0 + 100 * DAY
    for at, abandoned in [
        (now - 40 * DAY, True),  # life only
        (now - 10 * DAY, True), (now - 10 * DAY, False),  # 30 days
        (now - 2 * 3600, True), (now - 3600, False), (now - 60, False), (now - 1, False),  # 24 h
    ]:
        stats.add(at, abandoned)
    report = stats.report(now)
    assert (report.life.answered, report.life.abandoned) == (7, 3)
    assert (report.month.answered, report.month.abandoned) == (6, 2)
    assert (report.day.answered, report.day.abandoned) == (4, 1)
    assert report.day.rate == pytest.approx(0.25)


def test_abandon_stats_windows_slide_with_the_clock():
    stats = AbandonStats()
    stats.add(T0, True)
    assert stats.report(T0 + DAY - 120).day.answered == 1
    assert stats.report(T0 + DAY + 120).day.answered == 0
    assert stats.report(T0 + DAY + 120).month.answered == 1
    assert stats.report(T0 + 31 * DAY).month.answered == 0
    assert stats.report(T0 + 31 * DAY).life.answered == 1


def test_abandon_stats_take_late_reports_and_only_answered_calls():
    stats = AbandonStats()
    stats.add(T0 + 600, False)
    stats.add(T0, True)  # reported late
    stats.observe(CallOutcome(T0 + 10, False, 30.0))  # not answered: not counted
    stats.observe(CallOutcome(T0 + 20, True, 5.0, abandoned=True))
    report = stats.report(T0 + 700)
    assert (report.day.answered, report.day.abandoned) == (3, 2)
    assert report.life == report.day == report.month


def test_abandon_stats_memory_is_bounded():
    stats = AbandonStats()
    for i in range(60 * 24 * 3):  # three days, one answer a minute
        stats.add(T0 + 60 * i, i % 10 == 0)
    assert len(stats._day.rows) <= 1440
    assert len(stats._month.rows) <= 72
    # (now - 24 h, now]: the answer exactly 24 h before now is out
    assert stats.report(T0 + 3 * DAY).day.answered == 1439


def test_bench_day_is_deterministic():
    sc = bench.Scenario(0.3, 5, 60.0)
    first = bench.simulate(sc, bench.PACINGS["predictive"](sc), "predictive", 1200.0)
    again = bench.simulate(sc, bench.PACINGS["predictive"](sc), "predictive", 1200.0)
    assert (first.answered, first.abandoned, first.occupancy_pct) == (
        again.answered, again.abandoned, again.occupancy_pct)


def test_bench_quick_reports_its_keys_and_holds_the_target(capsys):
    # One hour, 20 agents, 30 % answering, one-minute talks: the abandonment must stay
    # within the 3 % target plus one point of tolerance for a single short hour.
    summary = bench.run(True, quick=True, only=[bench.Scenario(0.3, 20, 60.0)])
    printed = json.loads(capsys.readouterr().out)
    for key in ("max_abandon_pct", "min_occupancy_pct_20plus", "occupancy_gain_vs_adaptive_pct"):
        assert key in printed
    row = summary["rows"][0]
    assert set(row) >= {"predictive", "ratio1", "adaptive"}
    assert row["predictive"]["abandon_pct"] <= 3.0 + 1.0
    assert row["predictive"]["occupancy_pct"] > row["ratio1"]["occupancy_pct"]
