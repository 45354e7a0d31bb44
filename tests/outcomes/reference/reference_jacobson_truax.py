"""Independent pure-Python Jacobson & Truax (1991) computation on their DAS example data.

Input data: the 30 pre/post Dyadic Adjustment Scale (DAS; higher = better) scores of Jacobson &
Truax (1991), Table 2, as transcribed in the public repository AWKruijt/JT-RCI
(``data/J&T 1991 table2 DAS data.csv``). Norms: Spanier (1976), married M = 114.8, SD = 17.8;
divorced M = 70.7, SD = 23.8. Reliability 0.84 is the value the JT-RCI example uses for these
data; it could not be checked against the original article, so the numbers below test the
arithmetic, not a published result.

Rerun from the repository root with::

    .venv/bin/python tests/outcomes/reference/reference_jacobson_truax.py
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

PRE = [
    90.5,
    74,
    97,
    73.5,
    61,
    66.5,
    68.5,
    86.5,
    88.5,
    68.5,
    98,
    80.5,
    89.5,
    91.5,
    83.5,
    60.5,
    83,
    88,
    98.5,
    78.5,
    99.5,
    79.5,
    84.5,
    92.5,
    93,
    85,
    64,
    61,
    80,
    82.5,
]
POST = [
    97,
    124,
    97.5,
    88,
    96.5,
    62.5,
    112.5,
    103.5,
    90,
    82.5,
    105,
    99.5,
    112.5,
    101,
    99.5,
    79.5,
    88,
    100.5,
    119,
    116,
    116,
    129,
    113,
    118,
    92,
    114,
    68,
    52,
    60.5,
    104.5,
]
FUNCTIONAL = (114.8, 17.8)
DYSFUNCTIONAL = (70.7, 23.8)
RELIABILITY = 0.84


def build() -> dict[str, object]:
    sd_pre = statistics.stdev(PRE)
    s_e = sd_pre * math.sqrt(1 - RELIABILITY)
    s_diff = math.sqrt(2 * s_e**2)
    m0, s0 = FUNCTIONAL
    m1, s1 = DYSFUNCTIONAL
    a = m1 + 2 * s1  # higher is better: two SDs above the dysfunctional mean
    b = m0 - 2 * s0  # two SDs below the functional mean
    c = (s0 * m1 + s1 * m0) / (s0 + s1)
    categories = []
    rcs = []
    for x1, x2 in zip(PRE, POST, strict=True):
        rc = (x2 - x1) / s_diff
        rcs.append(rc)
        if rc > 1.96:
            categories.append("RECOVERED" if x2 > c else "IMPROVED")
        elif rc < -1.96:
            categories.append("DETERIORATED")
        else:
            categories.append("UNCHANGED")
    return {
        "pre": PRE,
        "post": POST,
        "reliability": RELIABILITY,
        "sd_pre": sd_pre,
        "s_e": s_e,
        "s_diff": s_diff,
        "rc_threshold_points": 1.96 * s_diff,
        "cutoff_a": a,
        "cutoff_b": b,
        "cutoff_c": c,
        "rc": rcs,
        "categories_cutoff_c": categories,
    }


if __name__ == "__main__":
    path = Path(__file__).with_name("jacobson_truax_expected.json")
    path.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {path}")
