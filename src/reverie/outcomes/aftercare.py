"""After therapy ends: change from the last session to a follow-up, a bound for the people who
did not answer, and the difference between modalities.

No Django imports: numpy arrays in, numbers out. The dashboard's follow-up panel uses these
(``dashboard.followup._aftercare``); docs/statistics.md section 5a explains them in plain words.

* :func:`carried_forward_change` is the sensitivity bound for non-returners: everyone whose
  follow-up was due is counted, and a person who did not answer is given their last
  in-treatment score as the follow-up score (a change of 0: "no further change after
  ending"). Because people who stay in touch tend to be those who are doing well, the observed
  mean among responders is one end of the plausible range and the carried-forward mean over
  everyone due is the other, more cautious, end.
* :func:`welch_difference` is the difference of two means with the Welch-Satterthwaite
  interval (no equal-variance assumption).
* :func:`minimum_detectable_difference` says what a comparison of this size could detect.

References
----------
Welch, B. L. (1947). The generalization of "Student's" problem when several different
population variances are involved. *Biometrika, 34*\\(1-2), 28-35.
https://doi.org/10.1093/biomet/34.1-2.28

Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
*Biometrics Bulletin, 2*\\(6), 110-114. https://doi.org/10.2307/3002019

Lachin, J. M. (1981). Introduction to sample size determination and power analysis for
clinical trials. *Controlled Clinical Trials, 2*\\(2), 93-113.
https://doi.org/10.1016/0197-2456(81)90001-5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "Difference",
    "MeanCI",
    "carried_forward_change",
    "mean_ci",
    "minimum_detectable_difference",
    "welch_difference",
]


@dataclass(frozen=True)
class MeanCI:
    """A mean with its Student-t interval (NaN limits below two values)."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    sd: float


def mean_ci(values: ArrayLike, level: float = 0.95) -> MeanCI:
    """Mean and t interval of the finite values: x̄ ± t(n−1) · s / √n.

    >>> m = mean_ci([1.0, 2.0, 3.0, float("nan")])
    >>> m.n, m.mean, round(m.ci_high, 3)
    (3, 2.0, 4.484)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return MeanCI(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return MeanCI(n, mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return MeanCI(n, mean, mean - half, mean + half, sd)


def carried_forward_change(
    end: ArrayLike, followup: ArrayLike, due: ArrayLike, level: float = 0.95
) -> MeanCI:
    """Mean change from the last session to a follow-up over everyone whose follow-up was due,
    the non-returners given their last in-treatment score (change 0).

    Parameters
    ----------
    end : array_like
        Last in-treatment score of each episode.
    followup : array_like
        Follow-up score, NaN where it was not answered.
    due : array_like of bool
        Whether the follow-up was due (the episode ended long enough ago). Episodes not due
        are left out, answered or not.

    Returns
    -------
    MeanCI
        Over the due episodes with an end score: mean of (follow-up − end), with 0 for those
        who did not answer, and its t interval.

    Examples
    --------
    Two responders improved by 4 and 6 points; two due non-returners count as 0; the
    fifth episode is not due yet:

    >>> m = carried_forward_change([10, 10, 12, 9, 8], [6, 4, float("nan"), float("nan"), 2],
    ...                            [True, True, True, True, False])
    >>> m.n, m.mean
    (4, -2.5)
    """
    e = np.asarray(end, dtype=np.float64)
    f = np.asarray(followup, dtype=np.float64)
    d = np.asarray(due, dtype=bool)
    if not (e.shape == f.shape == d.shape):
        raise ValueError("end, followup and due must have the same shape")
    use = d & np.isfinite(e)
    change = np.where(np.isfinite(f), f - e, 0.0)
    return mean_ci(change[use], level)


@dataclass(frozen=True)
class Difference:
    """Mean of a minus mean of b, with the Welch interval."""

    n_a: int
    n_b: int
    difference: float
    ci_low: float
    ci_high: float
    se: float
    df: float


def welch_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> Difference:
    """Difference of two means with the Welch-Satterthwaite confidence interval.

    .. math::

        SE = \\sqrt{s_a^2/n_a + s_b^2/n_b}, \\quad
        df = \\frac{SE^4}{(s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)}, \\quad
        (\\bar{a} - \\bar{b}) \\pm t_{df, 1-\\alpha/2} \\, SE

    NaN values are ignored; with fewer than two values in either group every figure is NaN.

    References
    ----------
    Welch (1947), https://doi.org/10.1093/biomet/34.1-2.28; Satterthwaite (1946),
    https://doi.org/10.2307/3002019.

    Examples
    --------
    >>> r = welch_difference([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0])
    >>> round(r.difference, 3), round(r.df, 3), round(r.ci_low, 2), round(r.ci_high, 2)
    (-1.5, 3.235, -5.54, 2.54)
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    na, nb = int(x.size), int(y.size)
    if na < 2 or nb < 2:
        nan = math.nan
        return Difference(na, nb, nan, nan, nan, nan, nan)
    va, vb = float(x.var(ddof=1)) / na, float(y.var(ddof=1)) / nb
    se = math.sqrt(va + vb)
    diff = float(x.mean() - y.mean())
    if se == 0:
        return Difference(na, nb, diff, diff, diff, 0.0, math.inf)
    df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Difference(na, nb, diff, diff - half, diff + half, se, df)


def minimum_detectable_difference(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference a two-sided test at ``alpha`` detects with ``power``, given the
    standard error the comparison has: (z_{1−α/2} + z_{power}) · SE (normal approximation;
    Lachin, 1981).

    >>> round(minimum_detectable_difference(1.0), 2)
    2.8
    """
    if not (se > 0 and math.isfinite(se)):
        return math.nan
    return (float(stats.norm.ppf(1 - alpha / 2)) + float(stats.norm.ppf(power))) * se
