"""Dose-indexed expected recovery: the reference, the empirical-Bayes shrinkage (against an
independent computation and at both limits) and the cross-validated not-on-track accuracy
(against a hand-computed case)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from reverie.outcomes import dose

RC = 6.0


def _series(episodes: list[tuple[int, list[tuple[int, float]]]]) -> dose.Series:
    """Series from ``[(group, [(dose, score), ...]), ...]``."""
    ep, d, s = [], [], []
    for i, (_, rows) in enumerate(episodes):
        for x, y in rows:
            ep.append(i)
            d.append(x)
            s.append(y)
    return dose.Series(
        np.asarray(ep, dtype=np.int64),
        np.asarray(d, dtype=np.int64),
        np.asarray(s, dtype=np.float64),
        np.asarray([g for g, _ in episodes], dtype=np.int64),
    )


def test_reference_size_agrees_with_routine_care() -> None:
    # Gaskell et al. (2022): pre-post d = 0.96 for depression in routine practice; Saunders et
    # al. (2019): intake PHQ-9 SD 5.65. The reference change after 8 sessions is within a point.
    published = 0.96 * 5.65
    assert abs(-float(dose.reference_change([8], RC)[0]) - published) < 1.0
    # The shape is negatively accelerated (Howard et al., 1986; Robinson et al., 2020).
    gains = -dose.reference_change(np.arange(0, 41), RC)
    assert np.all(np.diff(gains) > 0) and np.all(np.diff(gains, 2)[3:] < 0)
    # At intake the reference line is reliable deterioration (the old default rule).
    assert dose.reference_sd(RC) * stats.norm.ppf(0.9) == pytest.approx(RC)


def test_shrinkage_matches_an_independent_computation() -> None:
    rng = np.random.default_rng(7)
    episodes = []
    for i in range(23):
        group = i % 2
        intake = float(rng.integers(10, 22))
        rows = [(0, intake)]
        for x in sorted(rng.choice(np.arange(1, 20), size=4, replace=False)):
            rows.append((int(x), intake - 0.5 * x + float(rng.normal(0, 3)) - 2 * group))
        episodes.append((group, rows))
    # One episode answers twice in the same bin: it must count once, with its mean.
    episodes.append((0, [(0, 15.0), (5, 12.0), (6, 10.0)]))
    series = _series(episodes)
    got = dose.fit(series, 2, RC)

    # By hand, with plain Python loops over the definition in the module docstring.
    bins = dose.DOSE_EDGES
    mids = [(lo + hi - 1) / 2 for lo, hi in zip(bins, (*bins[1:], 56), strict=True)]
    mu0 = [-RC * float(stats.norm.cdf(_alpha_beta(m))) / 0.5 if m > 0 else 0.0 for m in mids]
    cells: dict[tuple[int, int], list[float]] = {}
    for group, rows in episodes:
        intake = rows[0][1]
        per_bin: dict[int, list[float]] = {}
        for x, y in rows:
            b = max(i for i, lo in enumerate(bins) if x >= lo)
            per_bin.setdefault(b, []).append(y - intake)
        for b, values in per_bin.items():
            if b > 0:
                cells.setdefault((group, b), []).append(sum(values) / len(values))
    num = sum((len(v) - 1) * np.var(v, ddof=1) for v in cells.values() if len(v) > 1)
    den = sum(len(v) - 1 for v in cells.values() if len(v) > 1)
    sigma2 = num / den
    tau2 = max(
        0.0,
        float(
            np.mean([(np.mean(v) - mu0[b]) ** 2 - sigma2 / len(v) for (g, b), v in cells.items()])
        ),
    )
    k = sigma2 / tau2
    assert got.sigma2_within == pytest.approx(sigma2)
    assert got.tau2 == pytest.approx(tau2)
    assert got.k == pytest.approx(k)
    sd0 = RC / stats.norm.ppf(0.9)
    for (g, b), v in cells.items():
        n = len(v)
        w = n / (n + k)
        assert got.n[g, b] == n
        assert got.weight[g, b] == pytest.approx(w)
        assert got.mean[g, b] == pytest.approx(w * np.mean(v) + (1 - w) * mu0[b])
        own = np.var(v, ddof=1) if n > 1 else 0.0
        df = n - 1
        spread = (10 * sd0**2 + df * own) / (10 + df)
        assert got.sd[g, b] == pytest.approx(math.sqrt(spread + sigma2 / (n + k)))


def _alpha_beta(d: float) -> float:
    # Howard et al. (1986) probit through (8, 0.50) and (26, 0.75), computed here afresh.
    beta = (stats.norm.ppf(0.75) - stats.norm.ppf(0.5)) / (math.log(26) - math.log(8))
    alpha = stats.norm.ppf(0.5) - beta * math.log(8)
    return float(alpha + beta * math.log(d))


def test_no_ended_episodes_gives_the_pure_reference() -> None:
    empty = dose.Series(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    )
    c = dose.fit(empty, 3, RC)
    assert np.all(c.weight == 0)
    assert np.allclose(c.mean, c.reference_mean[None, :])
    assert np.allclose(c.sd, dose.reference_sd(RC))
    line = c.line([0, 1, 2], [8, 8, 8], [15, 15, 15])
    # The 7-8 bin is taken at 7.5 sessions: about one RC better than intake, plus one RC.
    expected = 15 + float(dose.reference_change([7.5], RC)[0]) + RC
    assert np.allclose(line, expected) and 14.5 < expected < 15.5


def test_converges_to_the_practice_curve_as_n_grows() -> None:
    rng = np.random.default_rng(3)

    def practice(n: int) -> dose.DoseCurves:
        episodes = []
        for _ in range(n):
            intake = 16.0
            # This practice improves half as fast as the reference, with SD 2.
            rows = [(0, intake)] + [
                (x, intake + 0.5 * float(dose.reference_change([x], RC)[0]) + rng.normal(0, 2))
                for x in (2, 4, 8, 12, 20)
            ]
            episodes.append((0, rows))
        return dose.fit(_series(episodes), 1, RC)

    small, large = practice(5), practice(3000)
    b8 = int(dose.dose_bin([8])[0])
    assert 0 < small.weight[0, b8] < large.weight[0, b8]
    assert large.weight[0, b8] > 0.99
    assert large.mean[0, b8] == pytest.approx(large.practice_mean[0, b8], abs=0.05)
    assert large.sd[0, b8] == pytest.approx(2.0, abs=0.3)
    # Far from the reference's -6 at 8 sessions: the practice's own -3.
    assert large.mean[0, b8] == pytest.approx(-3.0, abs=0.3)


def _case() -> tuple[dose.Series, list[bool], list[bool]]:
    """Eight good and four poor episodes whose flags do not depend on the folds."""
    episodes = []
    poor, base = [], []
    for i in range(8):
        last = 9.0  # exactly one RC better: a reliable improvement
        episodes.append((0 if i % 2 else 2, [(0, 15.0), (4, 12.0), (8, last)]))
        poor.append(False)
        base.append(False)
    for i in range(4):
        # Worse at dose 4 by 10 points: past every line; ends unchanged or worse.
        episodes.append((0 if i % 2 else 2, [(0, 15.0), (4, 25.0), (8, 15.0 + 3 * i)]))
        poor.append(True)
        base.append(True)  # 25 > 15 + 6
    return _series(episodes), poor, base


def _wilson(x: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    return centre - half, centre + half


def test_cross_validated_accuracy_on_a_hand_computed_case() -> None:
    series, poor, base = _case()
    rule, baseline = dose.cross_validate(series, 3, RC, folds=4)
    assert (rule.n, rule.poor, rule.folds) == (12, 4, 4)
    assert (rule.true_pos, rule.false_neg, rule.true_neg, rule.false_pos) == (4, 0, 8, 0)
    assert rule.sensitivity == 1.0 and rule.specificity == 1.0
    assert rule.sensitivity_ci == pytest.approx(_wilson(4, 4))
    assert rule.specificity_ci == pytest.approx(_wilson(8, 8))
    assert baseline.true_pos == sum(b and p for b, p in zip(base, poor, strict=True))
    assert baseline.false_pos == 0


def test_the_last_score_never_predicts_itself() -> None:
    # Twelve episodes whose only bad score is the last one: nothing can be flagged.
    episodes = [(0, [(0, 15.0), (4, 13.0), (8, 27.0)]) for _ in range(12)]
    rule, baseline = dose.cross_validate(_series(episodes), 1, RC)
    assert rule.poor == 12 and rule.true_pos == 0 and baseline.true_pos == 0
    assert rule.sensitivity == 0.0 and rule.specificity is None


def test_too_few_episodes_say_so() -> None:
    episodes = [(0, [(0, 15.0), (4, 13.0), (8, 7.0)]) for _ in range(dose.MIN_EPISODES_CV - 1)]
    episodes.append((0, [(0, 15.0), (8, 7.0)]))  # two scores: not eligible
    rule, baseline = dose.cross_validate(_series(episodes), 1, RC)
    assert rule.too_few and baseline.too_few
    assert rule.n == dose.MIN_EPISODES_CV - 1
    assert rule.sensitivity is None and rule.specificity_ci is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        dose.dose_bin([-1])
    with pytest.raises(ValueError):
        dose.reference_change([1], 0.0)
    with pytest.raises(ValueError):
        dose.Series(np.array([1, 0]), np.array([0, 0]), np.array([1.0, 2.0]), np.array([0, 0]))
