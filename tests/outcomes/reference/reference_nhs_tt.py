"""Independent, deliberately naive re-implementation of the NHS Talking Therapies rules.

It works one episode at a time with plain ``if`` statements, written straight from the
definitions in ``docs/statistics.md`` (not from ``reverie.outcomes.change``), and writes the
expected flags for an exhaustive grid of edge cases to ``nhs_tt_expected.csv``.

Source of the rules: NHS Digital, *A guide to IAPT data and publications* v2.1, definitions of
recovery, reliable improvement and reliable recovery and its PROM threshold table (PHQ-9
caseness 10 / reliable change 6, GAD-7 caseness 8 / reliable change 4), read as a verbatim
quotation in The-Strategy-Unit/talking_therapies ``outputs/evaluation_framework.qmd`` (commit
413b3626). Scores and changes equal to a threshold count (see ``docs/statistics.md`` section 3
for why). Reliable deterioration is not defined in any NHS text retrieved: here it is "worse
on one measure, better on neither", and "better on one, worse on the other" is its own
category, mixed (Reverie's reporting choice, not an NHS category).

Rerun from the repository root with::

    .venv/bin/python tests/outcomes/reference/reference_nhs_tt.py
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

PHQ9_CUT, GAD7_CUT = 10, 8
PHQ9_RC, GAD7_RC = 6, 4


def classify(phq_pre: int, phq_post: int, gad_pre: int, gad_post: int) -> dict[str, bool]:
    """Return the NHS TT flags for one episode."""
    case_start = phq_pre >= PHQ9_CUT or gad_pre >= GAD7_CUT
    case_end = phq_post >= PHQ9_CUT or gad_post >= GAD7_CUT

    def direction(pre: int, post: int, rc: int) -> str:
        if pre - post >= rc:
            return "better"
        if post - pre >= rc:
            return "worse"
        return "same"

    phq = direction(phq_pre, phq_post, PHQ9_RC)
    gad = direction(gad_pre, gad_post, GAD7_RC)
    worse_somewhere = phq == "worse" or gad == "worse"
    better_somewhere = phq == "better" or gad == "better"
    mixed = worse_somewhere and better_somewhere
    deteriorated = worse_somewhere and not better_somewhere
    # Guide: a decrease "on either the PHQ-9 or the ADSM measure, or both" and "neither" measure
    # with a reliable increase.
    improved = False
    if phq == "better" and gad != "worse":
        improved = True
    if gad == "better" and phq != "worse":
        improved = True
    # Guide: a case at the start on one or both measures, below caseness on both at the end.
    recovery = case_start and not case_end
    return {
        "caseness_start": case_start,
        "caseness_end": case_end,
        "reliable_improvement": improved,
        "reliable_deterioration": deteriorated,
        "no_reliable_change": not (improved or deteriorated or mixed),
        "recovery": recovery,
        "reliable_recovery": recovery and improved,
        "mixed": mixed,
    }


FLAGS = (
    "caseness_start",
    "caseness_end",
    "reliable_improvement",
    "reliable_deterioration",
    "no_reliable_change",
    "recovery",
    "reliable_recovery",
    "mixed",
)


def build_cases() -> list[dict[str, int]]:
    """Every combination of scores around the cut-offs and the reliable-change thresholds.

    PHQ-9 values give changes of exactly 5 and exactly 6 points and sit on both sides of the
    caseness cut-off (9 | 10); GAD-7 values give changes of exactly 3 and exactly 4 points
    around its cut-off (7 | 8).
    """
    phq_values = [4, 9, 10, 15, 16, 21]
    gad_values = [3, 7, 8, 11, 12]
    cases = []
    for pp, pq, gp, gq in itertools.product(phq_values, phq_values, gad_values, gad_values):
        flags = classify(pp, pq, gp, gq)
        row = {"phq9_pre": pp, "phq9_post": pq, "gad7_pre": gp, "gad7_post": gq}
        row.update({k: int(flags[k]) for k in FLAGS})
        cases.append(row)
    return cases


if __name__ == "__main__":
    out = Path(__file__).with_name("nhs_tt_expected.csv")
    data = build_cases()
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
    print(f"wrote {len(data)} cases to {out}")
