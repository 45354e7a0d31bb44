"""The demo practice's pages, one by one: time, statements and decryptions per request.

Seeds the demo practice (``reverie.demo.seed.ensure_demo``, what ``reverie demo`` runs, with
an encryption key as every practice has) in a temporary data directory or PostgreSQL
database, then opens every page of each role's day, the pages the browser walk of the demo
visits (``tests/browser/test_walk.py``), through Django's test client in this process,
signed in as the demo's people. For each page it prints

- the median wall time of ``--rounds`` requests, and its ratio to ``GET /healthz`` timed in
  the same run (the limit beside it: a request that does nothing);
- the SQL statements one request sends, and how many of them look a data key up;
- how many encrypted values it decrypts (``EncryptedTextField.from_db_value``).

Run: ``.venv/bin/python bench/bench_pages.py [--db sqlite|postgres] [--rounds 15]
[--pages today,caseload,...] [--profile]``. ``--profile`` prints, for each page, the 30
functions with most cumulative time over its timed requests (cProfile; the profiler's own
cost inflates the times it prints, not the table's).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# This checkout's code and its test module's page plan, not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_fhir_submissions as rates  # the sibling script, for its environment

PORT = 8998


def measure(db: str, rounds: int, only: set[str], profile: bool) -> list[dict[str, Any]]:
    with rates.environment(db, PORT) as env, contextlib.ExitStack() as stack:
        env["REVERIE_DEMO"] = "1"
        subprocess.run([*rates.REVERIE, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection
        from django.test import Client as HttpClient
        from django.test.utils import CaptureQueriesContext
        from tests.browser.test_walk import _plan

        from reverie.accounts.models import User
        from reverie.demo.seed import ensure_demo
        from reverie.testing import counting_decryptions, sign_in

        settings.ALLOWED_HOSTS = ["*"]
        started = time.monotonic()
        logins, _ = ensure_demo()
        print(f"{db}: demo seeded in {time.monotonic() - started:.1f} s", flush=True)
        decrypted = stack.enter_context(counting_decryptions())

        def timed(http: Any, path: str) -> float:
            began = time.perf_counter()
            response = http.get(path)
            took = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            return took

        anonymous = HttpClient()
        for _ in range(20):
            timed(anonymous, "/healthz")
        healthz = statistics.median(timed(anonymous, "/healthz") for _ in range(rounds * 5))
        rows: list[dict[str, Any]] = [
            {
                "page": "/healthz",
                "ms": healthz * 1000,
                "ratio": 1.0,
                "statements": 0,
                "key_lookups": 0,
                "decrypted": 0,
            }
        ]
        for walker in _plan(logins):
            if walker.login is None:
                continue
            http = sign_in(HttpClient(), User.objects.get(email=walker.login.email))
            for stop in walker.stops:
                name = f"{walker.role}/{stop.name}"
                if only and stop.name not in only and name not in only:
                    continue
                timed(http, stop.path)  # warm: templates, the session
                decrypted.clear()
                with CaptureQueriesContext(connection) as queries:
                    timed(http, stop.path)
                    # Read inside the block: the slice it keeps is of a log that has a
                    # maximum length, so after the block it can come out empty.
                    sent = [q["sql"] for q in queries.captured_queries]
                    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
                values = sum(decrypted.values())
                keys = sum("vault_datakey" in sql for sql in sent)
                took = statistics.median(timed(http, stop.path) for _ in range(rounds))
                if profile:
                    profiler = cProfile.Profile()
                    for _ in range(rounds):
                        profiler.runcall(http.get, stop.path)
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
                    print(f"\n--- {name}, {rounds} requests\n{out.getvalue()}", flush=True)
                    print("slowest statements of one request (s, SQL):")
                    for q in slowest[:5]:
                        print(f"  {q['time']}  {q['sql'][:300]}")
                rows.append(
                    {
                        "page": name,
                        "ms": took * 1000,
                        "ratio": took / healthz,
                        "statements": len(sent),
                        "key_lookups": keys,
                        "decrypted": values,
                    }
                )
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pages", default="", help="comma-separated stop names (all if empty)")
    parser.add_argument("--profile", action="store_true", help="print each page's profile")
    args = parser.parse_args()
    only = {p.strip() for p in args.pages.split(",") if p.strip()}
    rows = measure(args.db, args.rounds, only, args.profile)
    print(f"\n{'page':34} {'ms':>8} {'x /healthz':>10} {'stmts':>6} {'keys':>5} {'decrypted':>9}")
    for r in rows:
        print(
            f"{r['page']:34} {r['ms']:8.2f} {r['ratio']:10.1f} {r['statements']:6d} "
            f"{r['key_lookups']:5d} {r['decrypted']:9d}"
        )
    pages = [r for r in rows if r["page"] != "/healthz"]
    print(
        f"\n{len(pages)} pages: {sum(r['ms'] for r in pages):.1f} ms in all, "
        f"{sum(r['decrypted'] for r in pages)} values decrypted, "
        f"{sum(r['key_lookups'] for r in pages)} data-key lookups"
    )


if __name__ == "__main__":
    main()
