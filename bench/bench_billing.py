"""Benchmark: the admin's ageing report and monthly income report over 100k clients and
5 million charges, beside a plain scan of the charges table measured in the same run.

Builds one practice with 40 therapists, ``--clients`` clients (100k) and ``--charges``
charges (5M) spread over five years, with bulk inserts (``executemany`` on SQLite, COPY on
PostgreSQL, through ``bench_outcomes._insert``), 3% of them still owed (a mature ledger:
most charges are paid). The database is kept outside the repository in
``$REVERIE_BENCH_CACHE`` (default: reverie-bench-cache in the system's temporary folder)
and reused; delete it (or drop the PostgreSQL database ``bench_billing_<charges>``) to
rebuild.

Measures, each the median of ``--repeat`` runs, printed with the load average (the machine
is shared); nothing is asserted:

* baseline: ``SELECT COUNT(*), SUM(amount) FROM billing_charge`` (every row);
* ageing: ``reports.ageing`` at the last day of the data, per client and for the practice;
* income: ``reports.income`` for the last full year by month, therapist and service, and
  ``reports.received_by_month`` beside it is not included (payments are not generated).

Run from the repository root:

    .venv/bin/python bench/bench_billing.py                                   # SQLite
    .venv/bin/python bench/bench_billing.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bench_billing.py --clients 10000 --charges 500000  # quicker
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_outcomes  # the Django set-up and the bulk insert are shared, not copied

CACHE = bench_outcomes.CACHE  # one cache folder for every benchmark
END = datetime.date(2026, 11, 30)
DAYS = 5 * 365
CHUNK = 250_000
SERVICES = [
    "psychotherapy_45",
    "psychotherapy_60",
    "psychoanalysis",
    "initial_consultation",
    "no_show",
]


def _build(n_clients: int, n_charges: int) -> None:
    import numpy as np
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from reverie.accounts.models import Practice, Role, User
    from reverie.billing.models import Charge
    from reverie.care.models import Client

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(17)
    with transaction.atomic():
        practice = Practice.objects.create(slug="bench", name="Bench practice")
        therapists = [
            User.objects.create(
                email=f"t{i}@bench.test", practice=practice, role=Role.THERAPIST, full_name=f"T {i}"
            ).pk
            for i in range(40)
        ]
        ids = np.arange(1, n_clients + 1)
        bench_outcomes._insert(
            Client,
            {
                "id": ids,
                "practice_id": [practice.pk] * n_clients,
                "given_name": ["Bench"] * n_clients,
                "family_name": [f"Client {i}" for i in ids.tolist()],
                "is_synthetic": [True] * n_clients,
            },
            n_clients,
        )
        own_therapist = rng.choice(np.array(therapists), n_clients)
        start = END - datetime.timedelta(days=DAYS)
        amounts = np.array([15000, 18000, 12000, 20000, 15000])
        done = 0
        while done < n_charges:
            n = min(CHUNK, n_charges - done)
            client_ids = rng.integers(1, n_clients + 1, n)
            service_ix = rng.choice(5, n, p=[0.6, 0.2, 0.1, 0.05, 0.05])
            days = rng.integers(0, DAYS + 1, n)
            amount = amounts[service_ix]
            owed = rng.random(n) < 0.03
            partly = rng.random(n) < 0.3
            outstanding = np.where(owed, np.where(partly, amount // 2, amount), 0)
            dates = [start + datetime.timedelta(days=int(d)) for d in days]
            bench_outcomes._insert(
                Charge,
                {
                    "practice_id": [practice.pk] * n,
                    "client_id": client_ids,
                    "therapist_id": own_therapist[client_ids - 1],
                    "kind": ["no_show" if s == 4 else "session" for s in service_ix.tolist()],
                    "service": [SERVICES[s] for s in service_ix.tolist()],
                    "cpt": ["" if s == 4 else "90834" for s in service_ix.tolist()],
                    "service_date": dates,
                    "amount": amount,
                    "currency": ["USD"] * n,
                    "state": ["live"] * n,
                    "paid": amount - outstanding,
                    "written_off": [0] * n,
                    "outstanding": outstanding,
                },
                n,
            )
            done += n
            print(f"  {done:,} charges", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Client, Charge]):
                cursor.execute(sql)
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _median(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--charges", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    tag = f"{args.clients}-{args.charges}"
    url = args.database_url
    if url:
        name = f"bench_billing_{args.charges}"
        base = url
        url = url.rsplit("/", 1)[0] + "/" + name
        data_dir = CACHE / f"billing-pg-{tag}"
        built = bench_outcomes._pg_database_exists(base, name) and (data_dir / "built").exists()
        if not built:
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
    else:
        data_dir = CACHE / f"billing-sqlite-{tag}"
        built = (data_dir / "built").exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    bench_outcomes._setup_django(url, str(data_dir))
    from django.db import connection

    from reverie.accounts.models import Practice
    from reverie.billing import reports

    if not built:
        started = time.perf_counter()
        print(f"building {args.clients:,} clients and {args.charges:,} charges …", flush=True)
        _build(args.clients, args.charges)
        (data_dir / "built").write_text("ok")
        print(f"built in {time.perf_counter() - started:.0f} s")
    practice = Practice.objects.get(slug="bench").pk

    def scan() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), SUM(amount) FROM billing_charge")
            n, total = cursor.fetchone()
        return int(n), int(total)

    def ageing() -> tuple[int, int]:
        report, rows = reports.ageing(practice, END)
        return report.total, len(rows)

    year = END.year - 1

    def income() -> int:
        return len(reports.income(practice, datetime.date(year, 1, 1), datetime.date(year, 12, 31)))

    load = os.getloadavg()[0]
    size = f"{args.clients:,} clients, {args.charges:,} charges"
    print(f"\n{connection.vendor}, {size}, load {load:.1f}")
    scan_s, scan_min, (n, _) = _median(scan, args.repeat)  # type: ignore[misc]
    print(f"baseline  plain scan of billing_charge ({n:,} rows): {scan_s:.3f} s")
    print(f"          (best {scan_min:.3f})")
    age_s, age_min, (owed, clients) = _median(ageing, args.repeat)  # type: ignore[misc]
    print(f"ageing    at {END}, {clients:,} clients owe {owed / 100:,.2f} USD: {age_s:.3f} s")
    print(f"          (best {age_min:.3f}; {age_s / scan_s:.2f} of the scan)")
    inc_s, inc_min, rows = _median(income, args.repeat)
    print(f"income    {year} by month, therapist, service ({rows} rows): {inc_s:.3f} s")
    print(f"          (best {inc_min:.3f}; {inc_s / scan_s:.2f} of the scan)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
