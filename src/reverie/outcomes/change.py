"""Individual-level change: reliable change, clinical significance and NHS Talking Therapies rules.

This module is deliberately free of Django and of any ORM import: every function takes plain
numbers or numpy arrays and returns numbers or numpy arrays, so that the practice dashboard can
classify 100 000 episodes in a handful of vectorised numpy operations and so that the
definitions can be tested against published values in isolation.

Conventions
-----------
* ``pre`` is the first (intake / start-of-treatment) score and ``post`` the last one.
* ``higher_is_better=False`` (the default) is the direction of symptom scales such as the PHQ-9
  and GAD-7, where a falling score means improvement.
* Array functions accept anything ``numpy.asarray`` understands and broadcast scalars.

Primary references
------------------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
meaningful change in psychotherapy research. *Journal of Consulting and Clinical Psychology,
59*\\(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

NHS Digital. *Psychological Therapies: reports on the use of IAPT services, England* (monthly
official statistics), "Outcomes" pages, e.g. the December 2020 final report.

NHS Digital. *Psychological Therapies: A guide to IAPT data and publications*, v2.1 (guidance
for the IAPT v2.1 data set), "Notes on terminology": caseness, recovery, reliable improvement,
reliable recovery, finishing a course of treatment and the PROM threshold table
(https://digital.nhs.uk/binaries/content/assets/website-assets/data-and-information/datasets/iapt/iapt-v2.1-docs/iapt-v2.1-guidance-document.pdf),
read as verbatim quotations in The Strategy Unit's NHS Talking Therapies evaluation framework
(GitHub ``The-Strategy-Unit/talking_therapies``, ``outputs/evaluation_framework.qmd``, commit
413b3626c037cba20881675760ca31660f256568, which attributes them to this guide; an earlier
version of that file, commit 4529fe49, attributed the same passages to the NHS Talking
Therapies Manual v7.1, which Reverie used to cite). The PDF itself was not retrieved. The
docstrings below say, rule by rule, what was and was not verified, and ``docs/statistics.md``
(sections 3 and 10) records the sources and quotations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FOLLOWUP_MONTHS",
    "GAD7_CASENESS",
    "GAD7_MAX",
    "GAD7_RELIABLE_CHANGE",
    "PHQ9_CASENESS",
    "PHQ9_MAX",
    "PHQ9_RELIABLE_CHANGE",
    "PHQ9_REMISSION_BELOW",
    "RCI_CRITICAL_VALUE",
    "FollowupStatus",
    "FollowupSummary",
    "JTCategory",
    "NhsTtPairedOutcomes",
    "NhsTtSummary",
    "at_caseness",
    "classify_followup",
    "classify_jacobson_truax",
    "cutoff_a",
    "cutoff_b",
    "cutoff_c",
    "followup_change",
    "nhs_tt_paired_outcomes",
    "pooled_mean_sd",
    "reliable_change_direction",
    "reliable_change_index",
    "reliable_change_threshold",
    "remission",
    "response",
    "standard_error_of_difference",
    "standard_error_of_measurement",
    "summarise_followup",
    "summarise_nhs_tt",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Int8Array = NDArray[np.int8]

#: Two-sided 5 % critical value used by Jacobson & Truax (1991) for the RC index.
RCI_CRITICAL_VALUE: float = 1.96

#: PHQ-9 total score range is 0-27 (Kroenke, Spitzer & Williams, 2001).
PHQ9_MAX: int = 27
#: GAD-7 total score range is 0-21 (Spitzer, Kroenke, Williams & Lowe, 2006).
GAD7_MAX: int = 21

#: NHS Talking Therapies caseness: a PHQ-9 score of 10 or more is a clinical case.
PHQ9_CASENESS: int = 10
#: NHS Talking Therapies caseness: a GAD-7 score of 8 or more is a clinical case.
GAD7_CASENESS: int = 8
#: NHS Talking Therapies reliable change on the PHQ-9: a change of 6 points or more.
PHQ9_RELIABLE_CHANGE: int = 6
#: NHS Talking Therapies reliable change on the GAD-7: a change of 4 points or more.
GAD7_RELIABLE_CHANGE: int = 4
#: Remission on the PHQ-9 is a score strictly below 5.
PHQ9_REMISSION_BELOW: int = 5

#: Follow-up points (months after the last session) used by the practice reports.
FOLLOWUP_MONTHS: tuple[int, ...] = (1, 3, 6, 12)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Convert ``values`` to a float64 array, raising ``ValueError`` on non-numeric input."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {values!r}") from exc
    return arr


def _require_finite(arr: FloatArray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or infinite values; drop unpaired or missing scores first"
        )


def require_positive(value: float, name: str) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is finite and > 0.
    Shared with ``effects.py``.

    >>> require_positive(2, "sd_pre")
    2.0
    """
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number; got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return v


def _require_reliability(reliability: float) -> float:
    try:
        r = float(reliability)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"reliability must be a number; got {reliability!r}") from exc
    # r = 1 would make the standard error zero and every change "reliable"; r < 0 is not a
    # reliability coefficient at all.
    if not np.isfinite(r) or r < 0 or r >= 1:
        raise ValueError(f"reliability must be in [0, 1); got {reliability!r}")
    return r


def _broadcast_pair(a: FloatArray, b: FloatArray, names: str) -> tuple[FloatArray, FloatArray]:
    try:
        x, y = np.broadcast_arrays(a, b)
    except ValueError as exc:
        raise ValueError(f"{names} must have the same shape; got {a.shape} and {b.shape}") from exc
    return x, y


def _require_range(arr: FloatArray, low: float, high: float, name: str) -> None:
    finite = arr[np.isfinite(arr)]
    if finite.size and (finite.min() < low or finite.max() > high):
        raise ValueError(f"{name} must lie between {low:g} and {high:g}; got values outside it")


# --------------------------------------------------------------------------------------------
# Jacobson & Truax (1991)
# --------------------------------------------------------------------------------------------


def standard_error_of_measurement(sd_pre: float, reliability: float) -> float:
    """Standard error of measurement of a test score.

    Parameters
    ----------
    sd_pre : float
        Standard deviation of the pre-treatment (or normative) scores, ``s_1``.
    reliability : float
        Reliability of the measure, ``r_xx`` (test-retest or internal consistency), in [0, 1).

    Returns
    -------
    float
        :math:`S_E = s_1 \\sqrt{1 - r_{xx}}`.

    Raises
    ------
    ValueError
        If ``sd_pre`` is not positive or ``reliability`` is outside [0, 1).

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
    defining meaningful change in psychotherapy research. *Journal of Consulting and Clinical
    Psychology, 59*\\(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

    Examples
    --------
    >>> round(standard_error_of_measurement(10.0, 0.84), 6)
    4.0
    """
    sd = require_positive(sd_pre, "sd_pre")
    r = _require_reliability(reliability)
    return sd * float(np.sqrt(1.0 - r))


