"""Benchmark: what the hostile-input checks of ``lib/safejson.py`` cost per body.

Run with ``.venv/bin/python bench/bench_json_loader.py`` from the repository root.

Every body that ``/api/v1`` and ``/fhir`` read goes through ``safejson.loads``: a size
check, strict UTF-8 decoding, a nesting count before parsing, hooks that bound each number,
and a walk of the strings when an escape could hide a lone surrogate or U+0000. This times,
on the same bodies and in the same run:

- the floor: plain ``json.loads`` on the bytes, what the views called before;
- ``safejson.loads`` as shipped;

for a portal submission (``{"answers": …}``, about 200 bytes), a completed PHQ-9
QuestionnaireResponse (about 2 kB), the same with 200 kB of narrative text, and a body with
non-ASCII text written as ``\\uXXXX`` surrogate pairs (the case that takes the string walk).
It then times how long refusing hostile bodies takes (nesting 200,000 deep, a
5,000-digit number, 1 MiB + 1 byte), which ``json.loads`` answers with a crash or not at all.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from reverie.lib import safejson

FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def questionnaire_response(text: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://127.0.0.1:8000/fhir/Questionnaire/phq-9",
        "subject": {"reference": "Patient/123"},
        "authored": "2026-12-05T09:30:00+01:00",
        "identifier": {"system": "urn:uuid:4b1c0e3e-5f0a-4c1e-9d1e-0a1b2c3d4e5f", "value": "1"},
        "item": [
            {
                "linkId": f"phq9-{n}",
                "text": "Little interest or pleasure in doing things",
                "answer": [
                    {
                        "valueCoding": {
                            "system": "http://loinc.org",
                            "code": FREQUENCY[n % 4],
                            "display": "Several days",
                        }
                    }
                ],
            }
            for n in range(1, 10)
        ],
    }
    if text:
        body["text"] = {"status": "generated", "div": text}
    return body


BODIES: dict[str, bytes] = {
    "portal submission": json.dumps(
        {"answers": {f"phq9-{n}": n % 4 for n in range(1, 10)}, "key": "k" * 32}
    ).encode(),
    "FHIR PHQ-9 response": json.dumps(questionnaire_response()).encode(),
    "FHIR with 200 kB text": json.dumps(questionnaire_response("x" * 200_000)).encode(),
    # ensure_ascii writes the emoji as a \\ud83d\\ude0a pair: the loader walks the strings.
    "FHIR with escaped emoji": json.dumps(questionnaire_response("Mood: 😊 " * 50)).encode(),
}

HOSTILE: dict[str, bytes] = {
    "nested 200,000 deep": b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "5,000-digit number": b'{"a": ' + b"9" * 5_000 + b"}",
    "1 MiB + 1 byte": b'{"a": "' + b"x" * (safejson.MAX_BYTES - 8) + b'"}',
}


def per_call(fn: Callable[[], Any], seconds: float) -> float:
    """Median seconds per call over five rounds of about ``seconds / 5`` each."""
    fn()
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 0.05:
        fn()
        n += 1
    calls = max(1, int(n * (seconds / 5) / 0.05))
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


def refuse(raw: bytes) -> None:
    try:
        safejson.loads(raw)
    except safejson.Rejected:
        return
    raise AssertionError("a hostile body was accepted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; median of 5 rounds, {args.seconds:.1f} s each body")
    print(f"{'body':28} {'bytes':>9} {'json.loads':>12} {'safejson':>12} {'ratio':>7}")
    for name, raw in BODIES.items():
        assert safejson.loads(raw) == json.loads(raw), name
        plain = per_call(lambda raw=raw: json.loads(raw), args.seconds)
        safe = per_call(lambda raw=raw: safejson.loads(raw), args.seconds)
        print(
            f"{name:28} {len(raw):>9,} {plain * 1e6:>10.1f}us {safe * 1e6:>10.1f}us "
            f"{safe / plain:>6.2f}x"
        )
    print(f"\n{'hostile body':28} {'bytes':>9} {'refused in':>12}  json.loads")
    for name, raw in HOSTILE.items():
        try:
            json.loads(raw)
            plain_result = "accepted"
        except (RecursionError, ValueError) as error:
            plain_result = type(error).__name__
        refused = per_call(lambda raw=raw: refuse(raw), args.seconds / 2)
        print(f"{name:28} {len(raw):>9,} {refused * 1e6:>10.1f}us  {plain_result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
