"""Every dashboard figure from a frame: :func:`compute` and its splits."""

from __future__ import annotations

import numpy as np
from django.utils import timezone
from numpy.typing import NDArray

from reverie.measures.registry import definition
from reverie.outcomes import change, evidence, expected, significance
from reverie.outcomes.dashboard.benchmarks import benchmark_row, benchmarks_for
from reverie.outcomes.dashboard.episodes import _derive, _Derived
from reverie.outcomes.dashboard.followup import _aftercare, _followup
from reverie.outcomes.dashboard.frame import MODALITY_LABELS, Frame
from reverie.outcomes.dashboard.jacobson_truax import _intake_sums, _jacobson_truax
from reverie.outcomes.dashboard.results import (
    Dashboard,
    Rate,
    Split,
    SplitRow,
    _changes,
    _effects,
    _rates,
)
from reverie.outcomes.effects import DEFAULT_REPORT_EFFECT_SIZE

#: Treatment length bands (days from start to end of ended episodes).
LENGTH_EDGES: tuple[int, ...] = (91, 182, 365, 730)
LENGTH_LABELS: tuple[str, ...] = (
    "Under 3 months",
    "3 to 6 months",
    "6 to 12 months",
    "1 to 2 years",
    "2 years or more",
)


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