def standard_error_of_difference(sd_pre: float, reliability: float) -> float:
    """Standard error of the difference between two administrations of the same test.

    Parameters
    ----------
    sd_pre : float
        Standard deviation of the pre-treatment (or normative) scores.
    reliability : float
        Reliability of the measure, in [0, 1).

    Returns
    -------
    float
        :math:`S_{diff} = \\sqrt{2 S_E^2}`, where :math:`S_E` is
        :func:`standard_error_of_measurement`.

    References
    ----------
    Jacobson & Truax (1991), *J Consult Clin Psychol 59*\\(1), 12-19,
    https://doi.org/10.1037/0022-006X.59.1.12 (the denominator of the RC index).

    Examples
    --------
    >>> round(standard_error_of_difference(10.0, 0.84), 4)
    5.6569
    """
    se = standard_error_of_measurement(sd_pre, reliability)
    return float(np.sqrt(2.0 * se**2))


def reliable_change_threshold(
    sd_pre: float, reliability: float, z: float = RCI_CRITICAL_VALUE
) -> float:
    """Smallest raw-score change that counts as reliable (``z * S_diff``).

    Parameters
    ----------
    sd_pre : float
        Standard deviation of the pre-treatment (or normative) scores.
    reliability : float
        Reliability of the measure, in [0, 1).
    z : float, default 1.96
        Critical value; 1.96 is the two-sided 5 % value used by Jacobson & Truax (1991).

    Returns
    -------
    float
        :math:`1.96 \\times S_{diff}` in raw score points.

    References
    ----------
    Jacobson & Truax (1991), *J Consult Clin Psychol 59*\\(1), 12-19,
    https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    >>> round(reliable_change_threshold(10.0, 0.84), 3)
    11.087
    """
    zz = require_positive(z, "z")
    return zz * standard_error_of_difference(sd_pre, reliability)


def reliable_change_index(
    pre: ArrayLike, post: ArrayLike, sd_pre: float, reliability: float
) -> FloatArray:
    """Jacobson-Truax reliable change index for each client, vectorised.

    Parameters
    ----------
    pre, post : array_like
        Pre- and post-treatment scores (same shape, or broadcastable).
    sd_pre : float
        Standard deviation of the pre-treatment (or normative) scores.
    reliability : float
        Reliability of the measure, in [0, 1).

    Returns
    -------
    numpy.ndarray of float
        :math:`RC = (x_2 - x_1) / S_{diff}`. The sign is the raw sign of the change: on a
        symptom scale a *negative* RC is an improvement. ``|RC| > 1.96`` is reliable change.

    Raises
    ------
    ValueError
        On non-numeric or NaN scores, or invalid ``sd_pre`` / ``reliability``.

    References
    ----------
    Jacobson & Truax (1991), *J Consult Clin Psychol 59*\\(1), 12-19,
    https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    >>> reliable_change_index([20, 20], [8, 26], sd_pre=10.0, reliability=0.84).round(3).tolist()
    [-2.121, 1.061]
    """
    x1 = _as_float_array(pre, "pre")
    x2 = _as_float_array(post, "post")
    x1, x2 = _broadcast_pair(x1, x2, "pre and post")
    _require_finite(x1, "pre")
    _require_finite(x2, "post")
    s_diff = standard_error_of_difference(sd_pre, reliability)
    return (x2 - x1) / s_diff


def reliable_change_direction(
    pre: ArrayLike,
    post: ArrayLike,
    threshold: float,
    *,
    higher_is_better: bool = False,
    inclusive: bool = True,
) -> Int8Array:
    """Classify raw pre/post changes against a fixed reliable-change threshold.

    Parameters
    ----------
    pre, post : array_like
        Pre- and post-treatment scores.
    threshold : float
        Reliable change in raw points (e.g. 6 for the PHQ-9 in NHS Talking Therapies, or
        :func:`reliable_change_threshold` for a Jacobson-Truax threshold).
    higher_is_better : bool, default False
        Direction of the scale.
    inclusive : bool, default True
        If True a change *equal to* the threshold counts as reliable ("6 points or more", the
        NHS Talking Therapies wording); if False the change must exceed it (Jacobson & Truax's
        ``|RC| > 1.96``).

    Returns
    -------
    numpy.ndarray of int8
        ``+1`` reliable improvement, ``-1`` reliable deterioration, ``0`` neither. Rows where
        either score is NaN get ``0``; filter them first if that matters.

    References
    ----------
    Jacobson & Truax (1991), https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    >>> reliable_change_direction([15, 15, 15, 15], [9, 10, 21, 20], 6).tolist()
    [1, 0, -1, 0]
    >>> reliable_change_direction([15], [9], 6, inclusive=False).tolist()
    [0]
    """
    x1 = _as_float_array(pre, "pre")
    x2 = _as_float_array(post, "post")
    x1, x2 = _broadcast_pair(x1, x2, "pre and post")
    thr = require_positive(threshold, "threshold")
    gain = (x2 - x1) if higher_is_better else (x1 - x2)
    with np.errstate(invalid="ignore"):
        if inclusive:
            improved = gain >= thr
            worse = gain <= -thr
        else:
            improved = gain > thr
            worse = gain < -thr
    return improved.astype(np.int8) - worse.astype(np.int8)


def cutoff_a(
    mean_dysfunctional: float, sd_dysfunctional: float, *, higher_is_better: bool = False
) -> float:
    """Jacobson-Truax cut-off *a*: two SDs beyond the dysfunctional mean, towards health.

    Parameters
    ----------
    mean_dysfunctional, sd_dysfunctional : float
        Mean and SD of the dysfunctional (clinical) population, :math:`M_1, s_1`.
    higher_is_better : bool, default False
        Direction of the scale.

    Returns
    -------
    float
        :math:`a = M_1 - 2 s_1` for a symptom scale, :math:`M_1 + 2 s_1` when higher is
        better.

    References
    ----------
    Jacobson & Truax (1991), *J Consult Clin Psychol 59*\\(1), 12-19,
    https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    The Dyadic Adjustment Scale (higher is better) norms of Spanier (1976): divorced sample
    M = 70.7, SD = 23.8.

    >>> round(cutoff_a(70.7, 23.8, higher_is_better=True), 1)
    118.3
    """
    sd = require_positive(sd_dysfunctional, "sd_dysfunctional")
    m = float(mean_dysfunctional)
    return m + 2.0 * sd if higher_is_better else m - 2.0 * sd


