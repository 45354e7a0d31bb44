"""Expected-recovery curves from the practice's own ended episodes, and not-on-track flags.

Method (open and deliberately simple)
-------------------------------------
1. Each ended episode is put in an **intake severity band** by its first score
   (:func:`assign_band`; for the PHQ-9 the Kroenke et al., 2001 cut-points 5/10/15/20).
2. Within each band, for every session number *k* (1 = the intake administration) the
   empirical percentiles (default 10/25/50/75/90) of all scores recorded at sessions
   *k - w ... k + w* are computed (a centred **rolling window** of half-width *w*, default 1).
   Pooling neighbouring sessions smooths the curve without imposing a parametric shape or a
   monotone decline. Percentiles use numpy's default "linear" rule (Hyndman & Fan, 1996,
   definition 7).
3. A session whose window holds fewer than ``min_scores_per_session`` scores is not estimated;
   it takes the value of the nearest supported session (flat extrapolation beyond the last
   one), and any session past the curve's end uses the last column.
4. A band with fewer than ``min_episodes`` (default 30) ended episodes gets the documented
   **default curve** (:func:`default_band_curve`) instead, labelled ``source="default"``.

This is the percentile analogue of the expected-recovery-curve idea of Lambert's group, who
fitted multilevel growth models by intake score and flagged clients outside a tolerance band
(Finch, Lambert & Schaalje, 2001; Bybee, Lambert & Eggett, 2007). Linear quantile regression
on log(session) was considered and rejected for the dashboard: solving it as a linear
programme (``scipy.optimize.linprog``) over 2 million administrations is far slower than
windowed percentiles, and percentiles are easier to explain to clinicians.

A client is **not on track** (:func:`not_on_track`) when a score is worse than the band's
upper percentile curve (the 90th on a symptom scale) at that session.

References
----------
Bybee, T. S., Lambert, M. J., & Eggett, D. (2007). Curves of expected recovery and their
predictive validity for identifying treatment failure. *Tijdschrift voor Psychotherapie,
33*\\(6). https://doi.org/10.1007/BF03062308

Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: the
statistical generation of expected recovery curves for integration into an early warning
system. *Clinical Psychology & Psychotherapy, 8*\\(4), 231-242.
https://doi.org/10.1002/cpp.286 (bibliographic details from memory; not retrieved).

Howard, K. I., Kopta, S. M., Krause, M. S., & Orlinsky, D. E. (1986). The dose-effect
relationship in psychotherapy. *American Psychologist, 41*\\(2), 159-164.
https://doi.org/10.1037/0003-066X.41.2.159

Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. *The American
Statistician, 50*\\(4), 361-365. https://doi.org/10.1080/00031305.1996.10473566
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "DEFAULT_MAX_SESSION",
    "DEFAULT_PERCENTILES",
    "DEFAULT_WINDOW",
    "HOWARD_1986_ANCHORS",
    "MIN_EPISODES_PER_BAND",
    "MIN_SCORES_PER_SESSION",
    "PHQ9_SEVERITY_EDGES",
    "BandCurve",
    "assign_band",
    "default_band_curve",
    "fit_expected_curves",
    "howard_dose_effect",
    "not_on_track",
    "not_on_track_banded",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: PHQ-9 severity cut-points (minimal <5, mild 5-9, moderate 10-14, moderately severe 15-19,
#: severe >= 20); Kroenke, Spitzer & Williams (2001), J Gen Intern Med 16(9), 606-613.
PHQ9_SEVERITY_EDGES: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0)
DEFAULT_PERCENTILES: tuple[float, ...] = (10.0, 25.0, 50.0, 75.0, 90.0)
#: A band needs this many ended episodes before its empirical curve replaces the default.
MIN_EPISODES_PER_BAND: int = 30
#: A session's rolling window needs this many scores to be estimated.
MIN_SCORES_PER_SESSION: int = 10
DEFAULT_WINDOW: int = 1
DEFAULT_MAX_SESSION: int = 40
#: Howard et al. (1986): about 50 % of patients measurably improved after 8 sessions and
#: about 75 % after 26; used to fix the two parameters of the default curve's probit.
HOWARD_1986_ANCHORS: tuple[tuple[float, float], tuple[float, float]] = ((8.0, 0.50), (26.0, 0.75))


# --------------------------------------------------------------------------------------------
# data structure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BandCurve:
    """Percentile curves of expected scores by session for one intake band.

    Attributes
    ----------
    band : int
        Band index (0 = lowest intake severity).
    percentiles : tuple of float
        Strictly increasing percentiles, e.g. ``(10, 25, 50, 75, 90)``.
    values : numpy.ndarray, shape (len(percentiles), n_sessions)
        ``values[i, k - 1]`` is the ``percentiles[i]``-th percentile at session ``k``.
    source : {"empirical", "default"}
        Whether the curve was fitted to practice data or is the default assumption.
    n_episodes : int
        Ended episodes in the band (0 for a pure default).
    higher_is_better : bool
        Direction of the scale; decides which edge :func:`not_on_track` uses.

    Examples
    --------
    >>> c = BandCurve(band=2, percentiles=(50, 90), values=np.array([[12.0, 10.0], [16, 15]]),
    ...               source="empirical", n_episodes=45)
    >>> c.n_sessions, c.warning_percentile, c.curve(90).tolist()
    (2, 90.0, [16.0, 15.0])
    """

    band: int
    percentiles: tuple[float, ...]
    values: FloatArray
    source: Literal["empirical", "default"]
    n_episodes: int
    higher_is_better: bool = False

    def __post_init__(self) -> None:
        pct = np.asarray(self.percentiles, dtype=np.float64)
        if pct.ndim != 1 or pct.size == 0:
            raise ValueError("percentiles must be a non-empty sequence")
        if np.any(pct <= 0) or np.any(pct >= 100) or np.any(np.diff(pct) <= 0):
            raise ValueError("percentiles must be strictly increasing and within (0, 100)")
        vals = np.asarray(self.values, dtype=np.float64)
        if vals.ndim != 2 or vals.shape[0] != pct.size or vals.shape[1] < 1:
            raise ValueError(
                f"values must have shape ({pct.size}, n_sessions >= 1); got {vals.shape}"
            )
        if not np.all(np.isfinite(vals)):
            raise ValueError("values must be finite")
        if self.source not in ("empirical", "default"):
            raise ValueError("source must be 'empirical' or 'default'")
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "percentiles", tuple(float(p) for p in pct))

    @property
    def n_sessions(self) -> int:
        """Number of sessions the curve covers (later sessions reuse the last one)."""
        return int(self.values.shape[1])

    def curve(self, percentile: float) -> FloatArray:
        """The row of ``values`` for one percentile (raises ``ValueError`` if absent)."""
        result: FloatArray = self.values[self._row(percentile)]
        return result

    def _row(self, percentile: float) -> int:
        p = float(percentile)
        for i, q in enumerate(self.percentiles):
            if np.isclose(q, p):
                return i
        raise ValueError(f"percentile {percentile!r} is not on this curve {self.percentiles}")

    @property
    def warning_percentile(self) -> float:
        """The edge used for not-on-track flags: highest percentile, or lowest if higher is
        better."""
        return self.percentiles[0] if self.higher_is_better else self.percentiles[-1]


# --------------------------------------------------------------------------------------------
# banding and the default curve
# --------------------------------------------------------------------------------------------


def assign_band(
    intake_scores: ArrayLike, edges: Sequence[float] = PHQ9_SEVERITY_EDGES
) -> NDArray[np.intp]:
    """Intake severity band of each score, vectorised.

    Parameters
    ----------
    intake_scores : array_like
        Intake (first) scores.
    edges : sequence of float, default :data:`PHQ9_SEVERITY_EDGES`
        Strictly increasing lower bounds of bands 1, 2, ...; a score equal to an edge goes to
        the higher band.

    Returns
    -------
    numpy.ndarray of intp
        Band indices ``0 .. len(edges)``.

    References
    ----------
    Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9: validity of a brief
    depression severity measure. *Journal of General Internal Medicine, 16*\\(9), 606-613.
    https://doi.org/10.1046/j.1525-1497.2001.016009606.x

    Examples
    --------
    >>> assign_band([0, 4, 5, 10, 14, 15, 20, 27]).tolist()
    [0, 0, 1, 2, 2, 3, 4, 4]
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or (e.size > 1 and np.any(np.diff(e) <= 0)):
        raise ValueError("edges must be a one-dimensional, strictly increasing sequence")
    x = np.asarray(intake_scores, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("intake_scores contain NaN or infinite values")
    return np.digitize(x, e, right=False).astype(np.intp)


def _howard_parameters() -> tuple[float, float]:
    (d1, p1), (d2, p2) = HOWARD_1986_ANCHORS
    beta = (stats.norm.ppf(p2) - stats.norm.ppf(p1)) / (np.log(d2) - np.log(d1))
    alpha = stats.norm.ppf(p1) - beta * np.log(d1)
    return float(alpha), float(beta)


def howard_dose_effect(sessions_attended: ArrayLike) -> FloatArray:
    """Probit dose-effect curve passing through Howard et al.'s (1986) summary points.

    Parameters
    ----------
    sessions_attended : array_like
        Number of sessions received so far (>= 0).

    Returns
    -------
    numpy.ndarray of float
        :math:`P(d) = \\Phi(\\alpha + \\beta \\ln d)` with :math:`\\alpha, \\beta` chosen so that
        :math:`P(8) = 0.50` and :math:`P(26) = 0.75`; :math:`P(0) = 0`.

    Notes
    -----
    Howard et al. fitted a probit model of the proportion of patients measurably improved on
    log(sessions), pooled over 15 samples; only its two summary points (8 sessions: about
    50 %, 26 sessions: about 75 %) are used here, so this is a re-parameterisation of the
    published shape, not the published coefficients.

    References
    ----------
    Howard, Kopta, Krause & Orlinsky (1986), *Am Psychol 41*\\(2), 159-164.
    https://doi.org/10.1037/0003-066X.41.2.159

    Examples
    --------
    >>> howard_dose_effect([0, 8, 26]).round(3).tolist()
    [0.0, 0.5, 0.75]
    """
    d = np.asarray(sessions_attended, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("sessions_attended must be finite and >= 0")
    alpha, beta = _howard_parameters()
    out = np.zeros(d.shape)
    pos = d > 0
    out[pos] = stats.norm.cdf(alpha + beta * np.log(d[pos]))
    return out


def default_band_curve(
    intake_score: float,
    reliable_change: float,
    *,
    band: int = 0,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    max_session: int = DEFAULT_MAX_SESSION,
    scale: tuple[float, float] = (0.0, 27.0),
    higher_is_better: bool = False,
) -> BandCurve:
    """Documented **default assumption** used until a band has enough practice history.

    This is not fitted to data. It is conservative on purpose: it flags only clients who are
    reliably worse than at intake, so a new practice is not flooded with alerts.

    Construction (symptom scale; mirrored when ``higher_is_better``):

    * Session *k*'s score is taken after ``k - 1`` sessions of treatment.
    * **Median**: :math:`m(k) = x_0 - RC \\cdot P(k-1) / 0.5`, where :math:`x_0` is the band's
      typical intake score, :math:`RC` the measure's reliable-change threshold and *P* the
      :func:`howard_dose_effect` curve. The median client therefore reaches one reliable
      change of improvement at the dose at which Howard et al. (1986) found half of patients
      improved (8 sessions), and 1.5 RC at 26 sessions.
    * **Warning edge** (90th percentile): :math:`x_0 + RC`, flat, i.e. reliable deterioration
      from the intake score (Jacobson & Truax, 1991).
    * **Other percentiles**: :math:`q_p(k) = m(k) + (z_p / z_{90}) (x_0 + RC - m(k))`, a
      normal-shaped spread scaled so that the 90th percentile hits the warning edge.
    * Everything is clipped to the score ``scale``.

    Parameters
    ----------
    intake_score : float
        Typical intake score of the band (e.g. the median intake of its episodes).
    reliable_change : float
        Reliable change in raw points (6 for PHQ-9, 4 for GAD-7).
    band : int, default 0
        Band index stored on the result.
    percentiles : sequence of float
        Percentiles to produce; must include 90 (or 10 when ``higher_is_better``).
    max_session : int, default 40
        Number of sessions covered.
    scale : (float, float), default (0, 27)
        Minimum and maximum possible score.
    higher_is_better : bool, default False
        Direction of the scale.

    Returns
    -------
    BandCurve
        With ``source="default"`` and ``n_episodes=0``.

    References
    ----------
    Howard et al. (1986), https://doi.org/10.1037/0003-066X.41.2.159; Jacobson & Truax
    (1991), https://doi.org/10.1037/0022-006X.59.1.12.

    Examples
    --------
    >>> c = default_band_curve(17.0, 6.0, max_session=26)
    >>> float(c.curve(50)[0]), round(float(c.curve(50)[8]), 2), float(c.curve(90)[8])
    (17.0, 11.0, 23.0)
    """
    lo, hi = (float(scale[0]), float(scale[1]))
    if not lo < hi:
        raise ValueError("scale must be (minimum, maximum) with minimum < maximum")
    x0 = float(intake_score)
    if not lo <= x0 <= hi:
        raise ValueError(f"intake_score {intake_score!r} lies outside the scale {scale}")
    rc = float(reliable_change)
    if not np.isfinite(rc) or rc <= 0:
        raise ValueError("reliable_change must be a finite number > 0")
    s_max = int(max_session)
    if s_max < 1:
        raise ValueError("max_session must be >= 1")
    pct = np.asarray(percentiles, dtype=np.float64)
    ref = 10.0 if higher_is_better else 90.0
    if not np.any(np.isclose(pct, ref)):
        raise ValueError(f"the default curve needs the {ref:g}th percentile among percentiles")

    sessions = np.arange(1, s_max + 1)
    direction = -1.0 if higher_is_better else 1.0
    median = x0 - direction * rc * howard_dose_effect(sessions - 1) / 0.5
    worst = x0 + direction * rc
    z = stats.norm.ppf(pct / 100.0)
    z_ref = stats.norm.ppf(ref / 100.0)
    values = median[None, :] + (z / z_ref)[:, None] * (worst - median)[None, :]
    values = np.clip(values, lo, hi)
    return BandCurve(
        band=int(band),
        percentiles=tuple(float(p) for p in pct),
        values=values,
        source="default",
        n_episodes=0,
        higher_is_better=higher_is_better,
    )


# --------------------------------------------------------------------------------------------
# fitting from practice data
# --------------------------------------------------------------------------------------------


def fit_expected_curves(
    score: ArrayLike,
    session_number: ArrayLike,
    intake_score: ArrayLike,
    episode_id: ArrayLike,
    *,
    reliable_change: float,
    band_edges: Sequence[float] = PHQ9_SEVERITY_EDGES,
    scale: tuple[float, float] = (0.0, 27.0),
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    max_session: int = DEFAULT_MAX_SESSION,
    window: int = DEFAULT_WINDOW,
    min_episodes: int = MIN_EPISODES_PER_BAND,
    min_scores_per_session: int = MIN_SCORES_PER_SESSION,
    higher_is_better: bool = False,
) -> tuple[BandCurve, ...]:
    """Fit one percentile curve set per intake band from ended episodes (vectorised).

    Parameters
    ----------
    score : array_like, shape (n,)
        Every administration's score (ended episodes only).
    session_number : array_like of int, shape (n,)
        1 for the intake administration, 2 for the next, ...
    intake_score : array_like, shape (n,)
        The intake score of the administration's episode (constant within an episode).
    episode_id : array_like, shape (n,)
        Episode identifier, used to count episodes per band.
    reliable_change : float
        Reliable change in raw points, used by the default curve.
    band_edges : sequence of float
        Band cut-points for :func:`assign_band`.
    scale : (float, float)
        Score range; finite scores outside it raise ``ValueError``.
    percentiles : sequence of float
        Percentiles to estimate (must include 90, or 10 when ``higher_is_better``).
    max_session : int, default 40
        Last session modelled; later administrations are ignored when fitting.
    window : int, default 1
        Half-width of the rolling session window (0 = no pooling).
    min_episodes : int, default 30
        Minimum ended episodes before a band's empirical curve is used.
    min_scores_per_session : int, default 10
        Minimum scores in a session's window for it to be estimated.
    higher_is_better : bool, default False
        Direction of the scale.

    Returns
    -------
    tuple of BandCurve
        One per band, ``len(band_edges) + 1`` in total, index = band.

    Raises
    ------
    ValueError
        On mismatched lengths, NaN scores, session numbers < 1 or non-integer, or bad options.

    References
    ----------
    Finch, Lambert & Schaalje (2001) and Bybee, Lambert & Eggett (2007) for the idea of
    expected-recovery curves by intake severity; Hyndman & Fan (1996) for the percentile
    definition (numpy ``method="linear"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n_ep, n_s = 60, 12
    >>> intake = np.repeat(rng.integers(15, 20, n_ep), n_s).astype(float)
    >>> sess = np.tile(np.arange(1, n_s + 1), n_ep)
    >>> scores = np.clip(intake - 0.6 * (sess - 1) + rng.normal(0, 2, n_ep * n_s), 0, 27)
    >>> curves = fit_expected_curves(scores, sess, intake, np.repeat(np.arange(n_ep), n_s),
    ...                              reliable_change=6, max_session=n_s)
    >>> [c.source for c in curves]
    ['default', 'default', 'default', 'empirical', 'default']
    >>> curves[3].n_episodes
    60
    """
    y = np.asarray(score, dtype=np.float64)
    s = np.asarray(session_number)
    x0 = np.asarray(intake_score, dtype=np.float64)
    ep = np.asarray(episode_id)
    n = y.shape[0] if y.ndim == 1 else -1
    if y.ndim != 1 or s.shape != (n,) or x0.shape != (n,) or ep.shape != (n,):
        raise ValueError("score, session_number, intake_score and episode_id must be 1-D, equal")
    if n == 0:
        raise ValueError("no administrations given")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x0))):
        raise ValueError("score and intake_score must not contain NaN; drop missing scores first")
    lo, hi = float(scale[0]), float(scale[1])
    if not lo < hi:
        raise ValueError("scale must be (minimum, maximum) with minimum < maximum")
    if y.min() < lo or y.max() > hi or x0.min() < lo or x0.max() > hi:
        raise ValueError(f"scores must lie within the scale {scale}")
    if not np.issubdtype(s.dtype, np.integer):
        sf = s.astype(np.float64)
        if not np.all(np.isfinite(sf)) or np.any(sf != np.round(sf)):
            raise ValueError("session_number must contain whole numbers")
        s = sf.astype(np.int64)
    if s.min() < 1:
        raise ValueError("session_number must start at 1 (the intake administration)")
    s_max = int(max_session)
    w = int(window)
    if s_max < 1 or w < 0 or int(min_episodes) < 1 or int(min_scores_per_session) < 1:
        raise ValueError("max_session, min_episodes, min_scores_per_session >= 1; window >= 0")
    pct = np.asarray(percentiles, dtype=np.float64)
    if pct.ndim != 1 or pct.size == 0 or np.any(pct <= 0) or np.any(pct >= 100):
        raise ValueError("percentiles must lie strictly between 0 and 100")
    q = pct / 100.0

    band = assign_band(x0, band_edges)
    n_bands = len(band_edges) + 1
    # One entry per episode: its band and intake score (taken from its first row).
    _, first = np.unique(ep, return_index=True)
    ep_band = band[first]
    ep_intake = x0[first]
    n_ep = np.bincount(ep_band, minlength=n_bands)

    keep = s <= s_max
    # Bucket key = band * S + (session - 1); a stable sort on it makes every (band, session)
    # group, and every run of consecutive sessions within a band, one contiguous slice.
    key = band[keep] * s_max + (s[keep] - 1)
    key = key.astype(np.int16 if n_bands * s_max < np.iinfo(np.int16).max else np.int64)
    order = np.argsort(key, kind="stable")
    sorted_y = y[keep][order]
    counts = np.bincount(key, minlength=n_bands * s_max)
    bounds = np.concatenate(([0], np.cumsum(counts)))

    edges = np.asarray(band_edges, dtype=np.float64)
    curves: list[BandCurve] = []
    for b in range(n_bands):
        fallback_x0 = _band_typical_intake(ep_intake[ep_band == b], b, edges, lo, hi)
        if n_ep[b] < min_episodes:
            curves.append(
                default_band_curve(
                    fallback_x0,
                    reliable_change,
                    band=b,
                    percentiles=tuple(float(p) for p in pct),
                    max_session=s_max,
                    scale=(lo, hi),
                    higher_is_better=higher_is_better,
                )
            )
            continue
        values = np.full((pct.size, s_max), np.nan)
        supported = np.zeros(s_max, dtype=bool)
        base = b * s_max
        for k in range(s_max):
            start = bounds[base + max(0, k - w)]
            stop = bounds[base + min(s_max - 1, k + w) + 1]
            if stop - start >= min_scores_per_session:
                values[:, k] = np.quantile(sorted_y[start:stop], q)
                supported[k] = True
        if not supported.any():
            curve = default_band_curve(
                fallback_x0,
                reliable_change,
                band=b,
                percentiles=tuple(float(p) for p in pct),
                max_session=s_max,
                scale=(lo, hi),
                higher_is_better=higher_is_better,
            )
            curves.append(
                BandCurve(
                    band=b,
                    percentiles=curve.percentiles,
                    values=curve.values,
                    source="default",
                    n_episodes=int(n_ep[b]),
                    higher_is_better=higher_is_better,
                )
            )
            continue
        x_sup = np.flatnonzero(supported)
        all_k = np.arange(s_max)
        for i in range(pct.size):
            # np.interp extrapolates flat beyond the first/last supported session.
            values[i] = np.interp(all_k, x_sup, values[i, x_sup])
        curves.append(
            BandCurve(
                band=b,
                percentiles=tuple(float(p) for p in pct),
                values=values,
                source="empirical",
                n_episodes=int(n_ep[b]),
                higher_is_better=higher_is_better,
            )
        )
    return tuple(curves)


