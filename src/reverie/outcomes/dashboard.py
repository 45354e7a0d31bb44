"""The practice evidence dashboard, computed with numpy from the per-episode summary table.

:func:`load_frame` reads the summary rows of one practice (optionally one therapist) in a
single query into integer numpy columns; :func:`compute` turns them into every figure the
dashboard, the practice PDF and the public page show. Nothing here loops over episodes in
Python. Definitions (docs/outcomes.md has the full list):

* **ended**: the episode's status is ended.
* **finished course**: ended with at least two attended sessions (NHS Digital's "finished a
  course of treatment": two or more attended treatment appointments).
* **paired (PHQ-9)**: a finished course with at least two in-treatment PHQ-9 scores; the
  pre-post effect size, response and remission use these.
* **paired (PHQ-9 and GAD-7)**: also two GAD-7 scores; recovery, reliable improvement and
  reliable deterioration use the NHS Talking Therapies rules in :mod:`.change` on these;
  *mixed* (reliably better on one measure, reliably worse on the other) is shown beside them
  as a category of its own, not counted as deterioration.
* **dropout**: ended with the end reason "dropout", among ended episodes.
* Cells with fewer than :data:`~.evidence.MIN_CELL` (10) episodes in their denominator are
  suppressed: the figure is not shown.
"""

from __future__ import annotations

import datetime
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from numpy.typing import NDArray

from reverie.care.models import Modality
from reverie.measures.registry import definition
from reverie.outcomes import aftercare, change, evidence, expected, significance
from reverie.outcomes.effects import DEFAULT_REPORT_EFFECT_SIZE
from reverie.outcomes.models import EpisodeOutcome

MIN_CELL = evidence.MIN_CELL
MODALITY_CODES: tuple[str, ...] = (
    Modality.PSYCHODYNAMIC,
    Modality.PSYCHOANALYSIS,
    Modality.CBT,
    Modality.OTHER,
)
MODALITY_LABELS: tuple[str, ...] = tuple(str(Modality(m).label) for m in MODALITY_CODES)
#: Treatment length bands (days from start to end of ended episodes).
LENGTH_EDGES: tuple[int, ...] = (91, 182, 365, 730)
LENGTH_LABELS: tuple[str, ...] = (
    "Under 3 months",
    "3 to 6 months",
    "6 to 12 months",
    "1 to 2 years",
    "2 years or more",
)
FOLLOWUPS: tuple[tuple[int, str], ...] = ((1, "fu1"), (3, "fu3"), (6, "fu6"), (12, "fu12"))

_COLUMNS: tuple[str, ...] = (
    "therapist_id",
    "modality_code",
    "ended",
    "dropout",
    "sessions_attended",
    "days_treated",
    "phq9_n",
    "phq9_first",
    "phq9_last",
    "phq9_fu1",
    "phq9_fu3",
    "phq9_fu6",
    "phq9_fu12",
    "gad7_n",
    "gad7_first",
    "gad7_last",
    "gad7_fu1",
    "gad7_fu3",
    "gad7_fu6",
    "gad7_fu12",
    "days_since_end",
)
_MISSING = -1

# The SELECT packs each row's small integers into two 64-bit words (plus the therapist id), so
# the database driver creates 3 Python objects per episode instead of 16: at 100,000 episodes
# the fetch, not the arithmetic, is what costs. Each entry: (column, SQL, bits, offset); a
# nullable score is stored as score + 1 with 0 meaning missing, counts are capped (only
# "at least two" matters for them), and numpy unpacks the words with shifts and masks.
_SCORE = "CASE WHEN {c} IS NULL THEN 0 ELSE {c} + 1 END"
_CAP = "CASE WHEN {c} IS NULL THEN 0 WHEN {c} > {cap} THEN {cap} ELSE {c} END"
_WORD_A: tuple[tuple[str, str, int, int], ...] = (
    ("modality_code", "CASE modality {cases} ELSE 3 END", 2, 0),
    ("ended", "CASE WHEN status = 'ended' THEN 1 ELSE 0 END", 1, 0),
    ("dropout", "CASE WHEN end_reason = 'dropout' THEN 1 ELSE 0 END", 1, 0),
    *(
        (c, _SCORE.format(c=c), 5, 1)
        for c in (
            "phq9_first",
            "phq9_last",
            "phq9_fu1",
            "phq9_fu3",
            "phq9_fu6",
            "phq9_fu12",
            "gad7_first",
            "gad7_last",
        )
    ),
)
_WORD_B: tuple[tuple[str, str, int, int], ...] = (
    ("sessions_attended", _CAP.format(c="sessions_attended", cap=65535), 16, 0),
    (
        "days_treated",
        "CASE WHEN days_treated IS NULL THEN 0 WHEN days_treated > 65534 THEN 65535 "
        "ELSE days_treated + 1 END",
        16,
        1,
    ),
    ("phq9_n", _CAP.format(c="phq9_n", cap=255), 8, 0),
    ("gad7_n", _CAP.format(c="gad7_n", cap=255), 8, 0),
)


