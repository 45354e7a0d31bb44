"""Grouped practice statistics, vectorised: one pass of ``numpy.bincount`` per quantity.

The dashboard splits a practice's episodes by modality, therapist, intake severity and
treatment length, and each split needs the same figures per group: a pre-post effect size
with its confidence interval, rates with Wilson intervals, and mean follow-up change. Looping
over groups in Python and calling :mod:`reverie.outcomes.effects` once per group would cost
one pass over 100 000 episodes per group; here every group is computed from running sums in
a single pass, so a split costs the same whether it has 4 groups or 500.

No Django imports: the functions take numpy arrays and return numpy arrays. The grouped
effect sizes reproduce :func:`reverie.outcomes.effects.prepost_effect_size` (``d_pre``,
Becker 1988 CI) group by group; ``tests/outcomes/test_evidence.py`` checks that.

References
----------
Becker, B. J. (1988). Synthesizing standardized mean-change measures. *British Journal of
Mathematical and Statistical Psychology, 41*\\(2), 257-278.
https://doi.org/10.1111/j.2044-8317.1988.tb00901.x

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association, 22*\\(158), 209-212.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from reverie.outcomes.effects import wilson_interval

__all__ = [
    "MIN_CELL",
    "GroupedEffect",
    "GroupedMean",
    "GroupedRate",
    "grouped_mean",
    "grouped_prepost",
    "grouped_rate",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Cells with fewer episodes than this are suppressed (small-cell rule of the dashboard).
MIN_CELL: int = 10


def _groups(group: ArrayLike, n_groups: int, size: int) -> NDArray[np.intp]:
    g = np.asarray(group)
    if g.shape != (size,):
        raise ValueError(f"group must be one-dimensional with {size} entries; got {g.shape}")
    if not np.issubdtype(g.dtype, np.integer):
        raise ValueError("group must hold integer group indices")
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError(f"group indices must lie in 0..{n_groups - 1}")
    return g.astype(np.intp)


@dataclass(frozen=True)
class GroupedEffect:
    """Per-group pre-post effect size (``d_pre``) with a Becker (1988) normal-theory CI.

    Every attribute is an array with one entry per group; groups with fewer than 3 pairs or a
    zero pre-treatment SD have NaN estimates.
    """

    n: IntArray
    mean_pre: FloatArray
    mean_post: FloatArray
    sd_pre: FloatArray
    r: FloatArray
    d: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    hedges: NDArray[np.bool_]


def grouped_prepost(
    pre: ArrayLike,
    post: ArrayLike,
    group: ArrayLike,
    n_groups: int,
    *,
    higher_is_better: bool = False,
    level: float = 0.95,
    hedges_below: int = 20,
) -> GroupedEffect:
    """Pre-post Cohen's *d* (pre-treatment SD) per group, with 95 % CIs, in one pass.

    Parameters
    ----------
    pre, post : array_like, shape (n,)
        Paired scores; rows where either is NaN are ignored.
    group : array_like of int, shape (n,)
        Group index of each pair, ``0 .. n_groups - 1``.
    n_groups : int
        Number of groups.
    higher_is_better : bool, default False
        Direction of the scale; estimates are positive for improvement either way.
    level : float, default 0.95
        Confidence level.
    hedges_below : int, default 20
        Groups with fewer pairs get Hedges' small-sample correction
        :math:`J = 1 - 3/(4(n-1) - 1)` (docs/statistics.md: small groups report *g*).

    Returns
    -------
    GroupedEffect

    Notes
    -----
    With :math:`S_x, S_{xx}, S_{xy}` the running sums per group,
    :math:`SD_{pre} = \\sqrt{(S_{xx} - S_x^2/n)/(n-1)}`,
    :math:`d = (M_{pre} - M_{post}) / SD_{pre}` and
    :math:`\\operatorname{Var}(d) = 2(1-r)/n + d^2/(2n)` (Becker, 1988); the interval is
    :math:`d \\pm z_{1-\\alpha/2}\\sqrt{\\operatorname{Var}(d)}`.

    References
    ----------
    Becker (1988), *Br J Math Stat Psychol 41*\\(2), 257-278; Hedges, L. V. (1981),
    *J Educ Stat 6*\\(2), 107-128.

    Examples
    --------
    >>> res = grouped_prepost([20, 18, 15, 22, 17, 19, 9, 8, 7], [12, 10, 11, 15, 9, 14, 8, 8, 8],
    ...                       [0, 0, 0, 0, 0, 0, 1, 1, 1], 2, hedges_below=0)
    >>> res.n.tolist(), round(float(res.d[0]), 3), round(float(res.ci_low[0]), 3)
    ([6, 3], 2.745, 1.084)
    """
    x = np.asarray(pre, dtype=np.float64)
    y = np.asarray(post, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("pre and post must be one-dimensional and equally long")
    g = _groups(group, n_groups, x.size)
    ok = np.isfinite(x) & np.isfinite(y)
    # Weighting by ``ok`` instead of indexing keeps every pass a plain bincount.
    x = np.where(ok, x, 0.0)
    y = np.where(ok, y, 0.0)
    n = np.bincount(g, weights=ok, minlength=n_groups)
    sx = np.bincount(g, weights=x, minlength=n_groups)
    sy = np.bincount(g, weights=y, minlength=n_groups)
    sxx = np.bincount(g, weights=x * x, minlength=n_groups)
    syy = np.bincount(g, weights=y * y, minlength=n_groups)
    sxy = np.bincount(g, weights=x * y, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx, my = sx / n, sy / n
        vx = np.maximum(sxx - sx * sx / n, 0.0) / (n - 1)
        vy = np.maximum(syy - sy * sy / n, 0.0) / (n - 1)
        cov = (sxy - sx * sy / n) / (n - 1)
        sdx = np.sqrt(vx)
        r = np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0)
        gain = (my - mx) if higher_is_better else (mx - my)
        d = gain / sdx
    usable = (n >= 3) & (sdx > 0) & np.isfinite(d)
    small = usable & (n < hedges_below)
    j = np.ones(n_groups)
    j[small] = 1.0 - 3.0 / (4.0 * (n[small] - 1.0) - 1.0)
    d = np.where(usable, d * j, np.nan)
    r = np.where(usable, np.where(np.isfinite(r), r, 0.0), np.nan)
    z = float(stats.norm.ppf(0.5 + float(level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(2.0 * (1.0 - r) / n + d * d / (2.0 * n))
    return GroupedEffect(
        n=n.astype(np.int64),
        mean_pre=np.where(n > 0, mx, np.nan),
        mean_post=np.where(n > 0, my, np.nan),
        sd_pre=np.where(n > 1, sdx, np.nan),
        r=r,
        d=d,
        ci_low=d - z * se,
        ci_high=d + z * se,
        hedges=small,
    )


@dataclass(frozen=True)
class GroupedRate:
    """Events, denominators, rates and Wilson 95 % limits per group."""

    events: IntArray
    n: IntArray
    rate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


def grouped_rate(
    event: ArrayLike, eligible: ArrayLike, group: ArrayLike, n_groups: int
) -> GroupedRate:
    """Rate of ``event`` among ``eligible`` rows per group, with Wilson score intervals.

    Parameters
    ----------
    event, eligible : array_like of bool, shape (n,)
        Numerator and denominator membership (an event outside ``eligible`` is ignored).
    group : array_like of int, shape (n,)
        Group index of each row.
    n_groups : int
        Number of groups.

    Returns
    -------
    GroupedRate

    References
    ----------
    Wilson (1927); Newcombe, R. G. (1998), *Stat Med 17*\\(8), 857-872 (method 3).

    Examples
    --------
    >>> res = grouped_rate([1, 0, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1], 2)
    >>> res.events.tolist(), res.n.tolist(), res.rate.tolist()
    ([1, 1], [2, 1], [0.5, 1.0])
    """
    e = np.asarray(event, dtype=bool)
    el = np.asarray(eligible, dtype=bool)
    if e.shape != el.shape or e.ndim != 1:
        raise ValueError("event and eligible must be one-dimensional and equally long")
    g = _groups(group, n_groups, e.size)
    n = np.bincount(g, weights=el, minlength=n_groups).astype(np.int64)
    k = np.bincount(g, weights=el & e, minlength=n_groups).astype(np.int64)
    lo, hi = wilson_interval(k, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    return GroupedRate(events=k, n=n, rate=rate, ci_low=lo, ci_high=hi)


@dataclass(frozen=True)
class GroupedMean:
    """Mean, count and t-based 95 % limits per group."""

    n: IntArray
    mean: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


def grouped_mean(
    values: ArrayLike, group: ArrayLike, n_groups: int, level: float = 0.95
) -> GroupedMean:
    """Mean of ``values`` per group with a Student-t confidence interval; NaN values ignored.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        E.g. the change from the last session to a follow-up score.
    group : array_like of int, shape (n,)
        Group index of each value.
    n_groups : int
        Number of groups.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    GroupedMean
        :math:`\\bar{x} \\pm t_{n-1, 1-\\alpha/2} \\, s / \\sqrt{n}`; NaN limits below 2 values.

    References
    ----------
    Student (1908). The probable error of a mean. *Biometrika, 6*\\(1), 1-25.

    Examples
    --------
    >>> m = grouped_mean([1.0, 3.0, float("nan"), 2.0], [0, 0, 0, 1], 2)
    >>> m.n.tolist(), m.mean.tolist(), round(float(m.ci_high[0]), 3)
    ([2, 1], [2.0, 2.0], 14.706)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError("values must be one-dimensional")
    g = _groups(group, n_groups, v.size)
    ok = np.isfinite(v)
    v = np.where(ok, v, 0.0)
    n = np.bincount(g, weights=ok, minlength=n_groups)
    s = np.bincount(g, weights=v, minlength=n_groups)
    ss = np.bincount(g, weights=v * v, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        sd = np.sqrt(np.maximum(ss - s * s / n, 0.0) / (n - 1))
        t = stats.t.ppf(0.5 + float(level) / 2.0, np.maximum(n - 1, 1))
        half = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    mean = np.where(n > 0, mean, np.nan)
    return GroupedMean(n=n.astype(np.int64), mean=mean, ci_low=mean - half, ci_high=mean + half)