def _band_typical_intake(
    intakes: FloatArray, band: int, edges: FloatArray, lo: float, hi: float
) -> float:
    """Median intake of the band's episodes, or the midpoint of the band if it has none."""
    if intakes.size:
        return float(np.median(intakes))
    lower = lo if band == 0 else float(edges[band - 1])
    upper = hi if band == edges.size else float(edges[band])
    return float(np.clip((lower + upper) / 2.0, lo, hi))


# --------------------------------------------------------------------------------------------
# flags
# --------------------------------------------------------------------------------------------


def _sessions_to_columns(session_number: ArrayLike, n_sessions: int) -> NDArray[np.intp]:
    s = np.asarray(session_number)
    if not np.issubdtype(s.dtype, np.integer):
        sf = s.astype(np.float64)
        if not np.all(np.isfinite(sf)) or np.any(sf != np.round(sf)):
            raise ValueError("session_number must contain whole numbers")
        s = sf.astype(np.int64)
    if s.size and s.min() < 1:
        raise ValueError("session_number must be >= 1")
    result: NDArray[np.intp] = (np.minimum(s, n_sessions) - 1).astype(np.intp)
    return result


def not_on_track(
    score: ArrayLike,
    session_number: ArrayLike,
    band_curve: BandCurve,
    percentile: float | None = None,
) -> BoolArray:
    """Flag scores that are worse than the band's warning percentile at that session.

    Parameters
    ----------
    score : array_like
        Scores (any shape); NaN is never flagged.
    session_number : array_like of int
        Session of each score (1 = intake), broadcastable to ``score``. Sessions beyond the
        curve use its last column.
    band_curve : BandCurve
        Curve of the client's intake band.
    percentile : float, optional
        Edge to compare with; default :attr:`BandCurve.warning_percentile` (the 90th on a
        symptom scale, the 10th when higher is better).

    Returns
    -------
    numpy.ndarray of bool
        True where ``score > edge`` (``score < edge`` when higher is better).

    References
    ----------
    Bybee, Lambert & Eggett (2007), https://doi.org/10.1007/BF03062308; Finch, Lambert &
    Schaalje (2001).

    Examples
    --------
    >>> c = default_band_curve(17.0, 6.0, max_session=26)
    >>> not_on_track([22, 24, 23.5], [2, 2, 40], c).tolist()
    [False, True, True]
    """
    if not isinstance(band_curve, BandCurve):
        raise ValueError("band_curve must be a BandCurve")
    p = band_curve.warning_percentile if percentile is None else float(percentile)
    edge = band_curve.curve(p)
    y = np.asarray(score, dtype=np.float64)
    cols = _sessions_to_columns(session_number, band_curve.n_sessions)
    thr = edge[cols]
    with np.errstate(invalid="ignore"):
        return (y < thr) if band_curve.higher_is_better else (y > thr)