def cutoff_b(
    mean_functional: float, sd_functional: float, *, higher_is_better: bool = False
) -> float:
    """Jacobson-Truax cut-off *b*: two SDs from the functional mean, towards dysfunction.

    Parameters
    ----------
    mean_functional, sd_functional : float
        Mean and SD of the functional (non-clinical) population, :math:`M_0, s_0`.
    higher_is_better : bool, default False
        Direction of the scale.

    Returns
    -------
    float
        :math:`b = M_0 + 2 s_0` for a symptom scale, :math:`M_0 - 2 s_0` when higher is
        better. Scores on the healthy side of *b* fall within the functional range.

    References
    ----------
    Jacobson & Truax (1991), https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    Spanier (1976) married sample: M = 114.8, SD = 17.8.

    >>> round(cutoff_b(114.8, 17.8, higher_is_better=True), 1)
    79.2
    """
    sd = require_positive(sd_functional, "sd_functional")
    m = float(mean_functional)
    return m - 2.0 * sd if higher_is_better else m + 2.0 * sd


def cutoff_c(
    mean_functional: float,
    sd_functional: float,
    mean_dysfunctional: float,
    sd_dysfunctional: float,
) -> float:
    """Jacobson-Truax cut-off *c*: the point equally likely under both populations.

    Parameters
    ----------
    mean_functional, sd_functional : float
        :math:`M_0, s_0` of the functional population.
    mean_dysfunctional, sd_dysfunctional : float
        :math:`M_1, s_1` of the dysfunctional population.

    Returns
    -------
    float
        :math:`c = (s_0 M_1 + s_1 M_0) / (s_0 + s_1)`, the SD-weighted midpoint. Its value
        does not depend on the direction of the scale.

    References
    ----------
    Jacobson & Truax (1991), https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    Spanier (1976) DAS norms (married 114.8 / 17.8; divorced 70.7 / 23.8):

    >>> round(cutoff_c(114.8, 17.8, 70.7, 23.8), 2)
    95.93
    """
    s0 = require_positive(sd_functional, "sd_functional")
    s1 = require_positive(sd_dysfunctional, "sd_dysfunctional")
    m0 = float(mean_functional)
    m1 = float(mean_dysfunctional)
    return (s0 * m1 + s1 * m0) / (s0 + s1)


def pooled_mean_sd(ns: ArrayLike, means: ArrayLike, sds: ArrayLike) -> tuple[float, float, int]:
    """Mean and SD of a whole sample from the n, mean and SD of its subgroups.

    Normative papers often report their figures by sex only; this recovers the figures of the
    whole sample, which is what the Jacobson-Truax cut-offs need.

    Formula (the Cochrane Handbook's formula for combining groups, applied group by group;
    equivalently, add up each group's sum and sum of squares):

    .. math::

        N = \\sum n_i, \\quad M = \\sum n_i M_i / N, \\quad
        SD^2 = \\frac{\\sum (n_i - 1) SD_i^2 + \\sum n_i (M_i - M)^2}{N - 1}

    Parameters
    ----------
    ns : array_like of int
        Group sizes (each at least 1).
    means, sds : array_like of float
        Group means and standard deviations (n - 1 denominator).

    Returns
    -------
    (float, float, int)
        Combined mean, combined SD and N.

    Raises
    ------
    ValueError
        On mismatched lengths, fewer than two people in all, a group size below 1, a negative
        SD or a non-finite value.

    References
    ----------
    Higgins, J. P. T., Li, T., & Deeks, J. J. (Eds.) (2023). Chapter 6: Choosing effect
    measures and computing estimates of effect, section 6.5.2.10 and Table 6.5.a ("combining
    groups"). In *Cochrane Handbook for Systematic Reviews of Interventions*, version 6.4.
    https://training.cochrane.org/handbook/current/chapter-06#section-6-5-2

    Examples
    --------
    The PHQ-9 general-population sample of Kocalevent, Hinz & Brähler (2013): 5,018 people,
    53.6 % women (2,690) scoring 3.1 (SD 3.5) and men (2,328) scoring 2.7 (SD 3.5):

    >>> m, sd, n = pooled_mean_sd([2690, 2328], [3.1, 2.7], [3.5, 3.5])
    >>> round(m, 2), round(sd, 2), n
    (2.91, 3.51, 5018)
    """
    n = _as_float_array(ns, "ns").ravel()
    m = _as_float_array(means, "means").ravel()
    s = _as_float_array(sds, "sds").ravel()
    if not (n.size == m.size == s.size) or n.size == 0:
        raise ValueError("ns, means and sds must be non-empty and of equal length")
    for arr, name in ((n, "ns"), (m, "means"), (s, "sds")):
        _require_finite(arr, name)
    if (n < 1).any() or (s < 0).any():
        raise ValueError("group sizes must be at least 1 and SDs non-negative")
    total = float(n.sum())
    if total < 2:
        raise ValueError("need at least two people in all")
    mean = float((n * m).sum() / total)
    ss = float(((n - 1.0) * s**2).sum() + (n * (m - mean) ** 2).sum())
    return mean, float(np.sqrt(ss / (total - 1.0))), int(total)


class JTCategory(IntEnum):
    """Jacobson & Truax (1991) outcome categories (stored as int8 codes).

    Examples
    --------
    >>> JTCategory(2).name, int(JTCategory.DETERIORATED)
    ('RECOVERED', -1)
    """

    DETERIORATED = -1
    UNCHANGED = 0
    IMPROVED = 1
    RECOVERED = 2


