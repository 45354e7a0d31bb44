"""Dose-indexed expected recovery for one practice: reading its ended episodes, storing the
shrunk curves and their cross-validated accuracy, and the dashboard panel built from them.

The statistics are in :mod:`.dose` (pure numpy). Fitting reads every in-treatment score of
the practice's ended episodes and their attended sessions, so it runs in the curve refit
(:func:`.summary.fit_practice_curves`, on a full recomputation and daily) and is stored in
the instrument's ``ExpectedCurves`` row under ``"dose"``; the dashboard only reads that
JSON. :class:`LiveRule` applies the same stored curves where they act: not-on-track
alerts and the caseload flag (:mod:`.summary`), the client's chart (:mod:`.trajectory`) and
the demo's past alerts, each at the dose counted by :func:`sessions_before`.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from reverie.care.models import Appointment, EpisodeStatus, Modality
from reverie.measures.models import Administration, Timepoint
from reverie.outcomes import dose

FloatArray = dose.FloatArray
BoolArray = dose.BoolArray

#: Modality groups the curves are fitted for, in the order stored.
GROUPS: tuple[str, ...] = (
    Modality.PSYCHODYNAMIC,
    Modality.PSYCHOANALYSIS,
    Modality.CBT,
    Modality.OTHER,
)
GROUP_LABELS: tuple[str, ...] = tuple(str(Modality(m).label) for m in GROUPS)
IN_TREATMENT = (Timepoint.INTAKE, Timepoint.SESSION)


def group_of(modality: str) -> int:
    """Row of ``modality`` in the stored curves (anything unknown is "other")."""
    return GROUPS.index(modality) if modality in GROUPS else GROUPS.index(Modality.OTHER)


def attended_starts(episode_ids: Iterable[int]) -> dict[int, list[datetime.datetime]]:
    """Start times of each episode's attended sessions, oldest first, in one query."""
    attended: dict[int, list[datetime.datetime]] = defaultdict(list)
    for episode_id, starts_at in (
        Appointment.objects.filter(episode_id__in=list(episode_ids), attendance="attended")
        .order_by("episode_id", "starts_at")
        .values_list("episode_id", "starts_at")
    ):
        attended[episode_id].append(starts_at)
    return attended


def sessions_before(starts: Sequence[datetime.datetime], at: datetime.datetime) -> int:
    """The dose of a questionnaire answered at ``at``: how many of the (sorted) attended
    sessions ``starts`` began before it."""
    return bisect.bisect_left(starts, at)


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
    attended = attended_starts(episode_ids)
    index = {pk: i for i, pk in enumerate(episode_ids)}
    group = np.full(len(episode_ids), GROUPS.index(Modality.OTHER), dtype=np.int64)
    ep = np.empty(len(rows), dtype=np.int64)
    doses = np.empty(len(rows), dtype=np.int64)
    scores = np.empty(len(rows), dtype=np.float64)
    for i, (episode_id, completed_at, total, modality) in enumerate(rows):
        j = index[episode_id]
        ep[i] = j
        group[j] = group_of(modality)
        # Sessions that started before the questionnaire was answered.
        doses[i] = sessions_before(attended.get(episode_id, []), completed_at)
        scores[i] = float(total)
    return dose.Series(ep, doses, scores, group), episode_ids


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


# --------------------------------------------------------------------------------------------
# the live rule: alerts, caseload flag and the client's chart
# --------------------------------------------------------------------------------------------


