"""Intake severity bands and the published dose-effect curve that the expected-recovery
curves start from.

- :func:`assign_band` puts each intake score in a severity band (for the PHQ-9 the Kroenke et
  al., 2001 cut-points 5/10/15/20); the outcomes dashboard splits its figures by it.
- :func:`howard_dose_effect` is the probit dose-effect curve through Howard et al.'s (1986)
  summary points; :mod:`.dose` builds its reference trajectory from it.

The expected-recovery curves themselves, the live not-on-track rule and its measured accuracy
are in :mod:`.dose` and :mod:`.recovery` (docs/statistics.md sections 8 and 8a). This module
used to fit percentile curves per intake band indexed by questionnaire number (the "band
curves"); once the live rule moved to the dose curves nothing read them any more, so they are
neither fitted nor stored (December 2026).

References
----------
Howard, K. I., Kopta, S. M., Krause, M. S., & Orlinsky, D. E. (1986). The dose-effect
relationship in psychotherapy. *American Psychologist, 41*\\(2), 159-164.
https://doi.org/10.1037/0003-066X.41.2.159

Kroenke, K., Spitzer, R. L., & Williams, J. B. W. (2001). The PHQ-9: validity of a brief
depression severity measure. *Journal of General Internal Medicine, 16*\\(9), 606-613.
https://doi.org/10.1046/j.1525-1497.2001.016009606.x
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "HOWARD_1986_ANCHORS",
    "PHQ9_SEVERITY_EDGES",
    "assign_band",
    "howard_dose_effect",
]

FloatArray = NDArray[np.float64]

#: PHQ-9 severity cut-points (minimal <5, mild 5-9, moderate 10-14, moderately severe 15-19,
#: severe >= 20); Kroenke, Spitzer & Williams (2001), J Gen Intern Med 16(9), 606-613.
PHQ9_SEVERITY_EDGES: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0)
#: Howard et al. (1986): about 50 % of patients measurably improved after 8 sessions and
#: about 75 % after 26; they fix the two parameters of :func:`howard_dose_effect`'s probit.
HOWARD_1986_ANCHORS: tuple[tuple[float, float], tuple[float, float]] = ((8.0, 0.50), (26.0, 0.75))


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