def classify_jacobson_truax(
    pre: ArrayLike,
    post: ArrayLike,
    *,
    sd_pre: float,
    reliability: float,
    cutoff: float,
    higher_is_better: bool = False,
    require_dysfunctional_start: bool = False,
) -> Int8Array:
    """Classify each client as recovered / improved / unchanged / deteriorated.

    A client whose RC index passes 1.96 in the healthy direction *and* whose post score is on
    the functional side of ``cutoff`` is *recovered*; passing only the RC criterion is
    *improved*; passing 1.96 in the unhealthy direction is *deteriorated*; everyone else is
    *unchanged* (Jacobson & Truax, 1991).

    Parameters
    ----------
    pre, post : array_like
        Pre- and post-treatment scores.
    sd_pre : float
        SD of pre-treatment scores used for :math:`S_E`.
    reliability : float
        Reliability of the measure, in [0, 1).
    cutoff : float
        Clinical-significance cut-off (*a*, *b* or *c*, see :func:`cutoff_c`). "Functional
        side" means strictly below it on a symptom scale and strictly above it when
        ``higher_is_better``.
    higher_is_better : bool, default False
        Direction of the scale.
    require_dysfunctional_start : bool, default False
        Jacobson & Truax do not require the pre score to be dysfunctional. When True, a
        client who already started on the functional side can be at most *improved*; this
        avoids calling someone "recovered" who was never a case.

    Returns
    -------
    numpy.ndarray of int8
        :class:`JTCategory` codes.

    Raises
    ------
    ValueError
        On NaN scores or invalid parameters.

    References
    ----------
    Jacobson & Truax (1991), *J Consult Clin Psychol 59*\\(1), 12-19,
    https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    With SD 10 and r = 0.84 the reliable change is 11.09 points; cut-off 12:

    >>> codes = classify_jacobson_truax([25, 25, 25, 10], [8, 13, 20, 22],
    ...                                 sd_pre=10, reliability=0.84, cutoff=12)
    >>> [JTCategory(c).name for c in codes]
    ['RECOVERED', 'IMPROVED', 'UNCHANGED', 'DETERIORATED']
    """
    x1 = _as_float_array(pre, "pre")
    x2 = _as_float_array(post, "post")
    x1, x2 = _broadcast_pair(x1, x2, "pre and post")
    _require_finite(x1, "pre")
    _require_finite(x2, "post")
    try:
        c = float(cutoff)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cutoff must be a number; got {cutoff!r}") from exc
    if not np.isfinite(c):
        raise ValueError("cutoff must be finite")
    s_diff = standard_error_of_difference(sd_pre, reliability)
    # Work with "gain" (positive = healthier) so one code path serves both scale directions.
    gain_rc = ((x2 - x1) if higher_is_better else (x1 - x2)) / s_diff
    improved = gain_rc > RCI_CRITICAL_VALUE
    deteriorated = gain_rc < -RCI_CRITICAL_VALUE
    functional_end = (x2 > c) if higher_is_better else (x2 < c)
    recovered = improved & functional_end
    if require_dysfunctional_start:
        dysfunctional_start = (x1 <= c) if higher_is_better else (x1 >= c)
        recovered &= dysfunctional_start
    out = np.zeros(x1.shape, dtype=np.int8)
    out[improved] = JTCategory.IMPROVED
    out[recovered] = JTCategory.RECOVERED
    out[deteriorated] = JTCategory.DETERIORATED
    return out


# --------------------------------------------------------------------------------------------
# NHS Talking Therapies (formerly IAPT) paired PHQ-9 / GAD-7 definitions
# --------------------------------------------------------------------------------------------


def at_caseness(
    phq9: ArrayLike,
    gad7: ArrayLike,
    *,
    phq9_caseness: float = PHQ9_CASENESS,
    gad7_caseness: float = GAD7_CASENESS,
) -> BoolArray:
    """NHS Talking Therapies caseness on the PHQ-9 / GAD-7 pair.

    A referral is a clinical case when its score is at or above the clinical cut-off on the
    depression measure, the anxiety measure, or both: PHQ-9 >= 10 or GAD-7 >= 8.

    Parameters
    ----------
    phq9, gad7 : array_like
        Scores at one time point. NaN counts as "not at caseness on that measure".
    phq9_caseness, gad7_caseness : float
        Cut-offs; defaults 10 and 8.

    Returns
    -------
    numpy.ndarray of bool

    References
    ----------
    Public Health England, Fingertips "Common mental disorders" profile glossary, entry
    "Caseness" (either or both of the anxiety and depression scores above the clinical cut-off).
    Cut-offs PHQ-9 >= 10 and GAD-7 >= 8 as used by the IAPT/NHS Talking Therapies programme
    (e.g. outcome definitions of trial NCT05134103 citing the IAPT criteria: PHQ-9 > 9,
    GAD-7 > 7). NHS Digital, *A guide to IAPT data and publications* v2.1, PROM table
    (PHQ-9 caseness 10, GAD-7 8), read as quoted verbatim in The Strategy Unit's evaluation
    framework (see the module docstring and docs/statistics.md section 3); "at or above" is
    the reading documented there.

    Examples
    --------
    >>> at_caseness([10, 9, 9], [0, 8, 7]).tolist()
    [True, True, False]
    """
    p = _as_float_array(phq9, "phq9")
    g = _as_float_array(gad7, "gad7")
    p, g = _broadcast_pair(p, g, "phq9 and gad7")
    with np.errstate(invalid="ignore"):
        return (p >= phq9_caseness) | (g >= gad7_caseness)


@dataclass(frozen=True)
class NhsTtPairedOutcomes:
    """Per-episode NHS Talking Therapies outcome flags (all boolean arrays of equal shape).

    Rows that are not ``paired`` (a NaN in any of the four scores) are False in every other
    field and are excluded from every denominator by :func:`summarise_nhs_tt`. Every paired
    row is exactly one of ``reliable_improvement``, ``reliable_deterioration``, ``mixed`` and
    ``no_reliable_change``.

    Examples
    --------
    >>> o = nhs_tt_paired_outcomes([16], [9], [9], [5])
    >>> o.paired.tolist(), o.recovery.tolist(), o.reliable_recovery.tolist()
    ([True], [True], [True])
    """

    paired: BoolArray
    caseness_start: BoolArray
    caseness_end: BoolArray
    reliable_improvement: BoolArray
    reliable_deterioration: BoolArray
    no_reliable_change: BoolArray
    recovery: BoolArray
    reliable_recovery: BoolArray
    mixed: BoolArray