def curves_from_json(data: dict[str, Any]) -> dose.DoseCurves:
    """The :class:`.dose.DoseCurves` stored by :func:`payload` (rounded to 3 decimals).

    The practice's own cell variances are not stored (nothing live needs them): NaN."""
    if list(data["groups"]) != list(GROUPS) or list(data["edges"]) != list(dose.DOSE_EDGES):
        raise ValueError("stored dose curves use other groups or dose bins; refit them")

    def arr(key: str) -> Any:
        return np.asarray(
            [[np.nan if x is None else x for x in row] for row in data[key]], dtype=np.float64
        )

    return dose.DoseCurves(
        reliable_change=float(data["reliable_change"]),
        higher_is_better=bool(data["higher_is_better"]),
        n=np.asarray(data["n"], dtype=np.int64),
        n_episodes=np.asarray(data["n_episodes"], dtype=np.int64),
        practice_mean=arr("practice_mean"),
        practice_var=np.full((len(GROUPS), len(dose.DOSE_EDGES)), np.nan),
        reference_mean=np.asarray(data["reference_mean"], dtype=np.float64),
        reference_sd=float(data["reference_sd"]),
        weight=arr("weight"),
        mean=arr("mean"),
        sd=arr("sd"),
        sigma2_within=float(data["sigma2_within"]),
        tau2=float(data["tau2"]),
        k=np.inf if data["k"] is None else float(data["k"]),
    )


@dataclass(frozen=True)
class LiveRule:
    """The not-on-track rule of one instrument in one practice, as alerts, the caseload flag
    and the client's chart apply it: the stored dose curves, whose cross-validated accuracy
    the dashboard reports, or, when the practice has none stored yet (never refitted since
    they were added), the same curves fitted on no episodes, i.e. the published reference."""

    code: str
    curves: dose.DoseCurves
    scale: tuple[float, float]
    #: False when nothing was stored and the reference is used.
    stored: bool

    def source(self, modality: str) -> str:
        """ "practice" when the practice's ended episodes moved this modality's curve,
        "reference" when it is still the published reference trajectory."""
        moved = self.stored and bool(np.any(self.curves.weight[group_of(modality)] > 0))
        return "practice" if moved else "reference"

    def band(
        self, modality: str, doses: Sequence[int], intake: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Lower edge, expected score and upper edge of the 80 % band at each dose."""
        d = np.asarray(doses, dtype=np.int64)
        g = np.full(d.size, group_of(modality))
        return self.curves.band(g, d, np.full(d.size, float(intake)), scale=self.scale)

    def flags(
        self, modality: str, doses: Sequence[int], scores: Sequence[float], intake: float
    ) -> BoolArray:
        """Not on track, for an episode's in-treatment scores in order (the first is the
        intake): past the line, never the intake itself and never before a session."""
        d = np.asarray(doses, dtype=np.int64)
        g = np.full(d.size, group_of(modality))
        out = self.curves.not_on_track(g, d, scores, np.full(d.size, float(intake)))
        if out.size:
            out[0] = False
        return out

    def not_on_track(self, modality: str, dose_: int, score: float, intake: float) -> bool:
        """One later score (not the intake) at ``dose_`` sessions attended."""
        g = [group_of(modality)]
        return bool(self.curves.not_on_track(g, [dose_], [score], [intake])[0])


def live_rule(code: str, data: dict[str, Any] | None) -> LiveRule:
    """The live rule from a stored ``ExpectedCurves.curves`` JSON (or None)."""
    from reverie.outcomes.summary import instrument_scale

    meta = instrument_scale(code)
    stored = data.get("dose") if isinstance(data, dict) else None
    if stored:
        curves = curves_from_json(stored)
    else:
        empty = dose.Series(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
        )
        curves = dose.fit(
            empty,
            len(GROUPS),
            float(meta["reliable_change"]),
            higher_is_better=bool(meta["higher_is_better"]),
        )
    lo, hi = meta["scale"]
    return LiveRule(code, curves, (float(lo), float(hi)), bool(stored))


def practice_rules(
    practice_id: int, codes: Iterable[str] = ("phq-9", "gad-7")
) -> dict[str, LiveRule]:
    """The live rule of each instrument in one practice, in one query."""
    from reverie.outcomes.models import ExpectedCurves

    codes = list(codes)
    rows = dict(
        ExpectedCurves.objects.filter(practice_id=practice_id, instrument__in=codes).values_list(
            "instrument", "curves"
        )
    )
    return {code: live_rule(code, rows.get(code)) for code in codes}


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
