"""Benchmark: FHIR Bulk Data ``$export`` of the outcomes benchmark's database.

Seeds the same synthetic network as ``bench/bench_outcomes.py`` (its generator, reused:
one practice, n/250 therapists, 0.9 n clients, n episodes, about 20 administrations and
about 10 sessions per episode), then measures in the same run, on the same database:

* the floor: a plain SELECT of every row the export reads (clients, episodes, sessions,
  administrations: every column, fetched as tuples in chunks, nothing built); on
  PostgreSQL also ``COPY (SELECT …) TO STDOUT`` of the same rows;
* the admin's system-level export as the worker runs it (``lifecycle.bulk.build``):
  identified (Patient, EpisodeOfCare, Encounter), and de-identified (also every
  QuestionnaireResponse and Observation, pseudonymised and date-shifted), files on disk.

Prints resources per second and rows per second beside the floor's rows per second.
Timings are printed, never asserted.

Run from the repository root:

    .venv/bin/python bench/bench_bulk_export.py                    # SQLite, 100k episodes
    .venv/bin/python bench/bench_bulk_export.py --size 10000
    .venv/bin/python bench/bench_bulk_export.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_outcomes  # the seeding is shared, not copied


def _floor(tables: list[str]) -> tuple[int, float, float | None]:
    from django.db import connection

    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        for sql in tables:
            cursor.execute(sql)
            while chunk := cursor.fetchmany(2000):
                rows += len(chunk)
    select_s = time.perf_counter() - started
    copy_s = None
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in tables:
                with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                    for _ in copy:
                        pass
        copy_s = time.perf_counter() - started
    return rows, select_s, copy_s


def _export(admin: Any, deidentify: bool) -> tuple[dict[str, int], float]:
    from reverie.audit import trail
    from reverie.lifecycle import bulk, exports
    from reverie.lifecycle.models import BulkExport, BulkLevel

    params = bulk.Parameters(
        types=bulk.allowed_types(admin, deidentify), since=None, deidentify=deidentify
    )
    export = bulk.kick_off(
        trail.Context(user=admin),
        level=BulkLevel.SYSTEM,
        params=params,
        request_url="http://bench/fhir/$export",
    )
    started = time.perf_counter()
    assert exports.claim(export, "bench")
    export = BulkExport.objects.select_related("requested_by").get(pk=export.pk)
    status = bulk.build(export, trail.system("bench"))
    elapsed = time.perf_counter() - started
    export.refresh_from_db()
    assert status == "done", (status, export.message)
    return {o["type"]: o["count"] for o in export.output}, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="episodes")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url
    if url:
        url = bench_outcomes._fresh_pg_database(url, args.size)
    bench_outcomes._setup_django(url, tempfile.mkdtemp(prefix="bench-bulk-"))
    from django.core.management import call_command
    from django.db import connection

    from reverie.accounts.models import User
    from reverie.care.models import Appointment, Client, Episode
    from reverie.measures.models import Administration

    call_command("migrate", verbosity=0)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    print(f"seeding {args.size} episodes on {connection.vendor} …", flush=True)
    gen = bench_outcomes._generate(args.size, summary_only=False)
    print(f"seeded in {gen['generate_s']:.0f} s", flush=True)
    admin = User.objects.get(pk=gen["admin"])

    def select(model: Any) -> str:
        return f"SELECT * FROM {model._meta.db_table} ORDER BY id"  # noqa: S608

    administrative = [select(Client), select(Episode), select(Appointment)]
    everything = [*administrative, select(Administration)]

    for label, tables, deid in (
        ("identified (Patient, EpisodeOfCare, Encounter)", administrative, False),
        ("de-identified (+ QuestionnaireResponse, Observation)", everything, True),
    ):
        rows, select_s, copy_s = _floor(tables)
        counts, export_s = _export(admin, deid)
        resources = sum(counts.values())
        print(f"\n{label}")
        print(f"  rows read            {rows:>10,}")
        print(f"  resources written    {resources:>10,}  {counts}")
        print(
            f"  export               {export_s:8.1f} s  {resources / export_s:>10,.0f} resources/s"
        )
        print(f"                                  {rows / export_s:>10,.0f} rows/s")
        print(f"  floor: plain SELECT  {select_s:8.1f} s  {rows / select_s:>10,.0f} rows/s")
        if copy_s is not None:
            print(f"  floor: COPY TO STDOUT{copy_s:8.1f} s  {rows / copy_s:>10,.0f} rows/s")
        print(f"  export / SELECT      {select_s / export_s:8.2f} (share of the floor's rate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