def nhs_tt_paired_outcomes(
    phq9_pre: ArrayLike,
    phq9_post: ArrayLike,
    gad7_pre: ArrayLike,
    gad7_post: ArrayLike,
    *,
    phq9_caseness: float = PHQ9_CASENESS,
    gad7_caseness: float = GAD7_CASENESS,
    phq9_reliable_change: float = PHQ9_RELIABLE_CHANGE,
    gad7_reliable_change: float = GAD7_RELIABLE_CHANGE,
) -> NhsTtPairedOutcomes:
    """NHS Talking Therapies outcome flags from paired PHQ-9 and GAD-7 scores, vectorised.

    Rules implemented (first and last scores of a finished course of treatment):

    * **caseness** at a time point: PHQ-9 >= 10 **or** GAD-7 >= 8.
    * **reliable change on one measure**: a change of at least 6 points (PHQ-9) or 4 points
      (GAD-7), i.e. a change *equal to* the threshold counts.
    * **reliable improvement**: reliable improvement on at least one measure **and** no
      reliable deterioration on the other.
    * **reliable deterioration**: reliable deterioration on at least one measure and reliable
      improvement on neither.
    * **mixed**: reliable improvement on one measure and reliable deterioration on the other.
      Such a client is not reliable improvement (the NHS definition excludes them) and is
      reported as a category of its own rather than as deterioration; whether NHS Digital's
      ``ReliableDeterioration_Flag`` counts them could not be read, so the dashboard shows both
      figures side by side and deterioration + mixed is the "either measure" reading.
    * **no reliable change**: none of the three above.
    * **recovery**: at caseness at the start **and** not at caseness at the end (below the
      cut-off on *both* measures). Recovery does not itself require reliable improvement.
    * **reliable recovery**: recovery **and** reliable improvement.

    Parameters
    ----------
    phq9_pre, phq9_post, gad7_pre, gad7_post : array_like
        First and last scores. NaN marks a missing score; such rows are "unpaired".
    phq9_caseness, gad7_caseness : float
        Caseness cut-offs (defaults 10 and 8).
    phq9_reliable_change, gad7_reliable_change : float
        Reliable change thresholds in points (defaults 6 and 4).

    Returns
    -------
    NhsTtPairedOutcomes

    Raises
    ------
    ValueError
        If a finite score lies outside 0-27 (PHQ-9) or 0-21 (GAD-7), or shapes differ.

    Notes
    -----
    Verification status (see ``docs/statistics.md`` sections 3 and 10):

    * **Verified** against NHS Digital's *A guide to IAPT data and publications* v2.1 (read as
      a verbatim quotation, see References): paired scores are required on both measures;
      recovery is "one or both of their first scores are above the relevant caseness
      threshold" and "both of the last scores are below the relevant caseness thresholds";
      reliable improvement is a decrease "on either the PHQ-9 or the ADSM measure, or both"
      beyond the reliable change threshold, where "neither the PHQ-9 measure nor the ADSM
      measure has an increase" beyond it; reliable recovery meets "the criteria for both the
      recovery and reliable improvement measures". The guide's PROM table gives PHQ-9
      caseness 10 / reliable change 6 and GAD-7 caseness 8 / reliable change 4.
    * **Interpretation**: the guide's prose says "above" / "greater than", but its table marks
      strict thresholds explicitly (">5", ">2.3") and lists the PHQ-9 / GAD-7 values plainly,
      and a strict reading would leave a PHQ-9 of exactly 10 neither a case nor below caseness.
      Following NHS Digital as quoted in the literature ("10 or above", "6 or more", "8 or
      higher", "4 or more"), scores and changes equal to the threshold count.
    * **Not verified**: the definition of reliable deterioration. No NHS text defining it could
      be retrieved; NHS Digital publishes a count (measure M189, ``ReliableDeterioration_Flag``)
      whose derivation was not read. The guide says "it is even possible for an individual to
      show recovery but also deteriorate when evaluating the PHQ-9 and ADSM". Reverie's
      deterioration is the unambiguous part (worse on one, better on neither) and the mixed
      clients are shown beside it, so either reading can be reconstructed.
    * NHS Talking Therapies uses an anxiety disorder specific measure (ADSM) where the problem
      descriptor has one and the GAD-7 otherwise; this function always takes the GAD-7, so pass
      other thresholds to apply the rules to an ADSM pair.

    References
    ----------
    NHS Digital. *Psychological Therapies: A guide to IAPT data and publications*, v2.1,
    "Recovery", "Reliable improvement", "Reliable recovery", "Combining improvement and
    recovery measures" and the PROM table,
    https://digital.nhs.uk/binaries/content/assets/website-assets/data-and-information/datasets/iapt/iapt-v2.1-docs/iapt-v2.1-guidance-document.pdf;
    quoted verbatim in The Strategy Unit (NHS Midlands and Lancashire CSU), *NHS Talking
    Therapies: An evaluation framework to assess impacts of interventions designed to improve
    adherence*, GitHub ``The-Strategy-Unit/talking_therapies``
    ``outputs/evaluation_framework.qmd`` (commit 413b3626). NHS Digital (2021).
    *Psychological Therapies: reports on the use of IAPT services, England - December 2020
    Final*, "Outcomes".

    Examples
    --------
    Recovered and reliably improved; reliable improvement on GAD-7 but deterioration on
    PHQ-9 (mixed); not a case at intake; worse on the PHQ-9 only:

    >>> o = nhs_tt_paired_outcomes([15, 12, 6, 8], [6, 18, 4, 14], [12, 15, 5, 5], [5, 9, 3, 5])
    >>> o.reliable_recovery.tolist(), o.reliable_improvement.tolist()
    ([True, False, False, False], [True, False, False, False])
    >>> o.mixed.tolist(), o.reliable_deterioration.tolist()
    ([False, True, False, False], [False, False, False, True])
    >>> o.caseness_start.tolist()
    [True, True, False, False]
    """
    p1 = _as_float_array(phq9_pre, "phq9_pre")
    p2 = _as_float_array(phq9_post, "phq9_post")
    g1 = _as_float_array(gad7_pre, "gad7_pre")
    g2 = _as_float_array(gad7_post, "gad7_post")
    try:
        p1, p2, g1, g2 = np.broadcast_arrays(p1, p2, g1, g2)
    except ValueError as exc:
        raise ValueError("phq9_pre, phq9_post, gad7_pre and gad7_post must share a shape") from exc
    for arr, name, top in (
        (p1, "phq9_pre", PHQ9_MAX),
        (p2, "phq9_post", PHQ9_MAX),
        (g1, "gad7_pre", GAD7_MAX),
        (g2, "gad7_post", GAD7_MAX),
    ):
        _require_range(arr, 0, top, name)
    for value, name in (
        (phq9_reliable_change, "phq9_reliable_change"),
        (gad7_reliable_change, "gad7_reliable_change"),
    ):
        require_positive(value, name)

    paired = np.isfinite(p1) & np.isfinite(p2) & np.isfinite(g1) & np.isfinite(g2)
    # Zero-fill unpaired rows so comparisons are well defined, then mask with ``paired``.
    p1z, p2z, g1z, g2z = (np.where(paired, a, 0.0) for a in (p1, p2, g1, g2))

    case_start = paired & ((p1z >= phq9_caseness) | (g1z >= gad7_caseness))
    case_end = paired & ((p2z >= phq9_caseness) | (g2z >= gad7_caseness))
    phq_drop = p1z - p2z
    gad_drop = g1z - g2z
    phq_imp = phq_drop >= phq9_reliable_change
    gad_imp = gad_drop >= gad7_reliable_change
    phq_det = phq_drop <= -phq9_reliable_change
    gad_det = gad_drop <= -gad7_reliable_change

    any_imp = phq_imp | gad_imp
    any_det = phq_det | gad_det
    # A measure cannot both improve and deteriorate, so "improved on one and not deteriorated
    # on the other" is the same as "improved on any and deteriorated on none".
    improved = paired & any_imp & ~any_det
    mixed = paired & any_imp & any_det
    deteriorated = paired & any_det & ~any_imp
    no_change = paired & ~any_imp & ~any_det
    recovery = case_start & paired & ~case_end
    return NhsTtPairedOutcomes(
        paired=paired,
        caseness_start=case_start,
        caseness_end=case_end,
        reliable_improvement=improved,
        reliable_deterioration=deteriorated,
        no_reliable_change=no_change,
        recovery=recovery,
        reliable_recovery=recovery & improved,
        mixed=mixed,
    )


