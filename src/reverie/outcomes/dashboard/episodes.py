"""Which episodes count as ended, a finished course, paired, recovered...: the definitions of
the package docstring, computed once per frame as boolean and score columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reverie.outcomes import change
from reverie.outcomes.dashboard.frame import Frame


@dataclass(frozen=True)
class _Derived:
    ended: NDArray[np.bool_]
    dropout: NDArray[np.bool_]
    paired: NDArray[np.bool_]
    paired_both: NDArray[np.bool_]
    paired_gad: NDArray[np.bool_]
    pre: NDArray[np.float64]
    post: NDArray[np.float64]
    gad_pre: NDArray[np.float64]
    gad_post: NDArray[np.float64]
    case_start: NDArray[np.bool_]
    recovery: NDArray[np.bool_]
    reliable_recovery: NDArray[np.bool_]
    improvement: NDArray[np.bool_]
    deterioration: NDArray[np.bool_]
    mixed: NDArray[np.bool_]


def _derive(frame: Frame) -> _Derived:
    ended = frame["ended"] == 1
    course = ended & (frame["sessions_attended"] >= 2)
    pre, post = frame.score("phq9_first"), frame.score("phq9_last")
    g_pre, g_post = frame.score("gad7_first"), frame.score("gad7_last")
    paired = course & (frame["phq9_n"] >= 2) & np.isfinite(pre) & np.isfinite(post)
    paired_gad = course & (frame["gad7_n"] >= 2) & np.isfinite(g_pre) & np.isfinite(g_post)
    paired_both = paired & paired_gad
    nan = np.nan
    outcomes = change.nhs_tt_paired_outcomes(
        np.where(paired_both, pre, nan),
        np.where(paired_both, post, nan),
        np.where(paired_both, g_pre, nan),
        np.where(paired_both, g_post, nan),
    )
    return _Derived(
        ended=ended,
        dropout=ended & (frame["dropout"] == 1),
        paired=paired,
        paired_both=paired_both,
        paired_gad=paired_gad,
        pre=pre,
        post=post,
        gad_pre=g_pre,
        gad_post=g_post,
        case_start=outcomes.caseness_start,
        recovery=outcomes.recovery,
        reliable_recovery=outcomes.reliable_recovery,
        improvement=outcomes.reliable_improvement,
        deterioration=outcomes.reliable_deterioration,
        mixed=outcomes.mixed,
    )
