"""Expected recovery by dose (sessions attended) and modality, for practices of every size,
and how well its not-on-track flag predicts a poor end result.

No Django imports: numpy arrays in, numbers out. :mod:`.recovery` reads the practice's data,
stores the fitted curves and builds the dashboard panel from them; docs/statistics.md section
8a explains them in plain words.

Method
------
1. **What is modelled.** Every in-treatment score of an ended episode becomes a *change from
   intake* (score minus the episode's first score) at a *dose*: the number of sessions the
   client had attended before the questionnaire was answered. Doses are grouped into bins
   (:data:`DOSE_EDGES`: 0, 1, 2, 3, 4, 5-6, 7-8, 9-12, 13-16, 17-24, 25-40, 41 or more).
   An episode contributes one value per bin (the mean of its changes in that bin), so a
   client seen twice a week does not count double. Curves are fitted per modality.
2. **Reference trajectory (the prior).** :func:`reference_change` is the expected change
   after *d* sessions in routine care: :math:`\\mu_0(d) = -RC \\cdot P(d) / 0.5`, where
   :math:`P` is the probit dose-effect curve through Howard et al.'s (1986) summary points
   (:func:`.expected.howard_dose_effect`: 50 % of clients measurably improved after 8
   sessions, 75 % after 26) and *RC* the measure's reliable change (6 PHQ-9 points). The
   typical client therefore improves by one reliable change by session 8 and by 1.5 by
   session 26, the negatively accelerated dose-response shape found again in routine care by
   Robinson, Delgadillo & Kellett's (2020) systematic review. Its size agrees with routine
   practice: Gaskell et al.'s (2022) meta-analysis of routinely delivered therapy gives a
   pre-post *d* of 0.96 for depression, which at the intake SD of 5.65 PHQ-9 points in a
   large IAPT sample (Saunders et al., 2019) is 5.4 points, against 6.0 here at 8 sessions
   (a test holds the two within one point). The reference spread of a score around it is
   :math:`\\sigma_0 = RC / z_{0.90}` (4.7 PHQ-9 points), so that at intake the reference
   not-on-track line is reliable deterioration, the old default rule.
3. **Empirical-Bayes shrinkage toward the practice's own data** (Morris, 1983). In each
   modality *g* and dose bin *b* with :math:`n_{gb}` episodes, mean change
   :math:`\\bar y_{gb}` and variance :math:`s^2_{gb}`:

   * the *within* variance :math:`\\sigma^2_w` is pooled over all cells,
     :math:`\\sum (n-1) s^2 / \\sum (n-1)`;
   * the *between* variance :math:`\\tau^2` (how far true cell means lie from the
     reference) is the method-of-moments estimate
     :math:`\\hat\\tau^2 = \\max(0, \\frac{1}{C}\\sum_c [(\\bar y_c - \\mu_0)^2 -
     \\sigma^2_w / n_c])` over the *C* cells with data;
   * :math:`k = \\sigma^2_w / \\hat\\tau^2` and the weight :math:`w = n / (n + k)`; the
     expected change is :math:`w \\bar y + (1 - w) \\mu_0`. With no ended episodes
     *w* = 0 (pure reference); as *n* grows *w* tends to 1 (the practice's own curve);
     when the practice does not differ from the reference beyond chance
     (:math:`\\hat\\tau^2 = 0`) the reference is kept;
   * the spread is shrunk the conjugate way (a scaled inverse chi-square prior worth
     :data:`PRIOR_DF` episodes; Gelman et al., 2013, section 3.3):
     :math:`\\sigma^2 = (\\nu_0 \\sigma_0^2 + (n-1) s^2) / (\\nu_0 + n - 1)`;
   * the **band** of a score at dose *d* is intake + expected change
     :math:`\\pm z \\sqrt{\\sigma^2 + \\sigma^2_w / (n + k)}` (the second term, equal to
     :math:`(1-w)\\hat\\tau^2`, is the uncertainty of the shrunk mean), clipped to the
     scale. The **not-on-track** line is its upper 90 % edge (lower on a higher-is-better
     scale): the 80 % band's edge, as Lambert's expected-recovery curves use a tolerance
     band (Finch, Lambert & Schaalje, 2001).
4. **How well the flag predicts a poor end** (:func:`cross_validate`). The practice's ended
   episodes with at least three in-treatment scores are split into *k* folds (default 5, a
   fixed seed). For each fold the curves are fitted on the other folds' episodes and the
   held-out episodes are flagged if any score *between* the first and the last (the last one
   is the outcome, so it is not used to predict itself) lies past the line. A **poor end
   result** is no reliable improvement from the first to the last score (which includes
   reliable deterioration; Jacobson & Truax, 1991, with the measure's fixed reliable-change
   threshold as in NHS Talking Therapies), the "treatment failure" that Lambert's warning
   systems aim to predict (Whipple et al., 2003). Sensitivity (flagged among poor ends) and
   specificity (not flagged among the others) carry Wilson (1927) 95 % intervals (Newcombe,
   1998, method 3). Below :data:`MIN_EPISODES_CV` eligible episodes nothing is estimated.
   The baseline is the old default rule, flag only scores past reliable deterioration
   (intake + RC), on the same episodes; it needs no fitting.

References
----------
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: the
statistical generation of expected recovery curves for integration into an early warning
system. *Clinical Psychology & Psychotherapy, 8*\\(4), 231-242.
https://doi.org/10.1002/cpp.286

Gaskell, C., Simmonds-Buckley, M., Kellett, S., Stockton, C., Somerville, E., Rogerson, E., &
Delgadillo, J. (2022). The effectiveness of psychological interventions delivered in routine
practice: systematic review and meta-analysis. *Administration and Policy in Mental Health
and Mental Health Services Research*, 43-57.
https://doi.org/10.1007/s10488-022-01225-y

Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A., & Rubin, D. B. (2013).
*Bayesian Data Analysis* (3rd ed.), section 3.3. CRC Press. ISBN 978-1-4398-4095-5.

Howard, K. I., Kopta, S. M., Krause, M. S., & Orlinsky, D. E. (1986). The dose-effect
relationship in psychotherapy. *American Psychologist, 41*\\(2), 159-164.
https://doi.org/10.1037/0003-066X.41.2.159

Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. *Journal of Consulting and Clinical
Psychology, 59*\\(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications.
*Journal of the American Statistical Association, 78*\\(381), 47-55.
https://doi.org/10.1080/01621459.1983.10477920 (JSTOR 2287098)

Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison
of seven methods. *Statistics in Medicine, 17*\\(8), 857-872.

Robinson, L., Delgadillo, J., & Kellett, S. (2020). The dose-response effect in routinely
delivered psychological therapies: a systematic review. *Psychotherapy Research, 30*\\(1),
79-96. https://doi.org/10.1080/10503307.2019.1566676

Saunders, R., Buckman, J. E. J., Cape, J., Fearon, P., Leibowitz, J., & Pilling, S. (2019).
Trajectories of depression and anxiety symptoms during psychological therapy. *Journal of
Affective Disorders*. https://doi.org/10.1016/j.jad.2019.02.043 (intake PHQ-9
mean 16.41, SD 5.65, n = 4,394).

Whipple, J. L., Lambert, M. J., Vermeersch, D. A., Smart, D. W., Nielsen, S. L., & Hawkins,
E. J. (2003). Improving the effects of psychotherapy: the use of early identification of
treatment failure and problem-solving strategies in routine practice. *Journal of
Counseling Psychology, 50*\\(1), 59-68. https://doi.org/10.1037/0022-0167.50.1.59

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association, 22*\\(158), 209-212.
https://doi.org/10.1080/01621459.1927.10502953
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from reverie.outcomes.effects import wilson_interval
from reverie.outcomes.expected import howard_dose_effect

__all__ = [
    "DOSE_EDGES",
    "DOSE_LABELS",
    "MIN_EPISODES_CV",
    "PRIOR_DF",
    "Accuracy",
    "DoseCurves",
    "Series",
    "cross_validate",
    "dose_bin",
    "fit",
    "poor_end",
    "reference_change",
    "reference_sd",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Lower edges of the dose bins (sessions attended before the questionnaire).
DOSE_EDGES: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 41)
DOSE_LABELS: tuple[str, ...] = (
    *(str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(DOSE_EDGES)),
    f"{DOSE_EDGES[-1]}+",
)
#: The dose each bin's reference value is taken at (the middle of the bin; 48 for "41+").
_BIN_DOSE: FloatArray = np.array(
    [(lo + hi - 1) / 2.0 for lo, hi in zip(DOSE_EDGES, (*DOSE_EDGES[1:], 56), strict=True)]
)
#: Prior degrees of freedom of the spread: the reference SD counts as this many episodes.
PRIOR_DF: float = 10.0
#: The upper edge of the 80 % band is the not-on-track line.
WARNING_QUANTILE: float = 0.90
#: Fewer eligible ended episodes than this and the accuracy is not estimated.
MIN_EPISODES_CV: int = 10


def dose_bin(sessions: ArrayLike) -> NDArray[np.intp]:
    """Bin index of each dose (sessions attended before the questionnaire).

    >>> dose_bin([0, 1, 4, 5, 6, 7, 12, 13, 40, 41, 90]).tolist()
    [0, 1, 4, 5, 5, 6, 7, 8, 10, 11, 11]
    """
    d = np.asarray(sessions, dtype=np.float64)
    if d.size and (not np.all(np.isfinite(d)) or d.min() < 0):
        raise ValueError("doses must be finite and >= 0")
    return (np.searchsorted(np.asarray(DOSE_EDGES), d, side="right") - 1).astype(np.intp)


def reference_change(dose: ArrayLike, reliable_change: float) -> FloatArray:
    """Reference expected change from intake after ``dose`` sessions (negative = better on a
    symptom scale): :math:`-RC \\cdot P(d) / 0.5` with Howard et al.'s (1986) probit curve.

    >>> reference_change([0, 8, 26], 6.0).round(2).tolist()
    [-0.0, -6.0, -9.0]
    """
    if not np.isfinite(reliable_change) or reliable_change <= 0:
        raise ValueError("reliable_change must be a finite number > 0")
    return -float(reliable_change) * howard_dose_effect(dose) / 0.5


def reference_sd(reliable_change: float) -> float:
    """Reference SD of a score around the expected change: RC / z(0.90), so the reference
    not-on-track line at intake is intake + RC (reliable deterioration).

    >>> round(reference_sd(6.0), 3)
    4.682
    """
    return float(reliable_change) / float(stats.norm.ppf(WARNING_QUANTILE))


@dataclass(frozen=True)
class Series:
    """In-treatment scores of ended episodes, one row per score, ordered by episode then
    time. ``episode`` is 0..E-1; ``group`` (per episode) the modality index."""

    episode: IntArray
    dose: IntArray
    score: FloatArray
    group: IntArray

    def __post_init__(self) -> None:
        e, d, s = (np.asarray(x) for x in (self.episode, self.dose, self.score))
        if not (e.ndim == d.ndim == s.ndim == 1 and e.size == d.size == s.size):
            raise ValueError("episode, dose and score must be one-dimensional and equal")
        if e.size and (np.any(np.diff(e) < 0) or e.min() < 0):
            raise ValueError("rows must be ordered by episode index (0, 1, ...)")
        if e.size and e.max() >= np.asarray(self.group).size:
            raise ValueError("every episode needs a group")
        if s.size and not np.all(np.isfinite(s)):
            raise ValueError("scores must be finite")
        if d.size and d.min() < 0:
            raise ValueError("doses must be >= 0")

    @property
    def n_episodes(self) -> int:
        return int(np.asarray(self.group).size)

    def first_last(self) -> tuple[FloatArray, FloatArray, IntArray]:
        """Intake and last score per episode (NaN without scores) and the count of scores."""
        n = self.n_episodes
        counts = np.bincount(self.episode, minlength=n)
        first = np.full(n, np.nan)
        last = np.full(n, np.nan)
        if self.episode.size:
            starts = np.flatnonzero(np.r_[True, self.episode[1:] != self.episode[:-1]])
            ends = np.r_[starts[1:], self.episode.size] - 1
            first[self.episode[starts]] = self.score[starts]
            last[self.episode[ends]] = self.score[ends]
        return first, last, counts.astype(np.int64)

    def subset(self, keep: BoolArray) -> Series:
        """The rows of the episodes where ``keep`` (per episode) is true, renumbered."""
        keep = np.asarray(keep, dtype=bool)
        new = np.cumsum(keep) - 1
        rows = keep[self.episode]
        return Series(
            new[self.episode[rows]].astype(np.int64),
            self.dose[rows],
            self.score[rows],
            np.asarray(self.group)[keep],
        )


@dataclass(frozen=True)
class DoseCurves:
    """Shrunk expected-change curves, one row per modality group, one column per dose bin.

    ``n`` episodes per cell; ``practice_mean`` / ``practice_var`` the practice's own cell
    figures (NaN without data); ``weight`` the shrinkage weight *w*; ``mean`` / ``sd`` the
    expected change and the spread of a score; ``k`` = sigma2_within / tau2 (``inf`` when
    the practice does not differ from the reference beyond chance, or has no data)."""

    reliable_change: float
    higher_is_better: bool
    n: IntArray
    n_episodes: IntArray
    practice_mean: FloatArray
    practice_var: FloatArray
    reference_mean: FloatArray
    reference_sd: float
    weight: FloatArray
    mean: FloatArray
    sd: FloatArray
    sigma2_within: float
    tau2: float
    k: float

    def line(self, group: ArrayLike, dose: ArrayLike, intake: ArrayLike) -> FloatArray:
        """The not-on-track line (score) for each (group, dose, intake)."""
        lo, _, hi = self.band(group, dose, intake)
        return lo if self.higher_is_better else hi

    def band(
        self,
        group: ArrayLike,
        dose: ArrayLike,
        intake: ArrayLike,
        quantile: float = WARNING_QUANTILE,
        scale: tuple[float, float] = (-np.inf, np.inf),
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Lower edge, expected score and upper edge of the central band (80 % by default)."""
        g = np.asarray(group, dtype=np.intp)
        b = dose_bin(dose)
        x0 = np.asarray(intake, dtype=np.float64)
        sign = -1.0 if self.higher_is_better else 1.0
        mid = x0 + sign * self.mean[g, b]
        z = float(stats.norm.ppf(quantile))
        half = z * self.sd[g, b]
        lo, hi = scale
        return np.clip(mid - half, lo, hi), np.clip(mid, lo, hi), np.clip(mid + half, lo, hi)

    def not_on_track(
        self, group: ArrayLike, dose: ArrayLike, score: ArrayLike, intake: ArrayLike
    ) -> BoolArray:
        """True where the score lies past the not-on-track line (never at dose 0)."""
        line = self.line(group, dose, intake)
        y = np.asarray(score, dtype=np.float64)
        past = (y < line) if self.higher_is_better else (y > line)
        return past & (np.asarray(dose) > 0)