@dataclass(frozen=True)
class NhsTtSummary:
    """Counts and rates for a set of episodes, using NHS Digital denominators.

    ``recovery_rate`` and ``reliable_recovery_rate`` divide by the paired episodes that were
    at caseness at the start (NHS Digital: finished course of treatment minus not at
    caseness). ``reliable_improvement_rate``, ``reliable_deterioration_rate``,
    ``mixed_rate`` and ``no_reliable_change_rate`` divide by all paired episodes (the four add
    up to one). Rates are NaN when the denominator is zero.

    Examples
    --------
    >>> s = NhsTtSummary(n_paired=10, n_caseness_start=8, n_recovery=4, n_reliable_recovery=3,
    ...                  n_reliable_improvement=6, n_reliable_deterioration=1,
    ...                  n_no_reliable_change=2, n_mixed=1)
    >>> s.recovery_rate, s.reliable_recovery_rate, s.reliable_improvement_rate
    (0.5, 0.375, 0.6)
    >>> s.reliable_deterioration_rate, s.no_reliable_change_rate, s.mixed_rate
    (0.1, 0.2, 0.1)
    """

    n_paired: int
    n_caseness_start: int
    n_recovery: int
    n_reliable_recovery: int
    n_reliable_improvement: int
    n_reliable_deterioration: int
    n_no_reliable_change: int
    n_mixed: int = 0

    @staticmethod
    def _rate(num: int, den: int) -> float:
        return num / den if den else float("nan")

    @property
    def recovery_rate(self) -> float:
        """Recovered / paired episodes at caseness at intake."""
        return self._rate(self.n_recovery, self.n_caseness_start)

    @property
    def reliable_recovery_rate(self) -> float:
        """Reliably recovered / paired episodes at caseness at intake (NHS Digital measure
        M195: finished referrals minus those not at caseness at initial assessment)."""
        return self._rate(self.n_reliable_recovery, self.n_caseness_start)

    @property
    def reliable_improvement_rate(self) -> float:
        """Reliably improved / all paired episodes."""
        return self._rate(self.n_reliable_improvement, self.n_paired)

    @property
    def reliable_deterioration_rate(self) -> float:
        """Reliably deteriorated / all paired episodes (denominator inferred)."""
        return self._rate(self.n_reliable_deterioration, self.n_paired)

    @property
    def no_reliable_change_rate(self) -> float:
        """Reliable change on neither measure / all paired episodes."""
        return self._rate(self.n_no_reliable_change, self.n_paired)

    @property
    def mixed_rate(self) -> float:
        """Reliably better on one measure and reliably worse on the other / all paired."""
        return self._rate(self.n_mixed, self.n_paired)


def summarise_nhs_tt(outcomes: NhsTtPairedOutcomes) -> NhsTtSummary:
    """Count NHS Talking Therapies outcomes with the NHS Digital denominators.

    Parameters
    ----------
    outcomes : NhsTtPairedOutcomes
        Output of :func:`nhs_tt_paired_outcomes`. Filter it to finished courses of treatment
        (at least two attended treatment appointments in NHS Digital's definition) before
        calling; this module has no notion of appointments.

    Returns
    -------
    NhsTtSummary

    Notes
    -----
    The recovery, reliable recovery and reliable improvement denominators are NHS Digital's
    (verified). The NHS Digital measure definitions read give only counts for reliable
    deterioration and no reliable change (M189, M187), so dividing those (and the mixed
    category, which is Reverie's) by all paired episodes is an inference.

    References
    ----------
    NHS Digital, *Psychological Therapies: reports on the use of IAPT services, England -
    December 2020 Final*, Outcomes: recovery rate = Count_Recovery /
    (Count_FinishedCourseTreatment - Count_NotAtCaseness); reliable improvement rate =
    Count_ReliableImprovement / Count_FinishedCourseTreatment. NHS Digital IAPT measures M192
    and M195 (recovery and reliable recovery rates: "Denominator is count of referrals
    finishing in the period minus those finishing a course of treatment who were not at
    caseness at initial assessment") and M186 (reliable improvement over referrals that
    finished a course of treatment), as transcribed in The Strategy Unit's evaluation framework
    (see :func:`nhs_tt_paired_outcomes`).

    Examples
    --------
    >>> o = nhs_tt_paired_outcomes([15, 12, 6], [6, 18, 4], [12, 15, 5], [5, 9, 3])
    >>> s = summarise_nhs_tt(o)
    >>> s.n_paired, s.n_caseness_start, s.recovery_rate, round(s.reliable_improvement_rate, 3)
    (3, 2, 0.5, 0.333)
    """
    if not isinstance(outcomes, NhsTtPairedOutcomes):
        raise ValueError("outcomes must be the result of nhs_tt_paired_outcomes()")
    return NhsTtSummary(
        n_paired=int(np.count_nonzero(outcomes.paired)),
        n_caseness_start=int(np.count_nonzero(outcomes.caseness_start)),
        n_recovery=int(np.count_nonzero(outcomes.recovery)),
        n_reliable_recovery=int(np.count_nonzero(outcomes.reliable_recovery)),
        n_reliable_improvement=int(np.count_nonzero(outcomes.reliable_improvement)),
        n_reliable_deterioration=int(np.count_nonzero(outcomes.reliable_deterioration)),
        n_no_reliable_change=int(np.count_nonzero(outcomes.no_reliable_change)),
        n_mixed=int(np.count_nonzero(outcomes.mixed)),
    )


