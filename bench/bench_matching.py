"""Benchmark: directory matching over 100,000 synthetic therapist profiles.

Run from the repository root with ``.venv/bin/python bench/bench_matching.py``
(``--help`` for options).

It generates seeded synthetic profiles, builds a :class:`ProfileIndex` once, then times varied
queries through the index and, in the same run, a smaller number of the same queries through
the brute-force reference scan. Every brute-force query is also checked to give exactly the
same ranking as the index. The requirement is an indexed p95 under 50 ms; the script exits
with status 1 if that is missed, so it can guard CI.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from reverie.directory.matching import (
    MODALITIES,
    TIME_WINDOWS,
    Match,
    Profile,
    ProfileIndex,
    Query,
    rank_bruteforce,
)
from reverie.directory.selfcheck import CONCERNS

P95_LIMIT_MS = 50.0

# Skewed like a real directory: one dominant language, a long tail of plans and places.
LANGUAGES = ("English",) * 12 + (
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Mandarin",
    "Cantonese",
    "Arabic",
    "Hindi",
    "Polish",
    "Italian",
    "Korean",
    "Russian",
    "Hebrew",
    "Farsi",
)
PLANS = tuple(f"Plan {letter}{n}" for letter in "ABCDE" for n in range(8))
CITIES = tuple(f"City {n:03d}" for n in range(200))


def make_profiles(count: int, seed: int) -> list[Profile]:
    rng = random.Random(seed)
    profiles = []
    for i in range(count):
        fee = rng.randrange(60, 301, 5)
        sliding = rng.random() < 0.3
        slots = tuple(
            (rng.randrange(7), rng.randrange(7, 22)) for _ in range(rng.choice((0, 1, 2, 4, 8, 12)))
        )
        profiles.append(
            Profile(
                id=f"t{i:06d}",
                name=f"Therapist {i}",
                modalities=tuple(rng.sample(MODALITIES, rng.choice((1, 1, 2)))),
                concerns=tuple(rng.sample(CONCERNS, rng.randint(2, 7))),
                languages=tuple(dict.fromkeys(rng.choices(LANGUAGES, k=rng.randint(1, 3)))),
                fee=fee,
                sliding_scale=sliding,
                sliding_scale_min_fee=rng.randrange(20, fee + 1, 5) if sliding else None,
                insurance=tuple(rng.sample(PLANS, rng.choice((0, 0, 1, 2, 4)))),
                telehealth=rng.random() < 0.8,
                in_person_location=rng.choice(CITIES) if rng.random() < 0.6 else None,
                open_slots=slots,
                accepting_new=rng.random() < 0.85,
            )
        )
    return profiles


def make_queries(count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    queries = [Query(), Query(require_openings=False)]  # the broadest, slowest cases
    while len(queries) < count:
        setting = rng.choice(("any", "any", "telehealth", "in_person"))
        location = rng.choice(CITIES) if setting != "telehealth" and rng.random() < 0.5 else None
        queries.append(
            Query(
                language=rng.choice(LANGUAGES) if rng.random() < 0.6 else None,
                max_budget=rng.randrange(60, 260, 10) if rng.random() < 0.6 else None,
                sliding_scale=rng.random() < 0.3,
                insurance=rng.choice(PLANS) if rng.random() < 0.2 else None,
                setting=setting,
                location=location,
                modalities=frozenset(rng.sample(MODALITIES, rng.choice((0, 0, 0, 1, 2)))),
                require_openings=rng.random() < 0.8,
                concerns=frozenset(rng.sample(CONCERNS, rng.randint(0, 4))),
                modality_leaning=rng.choice((None, "psychodynamic", "structured")),
                time_windows=frozenset(rng.sample(tuple(TIME_WINDOWS), rng.randint(0, 2))),
                weekdays=frozenset(rng.sample(range(7), rng.choice((0, 0, 2, 5)))),
                multiple_days=rng.random() < 0.2,
            )
        )
    return queries


def time_queries(
    run: Callable[[Query], list[Match]], queries: Sequence[Query]
) -> tuple[list[float], list[list[Match]]]:
    latencies, results = [], []
    for query in queries:
        start = time.perf_counter()
        result = run(query)
        latencies.append((time.perf_counter() - start) * 1000)
        results.append(result)
    return latencies, results


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceiling without floats drifting
    return ordered[int(rank) - 1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--brute-queries", type=int, default=40)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    profiles = make_profiles(args.profiles, args.seed)
    generate_s = time.perf_counter() - start

    start = time.perf_counter()
    index = ProfileIndex(profiles)
    build_s = time.perf_counter() - start

    queries = make_queries(args.queries, args.seed + 1)
    for query in queries[:5]:  # warm caches and numpy's first-call overheads
        index.rank(query, args.limit)

    indexed_ms, indexed_results = time_queries(lambda q: index.rank(q, args.limit), queries)
    brute_queries = queries[: args.brute_queries]
    brute_ms, brute_results = time_queries(
        lambda q: rank_bruteforce(profiles, q, args.limit), brute_queries
    )

    def key(matches: list[Match]) -> list[tuple[str, int, tuple[str, ...]]]:
        return [(m.profile_id, m.score, m.reasons) for m in matches]

    mismatches = sum(key(a) != key(b) for a, b in zip(indexed_results, brute_results, strict=False))
    empty = sum(not result for result in indexed_results)

    print(
        f"Directory matching: {args.profiles:,} synthetic profiles, limit {args.limit}, "
        f"seed {args.seed}"
    )
    print(f"profile generation      {generate_s:8.2f} s   (not part of the index build)")
    print(f"index build (once)      {build_s:8.2f} s")
    print()
    header = f"{'method':<22}{'queries':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}"
    print(header + f"{'limit p95':>12}{'result':>9}")
    print("-" * (len(header) + 21))
    for name, values, limit in (
        ("indexed (ProfileIndex)", indexed_ms, f"{P95_LIMIT_MS:.0f} ms"),
        ("brute-force scan", brute_ms, "-"),
    ):
        p95 = percentile(values, 95)
        verdict = ("pass" if p95 < P95_LIMIT_MS else "FAIL") if limit != "-" else "-"
        print(
            f"{name:<22}{len(values):>8}{percentile(values, 50):>10.2f}{p95:>10.2f}"
            f"{max(values):>10.2f}{limit:>12}{verdict:>9}"
        )
    print()
    speedup = statistics.median(brute_ms) / statistics.median(indexed_ms[: len(brute_ms)])
    print(f"median speed-up over brute force on the same queries: {speedup:,.0f}x")
    print(f"queries with no match (must-haves kept strict): {empty} of {len(queries)}")
    identical = len(brute_ms) - mismatches
    print(f"brute-force rankings identical to indexed: {identical}/{len(brute_ms)}")

    if mismatches:
        print("ERROR: the index and the brute-force reference disagree", file=sys.stderr)
        return 1
    return 0 if percentile(indexed_ms, 95) < P95_LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