def fit(
    series: Series, n_groups: int, reliable_change: float, *, higher_is_better: bool = False
) -> DoseCurves:
    """Shrunk dose curves from ended episodes (module docstring, step 3).

    Changes are taken on the symptom direction (a higher-is-better scale is mirrored).

    >>> s = Series(np.array([0, 0, 1, 1]), np.array([0, 8, 0, 8]),
    ...            np.array([15.0, 9.0, 17.0, 11.0]), np.array([0, 0]))
    >>> c = fit(s, 1, 6.0)
    >>> int(c.n[0, 6]), float(c.practice_mean[0, 6]), float(c.weight[0, 6])
    (2, -6.0, 1.0)
    >>> float(fit(s.subset(np.array([False, False])), 1, 6.0).weight.max())
    0.0
    """
    rc = float(reliable_change)
    sign = -1.0 if higher_is_better else 1.0
    n_bins = len(DOSE_EDGES)
    mu0 = reference_change(_BIN_DOSE, rc)
    sd0 = reference_sd(rc)
    shape = (n_groups, n_bins)
    n = np.zeros(shape, dtype=np.int64)
    mean = np.full(shape, np.nan)
    var = np.full(shape, np.nan)
    if series.episode.size:
        first, _, _ = series.first_last()
        change = sign * (series.score - first[series.episode])
        b = dose_bin(series.dose)
        # One value per (episode, bin): the mean of the episode's changes in that bin.
        key = series.episode * n_bins + b
        uniq, inv = np.unique(key, return_inverse=True)
        unit = np.bincount(inv, weights=change) / np.bincount(inv)
        unit_ep = uniq // n_bins
        unit_bin = uniq % n_bins
        unit_cell = np.asarray(series.group)[unit_ep] * n_bins + unit_bin
        cells = n_groups * n_bins
        cnt = np.bincount(unit_cell, minlength=cells)
        tot = np.bincount(unit_cell, weights=unit, minlength=cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = tot / cnt
            sq = np.bincount(unit_cell, weights=(unit - m[unit_cell]) ** 2, minlength=cells)
            v = np.where(cnt >= 2, sq / (cnt - 1), np.nan)
        n = cnt.reshape(shape).astype(np.int64)
        mean = np.where(n > 0, m.reshape(shape), np.nan)
        var = v.reshape(shape)
    # Bin 0 (before any session) is the intake itself: change 0 by construction, not data.
    n_est = n.copy()
    n_est[:, 0] = 0
    df = np.where(n_est >= 2, n_est - 1, 0)
    sigma2_w = float((df * np.nan_to_num(var)).sum() / df.sum()) if df.sum() else sd0**2
    have = n_est > 0
    if have.any():
        dev2 = (mean - mu0[None, :]) ** 2 - sigma2_w / np.maximum(n_est, 1)
        tau2 = max(0.0, float(dev2[have].mean()))
    else:
        tau2 = 0.0
    k = sigma2_w / tau2 if tau2 > 0 else np.inf
    # w = n / (n + k) = n tau2 / (n tau2 + sigma2_w), written so that k = 0 or inf is exact.
    num = n_est * tau2
    den = num + sigma2_w
    weight = np.divide(num, den, out=np.zeros(shape), where=have & (den > 0))
    shrunk = np.where(have, weight * np.nan_to_num(mean) + (1 - weight) * mu0[None, :], mu0)
    own_var = np.where(n_est >= 2, np.nan_to_num(var), 0.0)
    spread = (PRIOR_DF * sd0**2 + df * own_var) / (PRIOR_DF + df)
    # Uncertainty of the shrunk mean: sigma2_w / (n + k) = (1 - w) tau2 (tau2 without data).
    mean_var = (1.0 - weight) * tau2
    sd = np.sqrt(spread + mean_var)
    return DoseCurves(
        reliable_change=rc,
        higher_is_better=higher_is_better,
        n=n_est,
        n_episodes=np.bincount(np.asarray(series.group), minlength=n_groups).astype(np.int64),
        practice_mean=np.where(have, mean, np.nan),
        practice_var=np.where(n_est >= 2, var, np.nan),
        reference_mean=mu0,
        reference_sd=sd0,
        weight=weight,
        mean=shrunk,
        sd=sd,
        sigma2_within=sigma2_w,
        tau2=tau2,
        k=float(k),
    )


def poor_end(
    first: ArrayLike, last: ArrayLike, reliable_change: float, *, higher_is_better: bool = False
) -> BoolArray:
    """A poor end result: no reliable improvement from the first to the last score (reliable
    deterioration included). A change of exactly RC counts as reliable, as in NHS Talking
    Therapies.

    >>> poor_end([15, 15, 15], [9, 10, 22], 6.0).tolist()
    [False, True, True]
    """
    pre = np.asarray(first, dtype=np.float64)
    post = np.asarray(last, dtype=np.float64)
    gain = (post - pre) if higher_is_better else (pre - post)
    return ~(gain >= float(reliable_change))


@dataclass(frozen=True)
class Accuracy:
    """Sensitivity and specificity of a flag for a poor end, with Wilson 95 % intervals."""

    n: int
    poor: int
    true_pos: int
    false_neg: int
    true_neg: int
    false_pos: int
    sensitivity: float | None
    sensitivity_ci: tuple[float, float] | None
    specificity: float | None
    specificity_ci: tuple[float, float] | None
    folds: int
    too_few: bool

    @classmethod
    def of(cls, flagged: BoolArray, poor: BoolArray, folds: int, too_few: bool) -> Accuracy:
        f = np.asarray(flagged, dtype=bool)
        p = np.asarray(poor, dtype=bool)
        tp, fn = int((f & p).sum()), int((~f & p).sum())
        tn, fp = int((~f & ~p).sum()), int((f & ~p).sum())

        def prop(x: int, m: int) -> tuple[float | None, tuple[float, float] | None]:
            if too_few or m == 0:
                return None, None
            lo, hi = wilson_interval(np.array([x]), np.array([m]))
            return x / m, (float(lo[0]), float(hi[0]))

        sens, sens_ci = prop(tp, tp + fn)
        spec, spec_ci = prop(tn, tn + fp)
        return cls(
            int(f.size), int(p.sum()), tp, fn, tn, fp, sens, sens_ci, spec, spec_ci, folds, too_few
        )


def _interim_flags(series: Series, line: FloatArray, higher_is_better: bool) -> BoolArray:
    """Per episode: is any score strictly between the first and the last past ``line``?"""
    _, _, counts = series.first_last()
    if not series.episode.size:
        return np.zeros(series.n_episodes, dtype=bool)
    starts = np.flatnonzero(np.r_[True, series.episode[1:] != series.episode[:-1]])
    pos = np.arange(series.episode.size) - np.repeat(
        starts, np.diff(np.r_[starts, series.episode.size])
    )
    interim = (pos > 0) & (pos < counts[series.episode] - 1)
    past = (series.score < line) if higher_is_better else (series.score > line)
    hit = interim & past & (series.dose > 0)
    return np.bincount(series.episode, weights=hit, minlength=series.n_episodes) > 0


def cross_validate(
    series: Series,
    n_groups: int,
    reliable_change: float,
    *,
    folds: int = 5,
    seed: int = 20261206,
    higher_is_better: bool = False,
) -> tuple[Accuracy, Accuracy]:
    """k-fold cross-validated accuracy of the dose-curve flag, and the same-episode baseline
    (flag only scores past intake + RC), for a poor end result (module docstring, step 4).

    Eligible episodes have at least three scores. Returns ``(dose_rule, baseline)``.
    """
    first, last, counts = series.first_last()
    eligible = counts >= 3
    idx = np.flatnonzero(eligible)
    n = int(idx.size)
    poor = poor_end(first, last, reliable_change, higher_is_better=higher_is_better)[idx]
    sign = -1.0 if higher_is_better else 1.0
    base_line = first[series.episode] + sign * float(reliable_change)
    baseline = _interim_flags(series, base_line, higher_is_better)[idx]
    if n < MIN_EPISODES_CV:
        empty = np.zeros(n, dtype=bool)
        return Accuracy.of(empty, poor, 0, True), Accuracy.of(baseline, poor, 0, True)
    k = min(int(folds), n)
    fold_of = np.full(series.n_episodes, -1)
    fold_of[idx[np.random.default_rng(seed).permutation(n)]] = np.arange(n) % k
    flagged = np.zeros(series.n_episodes, dtype=bool)
    group = np.asarray(series.group)
    for f in range(k):
        test = fold_of == f
        curves = fit(
            series.subset(~test), n_groups, reliable_change, higher_is_better=higher_is_better
        )
        held = series.subset(test)
        h_first, _, _ = held.first_last()
        line = curves.line(group[test][held.episode], held.dose, h_first[held.episode])
        flagged[np.flatnonzero(test)] = _interim_flags(held, line, higher_is_better)
    return Accuracy.of(flagged[idx], poor, k, False), Accuracy.of(baseline, poor, k, False)


def group_index(labels: Sequence[str], values: Sequence[str]) -> IntArray:
    """Index of each value in ``labels`` (helper for callers mapping modality codes).

    >>> group_index(["a", "b"], ["b", "a", "b"]).tolist()
    [1, 0, 1]
    """
    pos = {v: i for i, v in enumerate(labels)}
    return np.asarray([pos[v] for v in values], dtype=np.int64)
