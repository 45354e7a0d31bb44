"""Evaluate not-on-track as a predictor of a poor end, on synthetic demo practices.

For each synthetic practice (``reverie.demo.model.generate_practice``, the generator behind
``reverie demo``; no database needed) the ended episodes' in-treatment PHQ-9 and GAD-7 scores
become a :class:`reverie.outcomes.dose.Series` with the dose counted as the attended sessions
before each answer, exactly as :func:`reverie.outcomes.recovery.load_series` reads them from the
database. It then prints, on the same episodes:

* the dose curves' 5-fold cross-validated sensitivity and specificity for a poor end (no
  reliable improvement by the last score) with Wilson 95 % intervals
  (:func:`reverie.outcomes.dose.cross_validate`);
* the baseline, the old default rule (flag only a score past intake + RC), which needs no
  fitting.

The first practice is the demo as seeded (seed 20261122); ``--practices N`` adds N - 1 more
seeds and also prints the figures pooled over all of them (every practice cross-validated on its
own episodes, the counts summed). Everything here is synthetic: the figures describe the demo's
generative model, not any real practice.

Run from the repository root:  .venv/bin/python bench/eval_not_on_track.py [--practices 10]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from reverie.demo.model import generate_practice
from reverie.outcomes import dose
from reverie.outcomes.effects import wilson_interval

GROUPS = ("psychodynamic", "psychoanalysis", "cbt", "other")
RC = {"phq9": 6.0, "gad7": 4.0}
TODAY = dt.date(2026, 11, 22)


def series_of(seed: int, instrument: str) -> dose.Series:
    practice = generate_practice(seed, today=TODAY)
    ep, doses, scores, group = [], [], [], []
    for client in practice.clients:
        for episode in client.episodes:
            if episode.status != "ended":
                continue
            starts = sorted(s.start for s in episode.sessions if s.attendance == "attended")
            rows = [
                m
                for m in sorted(episode.measurements, key=lambda m: m.taken_at)
                if m.instrument == instrument and m.timepoint in ("intake", "session")
            ]
            if not rows:
                continue
            index = len(group)
            group.append(GROUPS.index(episode.modality) if episode.modality in GROUPS else 3)
            for m in rows:
                ep.append(index)
                doses.append(bisect.bisect_left(starts, m.taken_at))
                scores.append(float(m.total))
    return dose.Series(
        np.asarray(ep, dtype=np.int64),
        np.asarray(doses, dtype=np.int64),
        np.asarray(scores, dtype=np.float64),
        np.asarray(group, dtype=np.int64),
    )


def fmt(events: int, n: int) -> str:
    if n == 0:
        return "not estimable (0 of 0)"
    lo, hi = wilson_interval(np.array([events]), np.array([n]))
    return f"{events / n:.2f} (95% CI {lo[0]:.2f}-{hi[0]:.2f}; {events}/{n})"


def line(label: str, a: dose.Accuracy) -> str:
    if a.too_few:
        return f"  {label:<34} too few eligible episodes ({a.n})"
    return (
        f"  {label:<34} sensitivity {fmt(a.true_pos, a.true_pos + a.false_neg)}  "
        f"specificity {fmt(a.true_neg, a.true_neg + a.false_pos)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=1)
    args = parser.parse_args()
    for instrument in ("phq9", "gad7"):
        pooled = {"rule": np.zeros(4, int), "base": np.zeros(4, int)}
        for i in range(args.practices):
            seed = 20261122 + i
            s = series_of(seed, instrument)
            rule, base = dose.cross_validate(s, len(GROUPS), RC[instrument])
            for key, a in (("rule", rule), ("base", base)):
                if not a.too_few:
                    pooled[key] += (a.true_pos, a.false_neg, a.true_neg, a.false_pos)
            if i == 0:
                print(
                    f"{instrument.upper()} demo practice (seed {seed}): {rule.n} ended episodes "
                    f"with >= 3 scores, {rule.poor} poor ends, {rule.folds} folds"
                )
                print(line("dose curves (cross-validated)", rule))
                print(line("baseline: reliable deterioration", base))
        if args.practices > 1:
            print(f"{instrument.upper()} pooled over {args.practices} synthetic practices:")
            for key, label in (("rule", "dose curves (cross-validated)"), ("base", "baseline")):
                tp, fn, tn, fp = (int(x) for x in pooled[key])
                print(
                    f"  {label:<34} sensitivity {fmt(tp, tp + fn)}  specificity {fmt(tn, tn + fp)}"
                )


if __name__ == "__main__":
    main()
