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

Prints resources per second and rows per second beside the floor's rows per second, each
the median of ``--repeat`` runs, with the load average when each run started (the machine
is shared). Timings are printed, never asserted. The database is built once and kept in
``$REVERIE_BENCH_CACHE`` (``bench_outcomes.cached_database``); the exports add their own
rows to it (the export records and their audit entries), nothing the export reads.

Run from the repository root:

    .venv/bin/python bench/bench_bulk_export.py                    # SQLite, 100k episodes
    .venv/bin/python bench/bench_bulk_export.py --size 10000
    .venv/bin/python bench/bench_bulk_export.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bench_bulk_export.py --only identified   # or deidentified
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_outcomes  # the seeding is shared, not copied

#: CPU seconds of this process in the last floor SELECT and export: on a shared machine the
#: wall clock also counts waiting for a core (on PostgreSQL the server's own work is not in it).
CPU: dict[str, float] = {}


def _floor(tables: list[str]) -> tuple[int, float, float | None]:
    from django.db import connection

    started = time.perf_counter()
    cpu = time.process_time()
    rows = 0
    with connection.cursor() as cursor:
        for sql in tables:
            cursor.execute(sql)
            while chunk := cursor.fetchmany(2000):
                rows += len(chunk)
    select_s = time.perf_counter() - started
    CPU["select"] = time.process_time() - cpu
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
    cpu = time.process_time()
    assert exports.claim(export, "bench")
    export = BulkExport.objects.select_related("requested_by").get(pk=export.pk)
    status = bulk.build(export, trail.system("bench"))
    elapsed = time.perf_counter() - started
    CPU["export"] = time.process_time() - cpu
    export.refresh_from_db()
    assert status == "done", (status, export.message)
    # The files are not kept: a 100k export is gigabytes, and the next run writes its own.
    shutil.rmtree(exports.folder_of(BulkExport) / export.file_name, ignore_errors=True)
    return {o["type"]: o["count"] for o in export.output}, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="episodes")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("identified", "deidentified"), default=None)
    args = parser.parse_args()
    url, data_dir, gen = bench_outcomes.cached_database(args.size, args.database_url)
    bench_outcomes._setup_django(url, data_dir)
    from django.db import connection

    from reverie.accounts.models import User
    from reverie.care.models import Appointment, Client, Episode
    from reverie.measures.models import Administration

    admin = User.objects.get(pk=gen["admin"])
    print(
        f"{connection.vendor}, {args.size:,} episodes ({gen['administrations']:,} "
        f"administrations, {gen['appointments']:,} sessions), median of {args.repeat}, "
        f"{os.cpu_count()} cores",
        flush=True,
    )

    def select(model: Any) -> str:
        return f"SELECT * FROM {model._meta.db_table} ORDER BY id"  # noqa: S608

    administrative = [select(Client), select(Episode), select(Appointment)]
    everything = [*administrative, select(Administration)]
    med = statistics.median
    for label, tables, deid in (
        ("identified (Patient, EpisodeOfCare, Encounter)", administrative, False),
        ("de-identified (+ QuestionnaireResponse, Observation)", everything, True),
    ):
        if args.only and args.only != ("deidentified" if deid else "identified"):
            continue
        runs = []
        for _ in range(args.repeat):
            load = os.getloadavg()[0]
            rows, select_s, copy_s = _floor(tables)
            load_export = os.getloadavg()[0]
            counts, export_s = _export(admin, deid)
            runs.append(
                (select_s, copy_s, export_s, load, load_export, CPU["select"], CPU["export"])
            )
            resources = sum(counts.values())
            print(
                f"  run: export {export_s:.1f} s ({resources / export_s:,.0f}/s, load "
                f"{load_export:.1f}); SELECT {select_s:.1f} s"
                + (f", COPY {copy_s:.1f} s" if copy_s is not None else "")
                + f" (load {load:.1f}); CPU export {CPU['export']:.1f} s, "
                f"SELECT {CPU['select']:.1f} s",
                flush=True,
            )
        select_s = med(r[0] for r in runs)
        export_s = med(r[2] for r in runs)
        loads = "/".join(f"{r[4]:.1f}" for r in runs)
        print(f"\n{label}")
        print(f"  rows read            {rows:>10,}")
        print(f"  resources written    {resources:>10,}  {counts}")
        print(
            f"  export               {export_s:8.1f} s  {resources / export_s:>10,.0f} resources/s"
            f"  (load {loads})"
        )
        print(f"                                  {rows / export_s:>10,.0f} rows/s")
        print(f"  floor: plain SELECT  {select_s:8.1f} s  {rows / select_s:>10,.0f} rows/s")
        if runs[0][1] is not None:
            copy_s = med(r[1] for r in runs)
            print(f"  floor: COPY TO STDOUT{copy_s:8.1f} s  {rows / copy_s:>10,.0f} rows/s")
        print(f"  export / SELECT      {select_s / export_s:8.2f} (share of the floor's rate)")
        cpu_export = med(r[6] for r in runs)
        cpu_select = med(r[5] for r in runs)
        print(
            f"  CPU of this process: export {cpu_export:.1f} s "
            f"({resources / cpu_export:,.0f} resources/s), SELECT {cpu_select:.1f} s "
            f"({rows / cpu_select:,.0f} rows/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