# --------------------------------------------------------------------------------------------
# Response and remission
# --------------------------------------------------------------------------------------------


def response(pre: ArrayLike, post: ArrayLike, *, reduction: float = 0.5) -> BoolArray:
    """Treatment response: a reduction of at least ``reduction`` (50 %) from baseline.

    Defined for symptom scales only (lower is better), where "50 % reduction" has a meaning.

    Parameters
    ----------
    pre, post : array_like
        Baseline and follow-up symptom scores (must be >= 0).
    reduction : float, default 0.5
        Required proportional reduction, in (0, 1].

    Returns
    -------
    numpy.ndarray of bool
        ``(pre - post) >= reduction * pre`` and ``pre > 0``. A baseline of 0 cannot show a
        proportional reduction and is never a response.

    Raises
    ------
    ValueError
        On negative or NaN scores or ``reduction`` outside (0, 1].

    References
    ----------
    Coley, R. Y., et al. (2020). Defining success in measurement-based care for depression: A
    comparison of common metrics. *Psychiatric Services*.
    https://doi.org/10.1176/appi.ps.201900295 (response = >= 50 % reduction in PHQ-9 score,
    the NCQA HEDIS definition).

    Examples
    --------
    >>> response([20, 20, 20, 0], [10, 11, 2, 0]).tolist()
    [True, False, True, False]
    """
    x1 = _as_float_array(pre, "pre")
    x2 = _as_float_array(post, "post")
    x1, x2 = _broadcast_pair(x1, x2, "pre and post")
    _require_finite(x1, "pre")
    _require_finite(x2, "post")
    if np.any(x1 < 0) or np.any(x2 < 0):
        raise ValueError("response() needs non-negative symptom scores")
    red = float(reduction)
    if not 0 < red <= 1:
        raise ValueError(f"reduction must be in (0, 1]; got {reduction!r}")
    return (x1 > 0) & ((x1 - x2) >= red * x1)


def remission(post: ArrayLike, *, below: float = PHQ9_REMISSION_BELOW) -> BoolArray:
    """Remission: a PHQ-9 score strictly below 5 (by default).

    Parameters
    ----------
    post : array_like
        Scores at the time point of interest.
    below : float, default 5
        Remission threshold; the score must be strictly lower.

    Returns
    -------
    numpy.ndarray of bool

    References
    ----------
    Coley et al. (2020), *Psychiatric Services*, https://doi.org/10.1176/appi.ps.201900295
    (remission = PHQ-9 < 5). Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The
    PHQ-9: Validity of a brief depression severity measure. *Journal of General Internal
    Medicine, 16*\\(9), 606-613 (scores 0-4 = minimal depression).

    Examples
    --------
    >>> remission([4, 5, 0]).tolist()
    [True, False, True]
    """
    x = _as_float_array(post, "post")
    _require_finite(x, "post")
    return x < float(below)


# --------------------------------------------------------------------------------------------
# Follow-up after termination
# --------------------------------------------------------------------------------------------


class FollowupStatus(IntEnum):
    """Status of one follow-up score relative to the termination score (int8 codes).

    Examples
    --------
    >>> FollowupStatus(9).name, int(FollowupStatus.RELAPSED)
    ('MISSING', -1)
    """

    RELAPSED = -1
    STABLE = 0
    IMPROVING = 1
    MISSING = 9


def followup_change(end_score: ArrayLike, followup_scores: ArrayLike) -> FloatArray:
    """Raw change from the termination score to each follow-up score.

    Parameters
    ----------
    end_score : array_like, shape (n,)
        Score at the last session.
    followup_scores : array_like, shape (n, k)
        Scores at the ``k`` follow-up points (e.g. :data:`FOLLOWUP_MONTHS`); NaN = missing.

    Returns
    -------
    numpy.ndarray of float, shape (n, k)
        ``followup - end``; NaN where the follow-up is missing. On a symptom scale a positive
        value is a worsening.

    References
    ----------
    Ali et al. (2017), *Behav Res Ther 94*, 1-8, https://doi.org/10.1016/j.brat.2017.04.006
    (monthly PHQ-9 / GAD-7 for 12 months after NHS Talking Therapies treatment).

    Examples
    --------
    >>> followup_change([5, 8], [[4, 12], [8, float("nan")]]).tolist()
    [[-1.0, 7.0], [0.0, nan]]
    """
    end, fu = _followup_arrays(end_score, followup_scores)
    return fu - end[:, None]


def _followup_arrays(end_score: ArrayLike, followup_scores: ArrayLike) -> tuple[FloatArray, ...]:
    end = _as_float_array(end_score, "end_score")
    fu = _as_float_array(followup_scores, "followup_scores")
    if end.ndim != 1:
        raise ValueError(f"end_score must be one-dimensional; got shape {end.shape}")
    if fu.ndim == 1:
        fu = fu[:, None]
    if fu.ndim != 2 or fu.shape[0] != end.shape[0]:
        raise ValueError(
            f"followup_scores must have shape (n, k) with n = {end.shape[0]}; got {fu.shape}"
        )
    _require_finite(end, "end_score")
    return end, fu


