"""Independent pure-Python recomputation of the effect sizes and Wilson intervals.

Uses only the standard library (``math`` and ``statistics``; no numpy, no scipy), written from
the published formulas rather than from ``reverie.outcomes.effects``, and writes
``effects_expected.json``.

Formulas
--------
* d_pre = (M_pre - M_post) / SD_pre; Becker (1988) Var = 2(1 - r)/n + d^2/(2n)
* d_av = M_diff / ((SD_pre + SD_post)/2)                              (Lakens 2013)
* d_z = M_diff / SD_diff, Var = 1/n + d_z^2/(2n)                     (Morris & DeShon 2002)
* d_rm = d_z * sqrt(2(1 - r))                                         (Lakens 2013)
* J = 1 - 3/(4 df - 1)                                                (Hedges 1981)
* Wilson: (x + z^2/2 +- z sqrt(x(n-x)/n + z^2/4)) / (n + z^2)          (Wilson 1927)

Rerun from the repository root with::

    .venv/bin/python tests/outcomes/reference/reference_effects.py
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

DATASETS: dict[str, dict[str, object]] = {
    # Lakens (2013), Frontiers in Psychology 4:863, movie-rating example: movie 1 is passed
    # as "pre" and movie 2 as "post", so the mean difference of 1.0 is positive.
    "lakens_movies": {
        "pre": [9, 7, 8, 9, 8, 9, 9, 10, 9, 9],
        "post": [9, 6, 7, 8, 7, 9, 8, 8, 8, 7],
        "higher_is_better": False,
    },
    # A made-up PHQ-9 cohort of 12 clients (lower is better).
    "phq9_cohort": {
        "pre": [18, 14, 22, 11, 16, 19, 25, 13, 15, 20, 17, 12],
        "post": [9, 12, 10, 6, 15, 8, 14, 11, 4, 13, 7, 12],
        "higher_is_better": False,
    },
    # A made-up wellbeing scale where higher is better.
    "wellbeing_cohort": {
        "pre": [40, 35, 52, 44, 38, 47, 41, 36],
        "post": [48, 41, 55, 50, 37, 58, 46, 45],
        "higher_is_better": True,
    },
}

WILSON_CASES = [
    # Newcombe (1998) Table I examples, plus boundary and non-95% cases.
    {"x": 81, "n": 263, "level": 0.95},
    {"x": 15, "n": 148, "level": 0.95},
    {"x": 0, "n": 20, "level": 0.95},
    {"x": 1, "n": 29, "level": 0.95},
    {"x": 29, "n": 29, "level": 0.95},
    {"x": 50, "n": 100, "level": 0.90},
    {"x": 7, "n": 7, "level": 0.99},
]


def effect_sizes(
    pre: list[float], post: list[float], higher_is_better: bool
) -> dict[str, float | list[float]]:
    n = len(pre)
    m1, m2 = statistics.fmean(pre), statistics.fmean(post)
    s1, s2 = statistics.stdev(pre), statistics.stdev(post)
    r = statistics.correlation(pre, post)
    diff = (m2 - m1) if higher_is_better else (m1 - m2)
    sd_diff = math.sqrt(s1 * s1 + s2 * s2 - 2 * r * s1 * s2)
    d_pre = diff / s1
    d_av = diff / ((s1 + s2) / 2)
    d_z = diff / sd_diff
    d_rm = d_z * math.sqrt(2 * (1 - r))
    j = 1 - 3 / (4 * (n - 1) - 1)
    g_pre = j * d_pre
    z = statistics.NormalDist().inv_cdf(0.975)
    se_d_pre = math.sqrt(2 * (1 - r) / n + d_pre**2 / (2 * n))
    se_g_pre = math.sqrt(2 * (1 - r) / n + g_pre**2 / (2 * n))
    se_d_z = math.sqrt(1 / n + d_z**2 / (2 * n))
    return {
        "n": n,
        "r": r,
        "d_pre": d_pre,
        "d_pre_ci": [d_pre - z * se_d_pre, d_pre + z * se_d_pre],
        "g_pre": g_pre,
        "g_pre_ci": [g_pre - z * se_g_pre, g_pre + z * se_g_pre],
        "d_av": d_av,
        "g_av_lakens_df": d_av * (1 - 3 / (4 * (2 * n - 2) - 1)),
        "d_z": d_z,
        "d_z_ci": [d_z - z * se_d_z, d_z + z * se_d_z],
        "d_rm": d_rm,
    }


def wilson(x: int, n: int, level: float) -> list[float]:
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2)
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def build() -> dict[str, object]:
    effects = {}
    for name, ds in DATASETS.items():
        pre = [float(v) for v in ds["pre"]]  # type: ignore[attr-defined]
        post = [float(v) for v in ds["post"]]  # type: ignore[attr-defined]
        effects[name] = {
            "input": ds,
            "expected": effect_sizes(pre, post, bool(ds["higher_is_better"])),
        }
    intervals = []
    for case in WILSON_CASES:
        lo, hi = wilson(int(case["x"]), int(case["n"]), float(case["level"]))
        intervals.append({**case, "lo": lo, "hi": hi})
    return {"effects": effects, "wilson": intervals}


if __name__ == "__main__":
    path = Path(__file__).with_name("effects_expected.json")
    path.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