# GAD-7 follow-ups and the days since the episode ended (for "was the follow-up due?") in a
# third word. Days since ending needs date arithmetic, which the two databases spell
# differently; {days} is filled in per vendor.
_WORD_C: tuple[tuple[str, str, int, int], ...] = (
    *((c, _SCORE.format(c=c), 5, 1) for c in ("gad7_fu1", "gad7_fu3", "gad7_fu6", "gad7_fu12")),
    (
        "days_since_end",
        "CASE WHEN end_date IS NULL THEN 0 WHEN {days} > 65534 THEN 65535 "
        "WHEN {days} < 0 THEN 1 ELSE {days} + 1 END",
        16,
        1,
    ),
)
_DAYS_SINCE_END = {
    "postgresql": "(CURRENT_DATE - end_date)",
    "sqlite": "CAST(julianday('now') - julianday(end_date) AS INTEGER)",
}


def _pack(word: tuple[tuple[str, str, int, int], ...], cases: str, days: str = "") -> str:
    terms, shift = [], 0
    for _, expr, bits, _offset in word:
        terms.append(f"CAST({expr.format(cases=cases, days=days)} AS BIGINT) * {2**shift}")
        shift += bits
    return " + ".join(terms)


def _select_sql(therapist: bool) -> str:
    table = EpisodeOutcome._meta.db_table
    cases = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(MODALITY_CODES[:3]))
    where = "practice_id = %s" + (" AND therapist_id = %s" if therapist else "")
    days = _DAYS_SINCE_END.get(connection.vendor, _DAYS_SINCE_END["sqlite"])
    return (
        f"SELECT therapist_id, {_pack(_WORD_A, cases)}, {_pack(_WORD_B, cases)}, "  # noqa: S608
        f"{_pack(_WORD_C, cases, days)} "
        f"FROM {table} WHERE {where}"  # (constants only; values are parameters)
    )


def _unpack(
    word: NDArray[np.int64], spec: tuple[tuple[str, str, int, int], ...]
) -> dict[str, NDArray[np.int64]]:
    out, shift = {}, 0
    for name, _, bits, offset in spec:
        value = (word >> shift) & ((1 << bits) - 1)
        out[name] = value - offset if offset else value
        shift += bits
    return out


@dataclass(frozen=True)
class Frame:
    """One integer column per summary field; -1 marks a missing score."""

    columns: dict[str, NDArray[np.int64]]

    def __getitem__(self, name: str) -> NDArray[np.int64]:
        return self.columns[name]

    @property
    def size(self) -> int:
        return int(self.columns["therapist_id"].size)

    def score(self, name: str) -> NDArray[np.float64]:
        """A score column as floats with NaN for missing."""
        col = self.columns[name].astype(np.float64)
        col[self.columns[name] == _MISSING] = np.nan
        return col


def load_frame(practice_id: int, therapist_id: int | None = None) -> Frame:
    """The summary rows of a practice (or one therapist's episodes) as numpy columns."""
    params: list[int] = [practice_id] + ([therapist_id] if therapist_id is not None else [])
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(therapist_id is not None), params)
        rows = cursor.fetchall()
    flat = np.fromiter(
        (v for row in rows for v in row), dtype=np.int64, count=len(rows) * 4
    ).reshape(len(rows), 4)
    columns = {"therapist_id": flat[:, 0].copy()}
    columns.update(_unpack(flat[:, 1], _WORD_A))
    columns.update(_unpack(flat[:, 2], _WORD_B))
    columns.update(_unpack(flat[:, 3], _WORD_C))
    return Frame(columns)