def classify_followup(
    end_score: ArrayLike,
    followup_scores: ArrayLike,
    *,
    threshold: float,
    higher_is_better: bool = False,
    rule: Literal["reliable_change", "caseness", "either"] = "reliable_change",
    caseness: float | None = None,
) -> Int8Array:
    """Classify each follow-up score as improving, stable or relapsed since termination.

    Rules
    -----
    ``"reliable_change"`` (default)
        *Improving*: further reliable improvement since the last session (change of at least
        ``threshold`` in the healthy direction). *Relapsed*: reliable worsening since the last
        session (at least ``threshold`` in the unhealthy direction). Otherwise *stable*. This
        applies the Jacobson & Truax logic to the end-to-follow-up interval.
    ``"caseness"``
        *Relapsed*: the client ended below the caseness cut-off and is at or above it at
        follow-up (the survival-analysis definition of relapse in Ali et al., 2017, who
        followed remitted NHS Talking Therapies completers with monthly PHQ-9 / GAD-7).
        *Improving* as above; otherwise *stable*. Clients who ended at caseness cannot
        relapse under this rule.
    ``"either"``
        Relapsed if either of the two relapse criteria holds.

    Parameters
    ----------
    end_score : array_like, shape (n,)
        Score at the last session.
    followup_scores : array_like, shape (n, k)
        Follow-up scores; NaN = not collected.
    threshold : float
        Reliable change in raw points (e.g. 6 for PHQ-9).
    higher_is_better : bool, default False
        Direction of the scale.
    rule : {"reliable_change", "caseness", "either"}
        Relapse definition (see above).
    caseness : float, optional
        Caseness cut-off; required for the ``"caseness"`` and ``"either"`` rules. On a symptom
        scale a score >= ``caseness`` is a case; when ``higher_is_better`` a score <=
        ``caseness`` is.

    Returns
    -------
    numpy.ndarray of int8, shape (n, k)
        :class:`FollowupStatus` codes; missing follow-ups are ``MISSING``.

    References
    ----------
    Jacobson & Truax (1991), https://doi.org/10.1037/0022-006X.59.1.12. Ali, S., Rhodes, L.,
    Moreea, O., McMillan, D., Gilbody, S., Leach, C., Lucock, M., Lutz, W., & Delgadillo, J.
    (2017). How durable is the effect of low intensity CBT for depression and anxiety?
    Remission and relapse in a longitudinal cohort study. *Behaviour Research and Therapy,
    94*, 1-8. https://doi.org/10.1016/j.brat.2017.04.006

    Examples
    --------
    PHQ-9 at the last session and at 1 and 3 months (threshold 6 points):

    >>> codes = classify_followup([8, 8, 8, 4], [[1, 2], [10, 12], [14, float("nan")], [11, 5]],
    ...                           threshold=6)
    >>> [[FollowupStatus(c).name for c in row] for row in codes]
    ... # doctest: +NORMALIZE_WHITESPACE
    [['IMPROVING', 'IMPROVING'], ['STABLE', 'STABLE'], ['RELAPSED', 'MISSING'],
     ['RELAPSED', 'STABLE']]

    Under the caseness rule only a client who *ended* below the cut-off can relapse:

    >>> codes = classify_followup([4, 10], [[10], [14]], threshold=6, rule="caseness",
    ...                           caseness=10)
    >>> [FollowupStatus(c).name for c in codes[:, 0]]
    ['RELAPSED', 'STABLE']
    """
    end, fu = _followup_arrays(end_score, followup_scores)
    thr = require_positive(threshold, "threshold")
    if rule not in ("reliable_change", "caseness", "either"):
        raise ValueError(f"rule must be 'reliable_change', 'caseness' or 'either'; got {rule!r}")

    observed = np.isfinite(fu)
    fu0 = np.where(observed, fu, 0.0)
    gain = (fu0 - end[:, None]) if higher_is_better else (end[:, None] - fu0)
    improving = observed & (gain >= thr)
    worse = observed & (gain <= -thr)
    if rule == "reliable_change":
        relapsed = worse
    else:
        if caseness is None:
            raise ValueError(f"rule={rule!r} needs a caseness cut-off")
        cut = float(caseness)
        if higher_is_better:
            ended_well = end > cut
            case_now = fu0 <= cut
        else:
            ended_well = end < cut
            case_now = fu0 >= cut
        back_to_case = observed & ended_well[:, None] & case_now
        relapsed = back_to_case if rule == "caseness" else (back_to_case | worse)
    # Relapse wins over "improving" only in impossible combinations; keep it explicit anyway.
    improving &= ~relapsed

    out = np.full(fu.shape, FollowupStatus.MISSING, dtype=np.int8)
    out[observed] = FollowupStatus.STABLE
    out[improving] = FollowupStatus.IMPROVING
    out[relapsed] = FollowupStatus.RELAPSED
    return out


@dataclass(frozen=True)
class FollowupSummary:
    """Per follow-up point counts and proportions (arrays of length ``k``).

    Proportions divide by the clients *observed* at that point; they are NaN when nobody was.

    Examples
    --------
    >>> s = summarise_followup([[1], [0], [0], [-1]])
    >>> s.proportion_improving.tolist(), s.proportion_stable.tolist()
    ([0.25], [0.5])
    """

    n_observed: NDArray[np.int64]
    n_improving: NDArray[np.int64]
    n_stable: NDArray[np.int64]
    n_relapsed: NDArray[np.int64]

    @property
    def proportion_improving(self) -> FloatArray:
        """Share still improving among those observed."""
        return _safe_divide(self.n_improving, self.n_observed)

    @property
    def proportion_stable(self) -> FloatArray:
        """Share stable among those observed."""
        return _safe_divide(self.n_stable, self.n_observed)

    @property
    def proportion_relapsed(self) -> FloatArray:
        """Share relapsed among those observed."""
        return _safe_divide(self.n_relapsed, self.n_observed)


def _safe_divide(num: NDArray[np.int64], den: NDArray[np.int64]) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def summarise_followup(status: ArrayLike) -> FollowupSummary:
    """Count improving / stable / relapsed clients at each follow-up point.

    Parameters
    ----------
    status : array_like of int, shape (n, k)
        Output of :func:`classify_followup`.

    Returns
    -------
    FollowupSummary

    References
    ----------
    Ali et al. (2017), https://doi.org/10.1016/j.brat.2017.04.006 (proportions relapsed among
    those followed up at each point).

    Examples
    --------
    >>> s = summarise_followup([[1, 0], [0, 9], [-1, -1]])
    >>> s.n_observed.tolist(), s.proportion_relapsed.round(3).tolist()
    ([3, 2], [0.333, 0.5])
    """
    st = np.asarray(status)
    if st.ndim == 1:
        st = st[:, None]
    if st.ndim != 2:
        raise ValueError(f"status must be two-dimensional (n, k); got shape {st.shape}")
    valid = {int(c) for c in FollowupStatus}
    if st.size and not np.isin(st, list(valid)).all():
        raise ValueError("status contains codes that are not FollowupStatus values")
    return FollowupSummary(
        n_observed=np.count_nonzero(st != FollowupStatus.MISSING, axis=0).astype(np.int64),
        n_improving=np.count_nonzero(st == FollowupStatus.IMPROVING, axis=0).astype(np.int64),
        n_stable=np.count_nonzero(st == FollowupStatus.STABLE, axis=0).astype(np.int64),
        n_relapsed=np.count_nonzero(st == FollowupStatus.RELAPSED, axis=0).astype(np.int64),
    )
