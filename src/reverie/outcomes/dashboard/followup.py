"""After therapy ends: change from the last session to each follow-up (PHQ-9 panel), both
questionnaires with the carried-forward bound, and the modality difference at 6 and 12 months."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from reverie.measures.registry import definition
from reverie.outcomes import aftercare, change, evidence
from reverie.outcomes.dashboard.episodes import _Derived
from reverie.outcomes.dashboard.frame import MIN_CELL, MODALITY_LABELS, Frame
from reverie.outcomes.dashboard.results import (
    AftercareCell,
    FollowupCell,
    FollowupGroup,
    ModalityDifference,
    _effects,
    _f,
)

FOLLOWUPS: tuple[tuple[int, str], ...] = ((1, "fu1"), (3, "fu3"), (6, "fu6"), (12, "fu12"))


def _followup(frame: Frame, dv: _Derived) -> tuple[FollowupGroup, ...]:
    """Change from the last session to each follow-up, for all modalities, psychodynamic plus
    psychoanalysis, and CBT: every figure one grouped pass over the full arrays."""
    rc = float(definition("phq-9").reliable_change.threshold)  # type: ignore[union-attr]
    mod = frame["modality_code"]
    split = np.where(mod <= 1, 0, np.where(mod == 2, 1, 2)).astype(np.int64)
    groupings = (
        (np.zeros(frame.size, dtype=np.int64), 1, ["All modalities"]),
        (split, 3, ["Psychodynamic and psychoanalysis", MODALITY_LABELS[2]]),
    )
    nan = np.nan
    end = np.where(dv.paired, dv.post, nan)
    pre = np.where(dv.paired, dv.pre, nan)
    cells: dict[str, list[FollowupCell]] = defaultdict(list)
    counts: dict[str, int] = {}
    for months, col in FOLLOWUPS:
        fu = np.where(dv.paired, frame.score(f"phq9_{col}"), nan)
        observed = np.isfinite(fu)
        codes = np.full(frame.size, change.FollowupStatus.MISSING, dtype=np.int8)
        if observed.any():
            codes[observed] = change.classify_followup(end[observed], fu[observed], threshold=rc)[
                :, 0
            ]
        for group, k, labels in groupings:
            mean = evidence.grouped_mean(fu - end, group, k)
            shares = [
                evidence.grouped_rate(codes == status, observed, group, k)
                for status in (
                    change.FollowupStatus.IMPROVING,
                    change.FollowupStatus.STABLE,
                    change.FollowupStatus.RELAPSED,
                )
            ]
            effects_ = _effects(evidence.grouped_prepost(pre, fu, group, k))
            paired_n = np.bincount(group, weights=dv.paired, minlength=k)
            for i, label in enumerate(labels):
                n = int(mean.n[i])
                suppressed = n < MIN_CELL
                counts[label] = int(paired_n[i])
                cells[label].append(
                    FollowupCell(
                        months=months,
                        n=n,
                        mean_change=None if suppressed else _f(mean.mean[i]),
                        ci_low=None if suppressed else _f(mean.ci_low[i]),
                        ci_high=None if suppressed else _f(mean.ci_high[i]),
                        improving=None if suppressed else _f(shares[0].rate[i]),
                        stable=None if suppressed else _f(shares[1].rate[i]),
                        relapsed=None if suppressed else _f(shares[2].rate[i]),
                        effect_from_intake=effects_[i],
                        suppressed=suppressed,
                    )
                )
    order = ["All modalities", "Psychodynamic and psychoanalysis", MODALITY_LABELS[2]]
    return tuple(FollowupGroup(label, counts[label], tuple(cells[label])) for label in order)


#: A follow-up counts as due (for the carried-forward bound) once the episode ended this many
#: months ago plus four weeks to answer (Reverie's rule; the questionnaires go out at the
#: month).
FOLLOWUP_ANSWER_DAYS = 28
AFTERCARE_GROUPS: tuple[str, ...] = (
    "All modalities",
    "Psychodynamic and psychoanalysis",
    MODALITY_LABELS[2],
)


def followup_due_days(months: int) -> int:
    """Days after ending from which a follow-up at ``months`` counts as due.

    >>> followup_due_days(6), followup_due_days(12)
    (211, 393)
    """
    return round(months * 365.25 / 12) + FOLLOWUP_ANSWER_DAYS


def _aftercare(
    frame: Frame, dv: _Derived
) -> tuple[tuple[AftercareCell, ...], tuple[ModalityDifference, ...]]:
    """Both questionnaires after ending: observed change among those who answered, the
    carried-forward bound over everyone due, and the modality difference at 6 and 12 months."""
    mod = frame["modality_code"]
    groups = {
        AFTERCARE_GROUPS[0]: np.ones(frame.size, dtype=bool),
        AFTERCARE_GROUPS[1]: mod <= 1,
        AFTERCARE_GROUPS[2]: mod == 2,
    }
    since = frame["days_since_end"]
    cells: list[AftercareCell] = []
    diffs: list[ModalityDifference] = []
    for measure, col, paired, end in (
        ("PHQ-9", "phq9", dv.paired, dv.post),
        ("GAD-7", "gad7", dv.paired_gad, dv.gad_post),
    ):
        for months, fu_col in FOLLOWUPS:
            fu = np.where(paired, frame.score(f"{col}_{fu_col}"), np.nan)
            change_ = fu - end
            # Due once enough time has passed; anyone who already answered counts as due.
            due = paired & ((since >= followup_due_days(months)) | np.isfinite(fu))
            for label, member in groups.items():
                observed = aftercare.mean_ci(change_[member & paired])
                carried = aftercare.carried_forward_change(end[member], fu[member], due[member])
                cells.append(
                    AftercareCell(
                        measure,
                        label,
                        months,
                        int((due & member).sum()),
                        int((due & member & np.isfinite(fu)).sum()),
                        observed,
                        carried,
                    )
                )
            if months in (6, 12):
                dyn, cbt = groups[AFTERCARE_GROUPS[1]], groups[AFTERCARE_GROUPS[2]]
                obs = aftercare.welch_difference(change_[dyn & paired], change_[cbt & paired])
                imputed = np.where(np.isfinite(fu), change_, 0.0)
                car = aftercare.welch_difference(imputed[dyn & due], imputed[cbt & due])
                diffs.append(_difference(measure, months, obs, car))
    return tuple(cells), tuple(diffs)


def _difference(
    measure: str, months: int, obs: aftercare.Difference, car: aftercare.Difference
) -> ModalityDifference:
    """The modality comparison in words: what the estimate is, and what this n can support."""
    detectable = aftercare.minimum_detectable_difference(obs.se)
    too_few = min(obs.n_a, obs.n_b) < MIN_CELL
    lead = f"{measure}, {months} months after ending"
    if too_few:
        words = (
            f"{lead}: too few people answered to compare the modalities "
            f"(psychodynamic and psychoanalysis {obs.n_a}, CBT {obs.n_b}; at least "
            f"{MIN_CELL} each are needed)."
        )
        return ModalityDifference(measure, months, obs, car, detectable, True, words)
    more = "more" if obs.difference < 0 else "less"
    text = (
        f"{lead}: psychodynamic and psychoanalytic clients who answered changed "
        f"{abs(obs.difference):.1f} points {more} towards fewer symptoms than CBT clients "
        f"(difference {obs.difference:+.1f}, 95% CI {obs.ci_low:+.1f} to {obs.ci_high:+.1f}; "
        f"n = {obs.n_a} and {obs.n_b})."
    )
    if obs.ci_low <= 0 <= obs.ci_high:
        text += (
            " The interval includes no difference, so these data cannot tell the modalities "
            "apart; with this many people a true difference smaller than about "
            f"{detectable:.1f} points would usually go unnoticed."
        )
    else:
        text += " The interval excludes no difference."
    if math.isfinite(car.difference):
        text += (
            f" Counting everyone due who did not answer as unchanged since ending, the "
            f"difference is {car.difference:+.1f} (95% CI {car.ci_low:+.1f} to "
            f"{car.ci_high:+.1f})."
        )
    text += (
        " Clients were not randomised to modalities, so this describes the practice's clients, "
        "not the therapies themselves."
    )
    return ModalityDifference(measure, months, obs, car, detectable, False, text)
