"""The figures the dashboard shows, as frozen dataclasses, and the conversions from the grouped
results of :mod:`reverie.outcomes.evidence` (suppressing cells under ``MIN_CELL``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reverie.outcomes import aftercare, evidence, significance
from reverie.outcomes.dashboard.frame import MIN_CELL


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