def not_on_track_banded(
    score: ArrayLike,
    session_number: ArrayLike,
    band: ArrayLike,
    curves: Sequence[BandCurve],
    percentile: float | None = None,
) -> BoolArray:
    """:func:`not_on_track` for many clients in different bands at once (vectorised).

    Builds a (band x session) threshold table once and looks every administration up in it,
    so 2 million administrations take a few tens of milliseconds.

    Parameters
    ----------
    score, session_number, band : array_like, shape (n,)
        Score, session (1 = intake) and intake band index of each administration.
    curves : sequence of BandCurve
        ``curves[b]`` is band *b*'s curve (as returned by :func:`fit_expected_curves`). All
        must share ``higher_is_better``.
    percentile : float, optional
        Edge to use; default each curve's :attr:`BandCurve.warning_percentile`.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> cs = [default_band_curve(7.0, 6.0, band=0), default_band_curve(17.0, 6.0, band=1)]
    >>> not_on_track_banded([14, 14], [3, 3], [0, 1], cs).tolist()
    [True, False]
    """
    if len(curves) == 0:
        raise ValueError("curves must not be empty")
    if not all(isinstance(c, BandCurve) for c in curves):
        raise ValueError("curves must be BandCurve objects")
    hib = curves[0].higher_is_better
    if any(c.higher_is_better != hib for c in curves):
        raise ValueError("all curves must share the same higher_is_better direction")
    width = max(c.n_sessions for c in curves)
    table = np.empty((len(curves), width))
    for i, c in enumerate(curves):
        row = c.curve(c.warning_percentile if percentile is None else float(percentile))
        table[i, : row.size] = row
        table[i, row.size :] = row[-1]  # carry the last session forward
    b = np.asarray(band)
    if not np.issubdtype(b.dtype, np.integer):
        raise ValueError("band must contain integer band indices")
    if b.size and (b.min() < 0 or b.max() >= len(curves)):
        raise ValueError(f"band indices must lie in 0..{len(curves) - 1}")
    y = np.asarray(score, dtype=np.float64)
    cols = _sessions_to_columns(session_number, width)
    thr = table[b, cols]
    with np.errstate(invalid="ignore"):
        result: BoolArray = (y < thr) if hib else (y > thr)
        return result