def frame_from_rows(rows: list[dict[str, Any]]) -> Frame:
    """A frame from plain dictionaries (tests and benchmarks build synthetic practices)."""
    cols: dict[str, list[int]] = {c: [] for c in _COLUMNS}
    for row in rows:
        for c in _COLUMNS:
            v = row.get(c)
            cols[c].append(_MISSING if v is None else int(v))
    return Frame({c: np.asarray(v, dtype=np.int64) for c, v in cols.items()})


# --------------------------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    n: int
    d: float | None
    ci_low: float | None
    ci_high: float | None
    hedges: bool
    suppressed: bool

    @property
    def label(self) -> str:
        return "Hedges' g" if self.hedges else "Cohen's d"


@dataclass(frozen=True)
class Rate:
    events: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool

    @property
    def percent(self) -> str:
        return "" if self.rate is None else f"{self.rate * 100:.0f}%"

    @property
    def interval(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return ""
        return f"{self.ci_low * 100:.0f}–{self.ci_high * 100:.0f}%"


@dataclass(frozen=True)
class Change:
    """Mean PHQ-9 change in points (last minus first; negative is fewer symptoms)."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


@dataclass(frozen=True)
class SplitRow:
    label: str
    n_episodes: int
    n_ended: int
    effect: Effect | None
    change: Change
    recovery: Rate
    improvement: Rate
    deterioration: Rate
    dropout: Rate
    mixed: Rate | None = None


@dataclass(frozen=True)
class Split:
    key: str
    title: str
    rows: tuple[SplitRow, ...]


@dataclass(frozen=True)
class FollowupCell:
    months: int
    n: int
    mean_change: float | None
    ci_low: float | None
    ci_high: float | None
    improving: float | None
    stable: float | None
    relapsed: float | None
    effect_from_intake: Effect
    suppressed: bool


@dataclass(frozen=True)
class FollowupGroup:
    label: str
    n_ended_paired: int
    cells: tuple[FollowupCell, ...]


@dataclass(frozen=True)
class Benchmark:
    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    @property
    def figure(self) -> str:
        if self.data.get("kind") == "rate":
            return f"{self.data['value'] * 100:.1f}%"
        high = self.data.get("value_high")
        text = (
            f"{self.data['value']:.2f}"
            if high is None
            else (f"{self.data['value']:.2f} to {high:.2f}")
        )
        if self.data.get("ci_low") is not None:
            text += f" (95% CI {self.data['ci_low']:.2f}–{self.data['ci_high']:.2f})"
        return text


@dataclass(frozen=True)
class AftercareCell:
    """Change from the last session to one follow-up, on one questionnaire, in one group."""

    measure: str
    group: str
    months: int
    n_due: int
    answered_of_due: int
    observed: aftercare.MeanCI
    carried: aftercare.MeanCI

    @property
    def suppressed(self) -> bool:
        return self.observed.n < MIN_CELL


@dataclass(frozen=True)
class ModalityDifference:
    """Psychodynamic and psychoanalysis minus CBT: change after ending, at one follow-up."""

    measure: str
    months: int
    observed: aftercare.Difference
    carried: aftercare.Difference
    detectable: float
    too_few: bool
    words: str


@dataclass(frozen=True)
class BenchmarkRow:
    """One published figure beside the practice's figure on the episodes of the same design.

    ``status`` is ``inside`` / ``above`` / ``below`` (where the published figure lies against
    the practice's 95 % CI) or ``too_few`` (fewer than :data:`MIN_CELL` matching episodes: no
    practice figure is shown)."""

    benchmark: Benchmark
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    verdict: str
    matched: str

    @property
    def is_rate(self) -> bool:
        return self.benchmark.data.get("kind") == "rate"

    @property
    def practice_figure(self) -> str:
        if self.estimate is None or self.ci_low is None or self.ci_high is None:
            return ""
        if self.is_rate:
            return (
                f"{self.estimate * 100:.0f}% (95% CI {self.ci_low * 100:.0f}–"
                f"{self.ci_high * 100:.0f}%)"
            )
        return f"{self.estimate:.2f} (95% CI {self.ci_low:.2f} to {self.ci_high:.2f})"


@dataclass(frozen=True)
class JTRow:
    """Jacobson-Truax categories on one measure among the paired episodes in scope."""

    code: str
    short_name: str
    reference: significance.JTReference | None
    reason: str | None
    n: int
    recovered: Rate | None
    improved: Rate | None
    unchanged: Rate | None
    deteriorated: Rate | None


@dataclass(frozen=True)
class Dashboard:
    scope: str
    computed_at: datetime.datetime
    n_episodes: int
    n_open: int
    n_ended: int
    n_course: int
    n_paired: int
    n_paired_both: int
    effect: Effect
    effect_kind: str
    recovery: Rate
    reliable_recovery: Rate
    improvement: Rate
    deterioration: Rate
    mixed: Rate
    dropout: Rate
    response: Rate
    remission: Rate
    splits: tuple[Split, ...]
    followup: tuple[FollowupGroup, ...]
    comparable: tuple[Benchmark, ...] = field(default=())
    context: tuple[Benchmark, ...] = field(default=())
    jacobson_truax: tuple[JTRow, ...] = field(default=())
    benchmark_rows: tuple[BenchmarkRow, ...] = field(default=())
    aftercare: tuple[AftercareCell, ...] = field(default=())
    modality_differences: tuple[ModalityDifference, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self.n_episodes == 0


# --------------------------------------------------------------------------------------------
# computation
# --------------------------------------------------------------------------------------------


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _effects(res: evidence.GroupedEffect) -> list[Effect]:
    out = []
    for i in range(res.n.size):
        n = int(res.n[i])
        suppressed = n < MIN_CELL or not np.isfinite(res.d[i])
        out.append(
            Effect(
                n=n,
                d=None if suppressed else _f(res.d[i]),
                ci_low=None if suppressed else _f(res.ci_low[i]),
                ci_high=None if suppressed else _f(res.ci_high[i]),
                hedges=bool(res.hedges[i]),
                suppressed=suppressed,
            )
        )
    return out


def _rates(res: evidence.GroupedRate) -> list[Rate]:
    out = []
    for i in range(res.n.size):
        n = int(res.n[i])
        suppressed = n < MIN_CELL
        out.append(
            Rate(
                events=int(res.events[i]) if not suppressed else 0,
                n=n,
                rate=None if suppressed else _f(res.rate[i]),
                ci_low=None if suppressed else _f(res.ci_low[i]),
                ci_high=None if suppressed else _f(res.ci_high[i]),
                suppressed=suppressed,
            )
        )
    return out


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


def _changes(res: evidence.GroupedMean) -> list[Change]:
    out = []
    for i in range(res.n.size):
        n = int(res.n[i])
        suppressed = n < MIN_CELL
        out.append(
            Change(
                n=n,
                mean=None if suppressed else _f(res.mean[i]),
                ci_low=None if suppressed else _f(res.ci_low[i]),
                ci_high=None if suppressed else _f(res.ci_high[i]),
                suppressed=suppressed,
            )
        )
    return out


def _split(
    key: str,
    title: str,
    labels: list[str],
    group: NDArray[np.int64],
    frame: Frame,
    dv: _Derived,
    *,
    with_effect: bool = True,
) -> Split:
    """One split of the dashboard. ``with_effect=False`` for splits by intake score: the SD
    inside one severity band is narrowed by the banding itself, so a d standardised by it
    would be inflated; those rows show the raw change in points only."""
    k = len(labels)
    # Rows outside every group (no intake score, still open) go to an extra bucket k, dropped
    # at the end, so every quantity is one bincount over the full arrays.
    g = np.where(group >= 0, group, k)
    kk = k + 1
    n_episodes = np.bincount(g, minlength=kk)[:k]
    n_ended = np.bincount(g, weights=dv.ended, minlength=kk)[:k].astype(np.int64)
    pre = np.where(dv.paired, dv.pre, np.nan)
    post = np.where(dv.paired, dv.post, np.nan)
    eff = _effects(evidence.grouped_prepost(pre, post, g, kk))[:k]
    chg = _changes(evidence.grouped_mean(post - pre, g, kk))[:k]
    both = dv.paired_both
    rec = _rates(evidence.grouped_rate(dv.recovery, dv.case_start, g, kk))[:k]
    imp = _rates(evidence.grouped_rate(dv.improvement, both, g, kk))[:k]
    det = _rates(evidence.grouped_rate(dv.deterioration, both, g, kk))[:k]
    mix = _rates(evidence.grouped_rate(dv.mixed, both, g, kk))[:k]
    drop = _rates(evidence.grouped_rate(dv.dropout, dv.ended, g, kk))[:k]
    rows = tuple(
        SplitRow(
            label=labels[i],
            n_episodes=int(n_episodes[i]),
            n_ended=int(n_ended[i]),
            effect=eff[i] if with_effect else None,
            change=chg[i],
            recovery=rec[i],
            improvement=imp[i],
            deterioration=det[i],
            mixed=mix[i],
            dropout=drop[i],
        )
        for i in range(k)
        if n_episodes[i] > 0
    )
    return Split(key, title, rows)


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


#: Measures classified by Jacobson & Truax, with the summary columns holding them.
JT_MEASURES: tuple[tuple[str, str], ...] = (("phq-9", "phq9"), ("gad-7", "gad7"))


def frame_intake_sums(frame: Frame) -> dict[str, significance.IntakeSums]:
    """Intake scores of the frame's paired episodes, per measure (the dysfunctional sample of
    :mod:`.significance`)."""
    return _intake_sums(_derive(frame))


def _intake_sums(dv: _Derived) -> dict[str, significance.IntakeSums]:
    return {
        "phq-9": significance.IntakeSums.of(dv.pre[dv.paired]),
        "gad-7": significance.IntakeSums.of(dv.gad_pre[dv.paired_gad]),
    }


def practice_intake_sums(practice_id: int) -> dict[str, significance.IntakeSums]:
    """The same sums for a whole practice in one aggregate query (used where the frame in
    hand is one therapist's, or there is none: the trajectory page). The filters are the
    paired definitions of :func:`_derive`; a test checks both give the same sums."""
    course = Q(status="ended", sessions_attended__gte=2)
    spec: dict[str, Any] = {}
    for _code, key in JT_MEASURES:
        col = key
        paired = course & Q(
            **{f"{col}_n__gte": 2, f"{col}_first__isnull": False, f"{col}_last__isnull": False}
        )
        spec[f"jt_{key}_count"] = Count("pk", filter=paired)
        spec[f"jt_{key}_sum"] = Sum(f"{col}_first", filter=paired)
        spec[f"jt_{key}_squares"] = Sum(F(f"{col}_first") * F(f"{col}_first"), filter=paired)
    row = EpisodeOutcome.objects.filter(practice_id=practice_id).aggregate(**spec)
    return {
        code: significance.IntakeSums(
            int(row[f"jt_{col}_count"] or 0),
            float(row[f"jt_{col}_sum"] or 0),
            float(row[f"jt_{col}_squares"] or 0),
        )
        for code, col in JT_MEASURES
    }


def _jacobson_truax(dv: _Derived, intakes: dict[str, significance.IntakeSums]) -> tuple[JTRow, ...]:
    zero = np.zeros(dv.paired.size, dtype=np.int64)
    rows = []
    for code, pre, post, eligible in (
        ("phq-9", dv.pre, dv.post, dv.paired),
        ("gad-7", dv.gad_pre, dv.gad_post, dv.paired_gad),
    ):
        d = definition(code)
        sums = intakes[code]
        ref = significance.reference(d, sums)
        n = int(eligible.sum())
        if ref is None:
            rows.append(
                JTRow(
                    code,
                    d.short_name,
                    None,
                    significance.unavailable_reason(d, sums),
                    n,
                    None,
                    None,
                    None,
                    None,
                )
            )
            continue
        codes = np.full(dv.paired.size, 99, dtype=np.int8)
        if n:
            codes[eligible] = ref.classify(pre[eligible], post[eligible])

        def rate(
            cat: change.JTCategory,
            codes: NDArray[np.int8] = codes,
            eligible: NDArray[np.bool_] = eligible,
        ) -> Rate:
            return _rates(evidence.grouped_rate(codes == cat, eligible, zero, 1))[0]

        rows.append(
            JTRow(
                code,
                d.short_name,
                ref,
                None,
                n,
                rate(change.JTCategory.RECOVERED),
                rate(change.JTCategory.IMPROVED),
                rate(change.JTCategory.UNCHANGED),
                rate(change.JTCategory.DETERIORATED),
            )
        )
    return tuple(rows)


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


def intake_band_labels() -> list[str]:
    return [b.label for b in definition("phq-9").bands]


def compute(
    frame: Frame,
    *,
    scope: str,
    therapist_labels: dict[int, str] | None = None,
    intakes: dict[str, significance.IntakeSums] | None = None,
) -> Dashboard:
    """Every dashboard figure from a frame. ``therapist_labels`` adds the therapist split.
    ``intakes`` (from :func:`practice_intake_sums`) fixes the Jacobson-Truax reference to the
    whole practice when the frame is one therapist's; by default the frame's own."""
    dv = _derive(frame)
    zero = np.zeros(frame.size, dtype=np.int64)
    headline = _effects(
        evidence.grouped_prepost(
            np.where(dv.paired, dv.pre, np.nan), np.where(dv.paired, dv.post, np.nan), zero, 1
        )
    )[0]
    both = dv.paired_both

    def rate(event: NDArray[np.bool_], eligible: NDArray[np.bool_]) -> Rate:
        return _rates(evidence.grouped_rate(event, eligible, zero, 1))[0]

    depressed = dv.paired & (dv.pre >= float(change.PHQ9_CASENESS))
    pre_ok = np.where(dv.paired, dv.pre, 1.0)
    post_ok = np.where(dv.paired, dv.post, 1.0)
    responded = dv.paired & change.response(pre_ok, post_ok)
    remitted = dv.paired & change.remission(post_ok)

    splits = [
        _split("modality", "By modality", list(MODALITY_LABELS), frame["modality_code"], frame, dv)
    ]
    if therapist_labels is not None:
        ids = sorted(therapist_labels, key=lambda pk: therapist_labels[pk])
        index = {pk: i for i, pk in enumerate(ids)}
        lookup = np.full(int(frame["therapist_id"].max(initial=0)) + 1, -1, dtype=np.int64)
        for pk, i in index.items():
            if pk < lookup.size:
                lookup[pk] = i
        group = lookup[frame["therapist_id"]] if frame.size else frame["therapist_id"]
        splits.append(
            _split(
                "therapist", "By therapist", [therapist_labels[pk] for pk in ids], group, frame, dv
            )
        )
    edges = tuple(float(b) for b in definition("phq-9").band_lower_bounds[1:])
    intake = frame["phq9_first"]
    band = np.where(intake >= 0, expected.assign_band(np.maximum(intake, 0), edges), -1).astype(
        np.int64
    )
    splits.append(
        _split(
            "severity",
            "By intake severity (PHQ-9)",
            intake_band_labels(),
            band,
            frame,
            dv,
            with_effect=False,
        )
    )
    days = frame["days_treated"]
    length = np.where(days >= 0, np.digitize(days, LENGTH_EDGES), -1).astype(np.int64)
    splits.append(
        _split("length", "By length of treatment", list(LENGTH_LABELS), length, frame, dv)
    )

    comparable, context = benchmarks_for(frame)
    after_cells, after_diffs = _aftercare(frame, dv)
    return Dashboard(
        scope=scope,
        computed_at=timezone.now(),
        n_episodes=frame.size,
        n_open=int((~dv.ended).sum()),
        n_ended=int(dv.ended.sum()),
        n_course=int((dv.ended & (frame["sessions_attended"] >= 2)).sum()),
        n_paired=int(dv.paired.sum()),
        n_paired_both=int(both.sum()),
        effect=headline,
        effect_kind=DEFAULT_REPORT_EFFECT_SIZE,
        recovery=rate(dv.recovery, dv.case_start),
        reliable_recovery=rate(dv.reliable_recovery, dv.case_start),
        improvement=rate(dv.improvement, both),
        deterioration=rate(dv.deterioration, both),
        mixed=rate(dv.mixed, both),
        dropout=rate(dv.dropout, dv.ended),
        response=rate(responded, dv.paired),
        remission=rate(remitted, depressed),
        splits=tuple(splits),
        followup=_followup(frame, dv),
        comparable=comparable,
        context=context,
        benchmark_rows=tuple(benchmark_row(b, frame, dv) for b in comparable),
        aftercare=after_cells,
        modality_differences=after_diffs,
        jacobson_truax=_jacobson_truax(dv, intakes if intakes is not None else _intake_sums(dv)),
    )


# --------------------------------------------------------------------------------------------
# benchmarks
# --------------------------------------------------------------------------------------------


@cache
def load_benchmarks() -> dict[str, Any]:
    """The benchmark data file (citation, design and exact figure of each benchmark)."""
    text = resources.files("reverie.outcomes").joinpath("benchmarks.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def verdict(
    value: float, value_high: float | None, ci_low: float, ci_high: float, *, rate: bool
) -> tuple[str, str]:
    """Where a published figure (or range) lies against the practice's confidence interval,
    as a status and a plain sentence.

    A published range counts as inside when it overlaps the interval.

    >>> verdict(1.03, None, 0.6, 1.2, rate=False)[0]
    'inside'
    >>> status, text = verdict(1.38, None, 0.6, 1.2, rate=False)
    >>> status, text.split(": ")[1]
    ('above', 'these episodes improved less than in the study.')
    >>> verdict(0.57, 1.18, 1.2, 1.6, rate=False)[0]
    'below'
    """
    high = value if value_high is None else value_high
    done = "recovered less often" if rate else "improved less"
    more = "recovered more often" if rate else "improved more"
    if value > ci_high:
        return "above", (
            "The published figure is above the practice's 95% confidence interval: these "
            f"episodes {done} than in the study."
        )
    if high < ci_low:
        return "below", (
            "The published figure is below the practice's 95% confidence interval: these "
            f"episodes {more} than in the study."
        )
    return "inside", (
        "The published figure lies inside the practice's 95% confidence interval: the "
        "practice's result is consistent with it."
    )


def _matching(b: Benchmark, frame: Frame, dv: _Derived) -> tuple[NDArray[np.bool_], str]:
    """Episodes of the benchmark's declared design, and the design in words."""
    m: dict[str, Any] = b.data.get("match", {})
    codes = [MODALITY_CODES.index(x) for x in m.get("modalities", b.data["modalities"])]
    keep = np.isin(frame["modality_code"], codes)
    words = [", ".join(MODALITY_LABELS[c].lower() for c in codes)]
    sessions = frame["sessions_attended"]
    days = frame["days_treated"]
    if m.get("min_sessions") is not None:
        keep &= sessions >= int(m["min_sessions"])
    if m.get("max_sessions") is not None:
        keep &= sessions <= int(m["max_sessions"])
    lo, hi = m.get("min_sessions"), m.get("max_sessions")
    if lo is not None and hi is not None:
        words.append(f"{lo} to {hi} sessions attended")
    elif lo is not None:
        words.append(f"at least {lo} sessions attended")
    elif hi is not None:
        words.append(f"at most {hi} sessions attended")
    if m.get("min_days") is not None:
        keep &= days >= int(m["min_days"])
        words.append(f"at least {int(m['min_days'])} days in treatment")
    if m.get("max_days") is not None:
        keep &= (days >= 0) & (days <= int(m["max_days"]))
        words.append(f"ended within {int(m['max_days']) + 1} days")
    if m.get("population") == "depressed":
        keep &= dv.pre >= float(change.PHQ9_CASENESS)
        words.append("PHQ-9 10 or more at intake")
    return keep, "; ".join(words)


def benchmark_row(b: Benchmark, frame: Frame, dv: _Derived) -> BenchmarkRow:
    """The practice's figure on the episodes matching ``b``'s declared design.

    Effect benchmarks: ``d_pre`` (Hedges' g below 20 pairs) with Becker's CI on the matching
    PHQ-9 pairs, to the last session (pre-post) or to the declared follow-up. Rate
    benchmarks: the NHS Talking Therapies recovery / reliable recovery / reliable improvement
    rate with its Wilson interval on the matching paired PHQ-9 / GAD-7 episodes and the NHS
    denominator.
    """
    keep, words = _matching(b, frame, dv)
    m: dict[str, Any] = b.data.get("match", {})
    zero = np.zeros(frame.size, dtype=np.int64)
    rate = b.data.get("kind") == "rate"
    if rate:
        flag = {
            "recovery": (dv.recovery, dv.case_start),
            "reliable_recovery": (dv.reliable_recovery, dv.case_start),
            "reliable_improvement": (dv.improvement, dv.paired_both),
        }[b.data["rate"]]
        got = _rates(evidence.grouped_rate(flag[0], flag[1] & keep, zero, 1))[0]
        n, est, lo, hi = got.n, got.rate, got.ci_low, got.ci_high
    else:
        post = dv.post
        if m.get("design") == "pre-followup":
            col = {1: "fu1", 3: "fu3", 6: "fu6", 12: "fu12"}[int(m.get("followup_months", 12))]
            post = frame.score(f"phq9_{col}")
            words += f"; PHQ-9 at the {m.get('followup_months', 12)}-month follow-up"
        use = dv.paired & keep
        eff = _effects(
            evidence.grouped_prepost(
                np.where(use, dv.pre, np.nan), np.where(use, post, np.nan), zero, 1
            )
        )[0]
        n, est, lo, hi = eff.n, eff.d, eff.ci_low, eff.ci_high
    if est is None or lo is None or hi is None:
        return BenchmarkRow(
            b,
            n,
            None,
            None,
            None,
            "too_few",
            f"Too few matching episodes to compare: {n}, and at least {MIN_CELL} are needed.",
            words,
        )
    status, text = verdict(b.data["value"], b.data.get("value_high"), lo, hi, rate=rate)
    return BenchmarkRow(b, n, est, lo, hi, status, text, words)


def benchmarks_for(frame: Frame) -> tuple[tuple[Benchmark, ...], tuple[Benchmark, ...]]:
    """Comparable benchmarks for the modalities present, and the labelled context ones."""
    present = {MODALITY_CODES[int(c)] for c in np.unique(frame["modality_code"])}
    comparable: list[Benchmark] = []
    context: list[Benchmark] = []
    for item in load_benchmarks()["benchmarks"]:
        if not present & set(item["modalities"]):
            continue
        (comparable if item["use"] == "comparable" else context).append(Benchmark(item))
    return tuple(comparable), tuple(context)


# --------------------------------------------------------------------------------------------
# public summary
# --------------------------------------------------------------------------------------------


def public_summary(frame: Frame) -> dict[str, Any]:
    """The de-identified summary a practice may publish: counts rounded down to tens, and
    every figure whose denominator is under :data:`MIN_CELL` suppressed."""
    board = compute(frame, scope="public")

    def rounded(n: int) -> str:
        return "fewer than 10" if n < MIN_CELL else f"{(n // 10) * 10}+"

    modality = next(s for s in board.splits if s.key == "modality")
    return {
        "episodes_ended": rounded(board.n_ended),
        "paired": rounded(board.n_paired),
        "effect": board.effect,
        "recovery": board.recovery,
        "improvement": board.improvement,
        "deterioration": board.deterioration,
        "mixed": board.mixed,
        "dropout": board.dropout,
        "by_modality": [
            {
                "label": row.label,
                "n": rounded(row.n_ended),
                "effect": row.effect,
                "recovery": row.recovery,
            }
            for row in modality.rows
        ],
        "followup": board.followup[0],
        "followup_groups": board.followup,
        "benchmarks": board.comparable,
        "context": board.context,
        "min_cell": MIN_CELL,
    }
