"""Published benchmarks beside the practice's figure on the episodes of the same design."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reverie.outcomes import change, evidence
from reverie.outcomes.dashboard.episodes import _Derived
from reverie.outcomes.dashboard.frame import MIN_CELL, MODALITY_CODES, MODALITY_LABELS, Frame
from reverie.outcomes.dashboard.results import Benchmark, BenchmarkRow, _effects, _rates


@cache
def load_benchmarks() -> dict[str, Any]:
    """The benchmark data file (citation, design and exact figure of each benchmark)."""
    text = resources.files("reverie.outcomes").joinpath("benchmarks.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


#: The event a rate benchmark counts, as the verb of its verdict ("... less often").
RATE_EVENTS: dict[str, str] = {
    "recovery": "recovered",
    "reliable_recovery": "reliably recovered",
    "reliable_improvement": "improved reliably",
}


def verdict(
    value: float,
    value_high: float | None,
    ci_low: float,
    ci_high: float,
    *,
    rate: bool,
    event: str = "recovered",
) -> tuple[str, str]:
    """Where a published figure (or range) lies against the practice's confidence interval,
    as a status and a plain sentence. ``event`` is what a rate counts (:data:`RATE_EVENTS`).

    A published range counts as inside when it overlaps the interval.

    >>> verdict(1.03, None, 0.6, 1.2, rate=False)[0]
    'inside'
    >>> status, text = verdict(1.38, None, 0.6, 1.2, rate=False)
    >>> status, text.split(": ")[1]
    ('above', 'these episodes improved less than in the study.')
    >>> verdict(0.57, 1.18, 1.2, 1.6, rate=False)[0]
    'below'
    >>> verdict(0.674, None, 0.4, 0.6, rate=True, event="improved reliably")[1].split(": ")[1]
    'these episodes improved reliably less often than in the study.'
    """
    high = value if value_high is None else value_high
    done = f"{event} less often" if rate else "improved less"
    more = f"{event} more often" if rate else "improved more"
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
    status, text = verdict(
        b.data["value"],
        b.data.get("value_high"),
        lo,
        hi,
        rate=rate,
        event=RATE_EVENTS.get(b.data.get("rate", ""), "recovered"),
    )
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
