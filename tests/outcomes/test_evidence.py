"""The grouped (one-pass) statistics agree with the single-group reference functions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reverie.outcomes import effects, evidence


def test_grouped_effect_sizes_match_prepost_effect_size_group_by_group() -> None:
    rng = np.random.default_rng(7)
    pre = rng.integers(5, 27, 600).astype(float)
    post = np.clip(pre - rng.normal(5, 4, 600), 0, 27)
    group = rng.integers(0, 5, 600)
    res = evidence.grouped_prepost(pre, post, group, 5, hedges_below=0)
    for g in range(5):
        sel = group == g
        ref = effects.prepost_effect_size(pre[sel], post[sel])
        assert res.n[g] == sel.sum()
        assert res.d[g] == pytest.approx(ref.estimate, rel=1e-9)
        assert res.ci_low[g] == pytest.approx(ref.ci_low, rel=1e-9)
        assert res.ci_high[g] == pytest.approx(ref.ci_high, rel=1e-9)


def test_small_groups_get_hedges_correction_with_n_minus_one_df() -> None:
    pre = [20, 18, 15, 22, 17, 19]
    post = [12, 10, 11, 15, 9, 14]
    res = evidence.grouped_prepost(pre, post, [0] * 6, 1)
    ref = effects.prepost_effect_size(pre, post, hedges=True)
    assert bool(res.hedges[0]) and res.d[0] == pytest.approx(ref.estimate)


def test_groups_too_small_or_without_spread_have_no_effect_size() -> None:
    res = evidence.grouped_prepost([10, 12, 10, 10, 10], [5, 6, 5, 5, 5], [0, 0, 1, 1, 1], 3)
    assert np.isnan(res.d).all()  # two pairs; zero SD; empty group
    assert res.n.tolist() == [2, 3, 0]


def test_grouped_rates_match_wilson_intervals() -> None:
    rng = np.random.default_rng(3)
    event = rng.random(400) < 0.4
    eligible = rng.random(400) < 0.8
    group = rng.integers(0, 3, 400)
    res = evidence.grouped_rate(event, eligible, group, 3)
    for g in range(3):
        sel = eligible & (group == g)
        ref = effects.proportion_with_ci(int((event & sel).sum()), int(sel.sum()))
        assert (res.events[g], res.n[g]) == (ref.successes, ref.n)
        assert res.ci_low[g] == pytest.approx(ref.ci_low)
        assert res.ci_high[g] == pytest.approx(ref.ci_high)


def test_grouped_means_match_scipy_t_interval() -> None:
    values = np.array([1.0, -2.0, 3.5, 0.0, 2.0, np.nan, 4.0])
    res = evidence.grouped_mean(values, [0, 0, 0, 0, 0, 0, 1], 2)
    sample = values[:5]
    lo, hi = stats.t.interval(0.95, 4, loc=sample.mean(), scale=stats.sem(sample))
    assert res.n.tolist() == [5, 1]
    assert (res.ci_low[0], res.ci_high[0]) == pytest.approx((lo, hi))
    assert np.isnan(res.ci_low[1])


@pytest.mark.parametrize(
    "bad",
    [{"group": [0, 5]}, {"group": [0.5, 1.0]}, {"group": [0]}],
)
def test_bad_groups_are_refused(bad: dict[str, list[float]]) -> None:
    with pytest.raises(ValueError):
        evidence.grouped_rate([True, False], [True, True], bad["group"], 2)
