"""Independent pure-Python recomputation of the expected-recovery curves.

Generates a small synthetic practice (seeded ``random.Random``), writes it to
``expected_curves_input.csv``, and recomputes every band's percentile curve with explicit
loops: windowed pooling of sessions, the Hyndman & Fan (1996) definition-7 quantile written
out by hand, linear filling of unsupported sessions, and the documented default curve built
from Howard et al.'s (1986) two anchor points. The result goes to
``expected_curves_expected.json``.

Rerun from the repository root with::

    .venv/bin/python tests/outcomes/reference/reference_expected.py
"""

from __future__ import annotations

import csv
import json
import math
import random
import statistics
from pathlib import Path

EDGES = [5.0, 10.0, 15.0, 20.0]
SCALE = (0.0, 27.0)
PERCENTILES = [10.0, 25.0, 50.0, 75.0, 90.0]
MAX_SESSION = 10
WINDOW = 1
MIN_EPISODES = 30
MIN_SCORES = 10
RELIABLE_CHANGE = 6.0


def make_data(seed: int = 2024) -> list[tuple[float, int, float, int]]:
    """(score, session, intake, episode) rows: 35 severe-ish and 12 moderate episodes."""
    rng = random.Random(seed)
    rows = []
    episode = 0
    for n_episodes, low, high in ((35, 15, 19), (12, 10, 14)):
        for _ in range(n_episodes):
            intake = float(rng.randint(low, high))
            n_sessions = rng.randint(3, 12)
            for k in range(1, n_sessions + 1):
                if k == 1:
                    score = intake
                else:
                    drift = intake - 0.7 * (k - 1) + rng.gauss(0, 2.5)
                    score = float(min(27, max(0, round(drift))))
                rows.append((score, k, intake, episode))
            episode += 1
    return rows


def band_of(x: float) -> int:
    return sum(1 for e in EDGES if x >= e)


def quantile_type7(values: list[float], p: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def howard(d: float) -> float:
    nd = statistics.NormalDist()
    beta = (nd.inv_cdf(0.75) - nd.inv_cdf(0.5)) / (math.log(26) - math.log(8))
    alpha = nd.inv_cdf(0.5) - beta * math.log(8)
    return 0.0 if d <= 0 else nd.cdf(alpha + beta * math.log(d))


def default_curve(x0: float) -> list[list[float]]:
    nd = statistics.NormalDist()
    z90 = nd.inv_cdf(0.9)
    rows = []
    for p in PERCENTILES:
        zp = nd.inv_cdf(p / 100)
        row = []
        for k in range(1, MAX_SESSION + 1):
            median = x0 - RELIABLE_CHANGE * howard(k - 1) / 0.5
            worst = x0 + RELIABLE_CHANGE
            v = median + zp / z90 * (worst - median)
            row.append(min(SCALE[1], max(SCALE[0], v)))
        rows.append(row)
    return rows


def fill(row: list[float | None]) -> list[float]:
    known = [(k, v) for k, v in enumerate(row) if v is not None]
    out = []
    for k in range(len(row)):
        if row[k] is not None:
            out.append(float(row[k]))  # type: ignore[arg-type]
            continue
        left = [(kk, v) for kk, v in known if kk < k]
        right = [(kk, v) for kk, v in known if kk > k]
        if not left:
            out.append(right[0][1])
        elif not right:
            out.append(left[-1][1])
        else:
            (k0, v0), (k1, v1) = left[-1], right[0]
            out.append(v0 + (v1 - v0) * (k - k0) / (k1 - k0))
    return out


def build(rows: list[tuple[float, int, float, int]]) -> list[dict[str, object]]:
    episodes: dict[int, float] = {}
    for _, _, intake, ep in rows:
        episodes.setdefault(ep, intake)
    result = []
    for b in range(len(EDGES) + 1):
        intakes = [x for x in episodes.values() if band_of(x) == b]
        if intakes:
            x0 = statistics.median(intakes)
        else:
            lower = SCALE[0] if b == 0 else EDGES[b - 1]
            upper = SCALE[1] if b == len(EDGES) else EDGES[b]
            x0 = (lower + upper) / 2
        if len(intakes) < MIN_EPISODES:
            result.append({"band": b, "source": "default", "values": default_curve(x0)})
            continue
        curve = []
        for p in PERCENTILES:
            row: list[float | None] = []
            for k in range(1, MAX_SESSION + 1):
                pool = [
                    s
                    for s, kk, x, _ in rows
                    if band_of(x) == b and abs(kk - k) <= WINDOW and kk <= MAX_SESSION
                ]
                row.append(quantile_type7(pool, p / 100) if len(pool) >= MIN_SCORES else None)
            curve.append(fill(row))
        result.append(
            {"band": b, "source": "empirical", "values": curve, "n_episodes": len(intakes)}
        )
    return result


if __name__ == "__main__":
    data = make_data()
    here = Path(__file__).parent
    with (here / "expected_curves_input.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["score", "session", "intake", "episode"])
        writer.writerows(data)
    settings = {
        "edges": EDGES,
        "scale": SCALE,
        "percentiles": PERCENTILES,
        "max_session": MAX_SESSION,
        "window": WINDOW,
        "min_episodes": MIN_EPISODES,
        "min_scores": MIN_SCORES,
        "reliable_change": RELIABLE_CHANGE,
    }
    out = {"settings": settings, "curves": build(data)}
    (here / "expected_curves_expected.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(data)} rows and {len(out['curves'])} curves")
