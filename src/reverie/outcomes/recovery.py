"""Dose-indexed expected recovery for one practice: reading its ended episodes, storing the
shrunk curves and their cross-validated accuracy, and the dashboard panel built from them.

The statistics are in :mod:`.dose` (pure numpy). Fitting reads every in-treatment score of
the practice's ended episodes and their attended sessions, so it runs where the other curves
are fitted (:func:`.summary.fit_practice_curves`, on a full recomputation and daily) and is
stored in the instrument's ``ExpectedCurves`` row under ``"dose"``; the dashboard only reads
that JSON.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reverie.care.models import Appointment, EpisodeStatus, Modality
from reverie.measures.models import Administration, Timepoint
from reverie.outcomes import dose

#: Modality groups the curves are fitted for, in the order stored.
GROUPS: tuple[str, ...] = (
    Modality.PSYCHODYNAMIC,
    Modality.PSYCHOANALYSIS,
    Modality.CBT,
    Modality.OTHER,
)
GROUP_LABELS: tuple[str, ...] = tuple(str(Modality(m).label) for m in GROUPS)
IN_TREATMENT = (Timepoint.INTAKE, Timepoint.SESSION)


def load_series(practice_id: int, code: str) -> tuple[dose.Series, list[int]]:
    """In-treatment scores of the practice's ended episodes on one instrument, with the dose
    (attended sessions before each answer), in two queries. Returns the series and the
    episode ids in its episode order."""
    rows = list(
        Administration.objects.filter(
            instrument__code=code,
            episode__status=EpisodeStatus.ENDED,
            episode__client__practice_id=practice_id,
            timepoint__in=IN_TREATMENT,
        )
        .order_by("episode_id", "completed_at", "id")
        .values_list("episode_id", "completed_at", "total", "episode__modality")
    )
    episode_ids = sorted({r[0] for r in rows})
    attended: dict[int, list[datetime.datetime]] = defaultdict(list)
    for episode_id, starts_at in (
        Appointment.objects.filter(episode_id__in=episode_ids, attendance="attended")
        .order_by("episode_id", "starts_at")
        .values_list("episode_id", "starts_at")
    ):
        attended[episode_id].append(starts_at)
    index = {pk: i for i, pk in enumerate(episode_ids)}
    group = np.full(len(episode_ids), GROUPS.index(Modality.OTHER), dtype=np.int64)
    ep = np.empty(len(rows), dtype=np.int64)
    doses = np.empty(len(rows), dtype=np.int64)
    scores = np.empty(len(rows), dtype=np.float64)
    for i, (episode_id, completed_at, total, modality) in enumerate(rows):
        j = index[episode_id]
        ep[i] = j
        if modality in GROUPS:
            group[j] = GROUPS.index(modality)
        sessions = attended.get(episode_id, [])
        # Sessions that started before the questionnaire was answered.
        doses[i] = _count_before(sessions, completed_at)
        scores[i] = float(total)
    return dose.Series(ep, doses, scores, group), episode_ids


def _count_before(starts: list[datetime.datetime], at: datetime.datetime) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] < at:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _num(x: float) -> float | None:
    return round(float(x), 3) if np.isfinite(x) else None


def _accuracy_json(a: dose.Accuracy) -> dict[str, Any]:
    return {
        "n": a.n,
        "poor": a.poor,
        "tp": a.true_pos,
        "fn": a.false_neg,
        "tn": a.true_neg,
        "fp": a.false_pos,
        "sensitivity": a.sensitivity,
        "sensitivity_ci": list(a.sensitivity_ci) if a.sensitivity_ci else None,
        "specificity": a.specificity,
        "specificity_ci": list(a.specificity_ci) if a.specificity_ci else None,
        "folds": a.folds,
        "too_few": a.too_few,
    }


def payload(
    series: dose.Series, reliable_change: float, *, higher_is_better: bool = False
) -> dict[str, Any]:
    """The fitted curves and both accuracies as JSON for ``ExpectedCurves.curves["dose"]``."""
    curves = dose.fit(series, len(GROUPS), reliable_change, higher_is_better=higher_is_better)
    rule, baseline = dose.cross_validate(
        series, len(GROUPS), reliable_change, higher_is_better=higher_is_better
    )
    return {
        "groups": list(GROUPS),
        "edges": list(dose.DOSE_EDGES),
        "reliable_change": reliable_change,
        "higher_is_better": higher_is_better,
        "n": curves.n.tolist(),
        "n_episodes": curves.n_episodes.tolist(),
        "practice_mean": [[_num(x) for x in row] for row in curves.practice_mean],
        "reference_mean": [_num(x) for x in curves.reference_mean],
        "reference_sd": _num(curves.reference_sd),
        "weight": np.round(curves.weight, 3).tolist(),
        "mean": np.round(curves.mean, 3).tolist(),
        "sd": np.round(curves.sd, 3).tolist(),
        "sigma2_within": _num(curves.sigma2_within),
        "tau2": _num(curves.tau2),
        "k": _num(curves.k),
        "accuracy": _accuracy_json(rule),
        "baseline": _accuracy_json(baseline),
    }


def practice_payload(practice_id: int, code: str, meta: dict[str, Any]) -> dict[str, Any]:
    """:func:`payload` for one practice and instrument (``meta`` from
    :func:`.summary.instrument_scale`)."""
    series, _ = load_series(practice_id, code)
    return payload(
        series, float(meta["reliable_change"]), higher_is_better=bool(meta["higher_is_better"])
    )


# --------------------------------------------------------------------------------------------
# the dashboard panel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    dose: str
    n: int
    own: float | None
    reference: float
    weight: float
    expected: float
    line: float


@dataclass(frozen=True)
class GroupCurve:
    label: str
    n_episodes: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Rate:
    value: float | None
    low: float | None
    high: float | None
    events: int
    n: int

    @property
    def text(self) -> str:
        if self.value is None or self.low is None or self.high is None:
            return f"not estimable ({self.events} of {self.n})"
        return (
            f"{self.value * 100:.0f}% (95% CI {self.low * 100:.0f}–{self.high * 100:.0f}%; "
            f"{self.events} of {self.n})"
        )


@dataclass(frozen=True)
class AccuracyRow:
    rule: str
    n: int
    poor: int
    sensitivity: Rate
    specificity: Rate
    folds: int
    too_few: bool


@dataclass(frozen=True)
class Panel:
    measure: str
    groups: tuple[GroupCurve, ...]
    k: float | None
    tau2: float | None
    sigma2_within: float | None
    accuracy: tuple[AccuracyRow, ...]
    words: str


def _rate(events: int, n: int, value: float | None, ci: list[float] | None) -> Rate:
    return Rate(value, ci[0] if ci else None, ci[1] if ci else None, events, n)


def _row(rule: str, a: dict[str, Any]) -> AccuracyRow:
    return AccuracyRow(
        rule,
        int(a["n"]),
        int(a["poor"]),
        _rate(a["tp"], a["tp"] + a["fn"], a["sensitivity"], a["sensitivity_ci"]),
        _rate(a["tn"], a["tn"] + a["fp"], a["specificity"], a["specificity_ci"]),
        int(a["folds"]),
        bool(a["too_few"]),
    )


def panel(measure: str, data: dict[str, Any]) -> Panel:
    """The panel of one instrument from its stored ``"dose"`` JSON."""
    rc = float(data["reliable_change"])
    z = float(stats.norm.ppf(dose.WARNING_QUANTILE))
    labels = dose.DOSE_LABELS
    groups = []
    for g, code in enumerate(data["groups"]):
        n_eps = int(data["n_episodes"][g])
        if n_eps == 0 and code not in (Modality.PSYCHODYNAMIC, Modality.CBT):
            continue
        cells = tuple(
            Cell(
                labels[b],
                int(data["n"][g][b]),
                data["practice_mean"][g][b],
                float(data["reference_mean"][b]),
                float(data["weight"][g][b]),
                float(data["mean"][g][b]),
                float(data["mean"][g][b]) + z * float(data["sd"][g][b]),
            )
            for b in range(1, len(labels))
        )
        label = str(Modality(code).label) if code in Modality.values else code
        groups.append(GroupCurve(label, n_eps, cells))
    rule = _row("Dose curves (cross-validated)", data["accuracy"])
    base = _row("Old default: reliable deterioration only", data["baseline"])
    if rule.too_few:
        words = (
            f"Too few ended episodes with at least three {measure} scores to measure how well "
            f"not-on-track predicts a poor end: {rule.n}, and at least {dose.MIN_EPISODES_CV} "
            "are needed. The curves lean on the published reference until then."
        )
    else:
        words = (
            f"Of {rule.n} ended episodes with at least three {measure} scores, {rule.poor} ended "
            f"without a reliable improvement of {rc:g} points. Fitted on the other folds, the "
            f"dose curves flagged {rule.sensitivity.text} of those before their last score, "
            f"and left {rule.specificity.text} of the others unflagged. The old rule (reliable "
            f"deterioration only) flagged {base.sensitivity.text} and left "
            f"{base.specificity.text} unflagged."
        )
    return Panel(
        measure,
        tuple(groups),
        data["k"],
        data["tau2"],
        data["sigma2_within"],
        (rule, base),
        words,
    )


def practice_panels(practice_id: int) -> list[Panel]:
    """The panels of the practice's stored curves (PHQ-9 first); one query."""
    from reverie.measures.registry import definition
    from reverie.outcomes.models import ExpectedCurves

    rows = {
        r.instrument: r
        for r in ExpectedCurves.objects.filter(practice_id=practice_id).only("instrument", "curves")
    }
    out = []
    for code in ("phq-9", "gad-7"):
        row = rows.get(code)
        data = row.curves.get("dose") if row is not None and isinstance(row.curves, dict) else None
        if data:
            out.append(panel(definition(code).short_name, data))
    return out
