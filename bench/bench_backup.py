"""Benchmark: ``reverie backup`` and ``reverie restore`` of the outcomes benchmark's database,
beside the plain tools on the same database in the same run.

The database is the 100,000-episode synthetic network of ``bench/bench_outcomes.py`` (its
generator, reused), built once and kept in ``$REVERIE_BENCH_CACHE`` (see
``bench_outcomes.cached_database``). Each round measures, one after the other:

* baseline backup: SQLite, Python's ``sqlite3`` online backup API into a new file (what
  ``sqlite3 .backup`` does); PostgreSQL, ``pg_dump -Fc``;
* ``reverie backup`` (``backups.actions.create``: snapshot, manifest with row counts and
  SHA-256 of every member, tar, age encryption, the audited record);
* baseline restore: the backup API from the copy into a new empty file; ``pg_restore`` of
  the dump into a new empty database;
* ``reverie restore`` (``backups.restore.restore``: decrypt, check every member's SHA-256
  and the row counts, refuse a non-empty target, write, compare row counts again, check and
  verify the audit chain, re-apply the erasure ledger) into a new empty database.

Reverie's operations run in a child process each (their own Django setup, as the command
line has); the time is that of the call itself, without Python and Django start-up, which
the child reports separately. Every figure is the median of ``--repeat`` rounds, printed
with the load average at the moment it was taken (the machine is shared), and beside it the
CPU time of each side (the process and the tools it ran; not the database server's), which
a busy machine disturbs far less than the wall clock. Target: Reverie within 2x of the
plain tool, time for backup and restore, and archive size.

Run from the repository root:

    .venv/bin/python bench/bench_backup.py                     # SQLite
    .venv/bin/python bench/bench_backup.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_outcomes  # the seeding and the cached database are shared, not copied

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2.0


def _load() -> float:
    return os.getloadavg()[0]


# --- child: one Reverie operation --------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of the processes it waited for
    (pg_dump, pg_restore). The database server's own CPU is in neither side's figure."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def child(op: str, archive_dir: str, archive: str) -> dict[str, Any]:
    import django

    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reverie.settings")
    django.setup()
    setup_s = time.perf_counter() - started
    from reverie.audit import trail

    if op == "backup":
        from reverie.backups import actions

        t, cpu = time.perf_counter(), _cpu()
        made = actions.create(trail.system("bench"), Path(archive_dir), by="bench")
        seconds, cpu = time.perf_counter() - t, _cpu() - cpu
        return {"seconds": seconds, "cpu": cpu, "setup_s": setup_s, "path": made.run.path}
    from reverie.backups.restore import restore

    t, cpu = time.perf_counter(), _cpu()
    done = restore(Path(archive), by="bench")
    seconds, cpu = time.perf_counter() - t, _cpu() - cpu
    return {"seconds": seconds, "cpu": cpu, "setup_s": setup_s, "method": done.method}


def _child_env(env: dict[str, str]) -> dict[str, str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    for var in ("REVERIE_DATABASE_URL", "REVERIE_DEMO"):
        if var not in env:
            full.pop(var, None)
    return full


def _run_child(op: str, env: dict[str, str], archive_dir: str = "", archive: str = "") -> Any:
    cmd = [sys.executable, __file__, "--child", op, "--archive-dir", archive_dir]
    cmd += ["--archive", archive]
    out = subprocess.run(  # noqa: S603 (this script, with arguments it built itself)
        cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_env(env),
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"reverie {op} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- parent -----------------------------------------------------------------------------------


def _timed(fn: Any) -> tuple[float, float, float]:
    """Wall seconds, load average, CPU seconds (this process and the tools it ran)."""
    load = _load()
    t, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - t, load, _cpu() - cpu


def _sqlite_copy(source: str, dest: str) -> None:
    src = sqlite3.connect(source)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def _pg(base_url: str) -> Any:
    import psycopg

    return psycopg.connect(bench_outcomes._conninfo(base_url), autocommit=True)


def _pg_env(url: str) -> dict[str, str]:
    from reverie.lib.env import parse_database_url

    cfg = parse_database_url(url)
    env = {"PGHOST": str(cfg["HOST"]), "PGPORT": str(cfg["PORT"] or 5432)}
    env["PGUSER"] = str(cfg["USER"])
    if cfg["PASSWORD"]:
        env["PGPASSWORD"] = str(cfg["PASSWORD"])
    return {**os.environ, **env}


def _fresh_db(base_url: str, name: str) -> str:
    with _pg(base_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return base_url.rsplit("/", 1)[0] + "/" + name


def _drop_db(base_url: str, name: str) -> None:
    with _pg(base_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


def _keys(folder: Path) -> dict[str, str]:
    from pyrage import x25519

    identity = x25519.Identity.generate()
    path = folder / "backup-identity.txt"
    path.write_text(str(identity) + "\n")
    path.chmod(0o600)
    return {
        "REVERIE_BACKUP_RECIPIENTS": str(identity.to_public()),
        "REVERIE_BACKUP_IDENTITY_FILE": str(path),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="episodes")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (else SQLite)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--archive-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--archive", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.archive_dir, args.archive)))
        return 0

    url, data_dir, gen = bench_outcomes.cached_database(args.size, args.database_url)
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    keys = _keys(work)
    # The cached database's own keys: the restore re-applies the erasure ledger and
    # verifies the audit chain signed with them.
    common = {k: os.environ[k] for k in ("REVERIE_AUDIT_KEYS",) if k in os.environ}
    common.setdefault("REVERIE_AUDIT_KEYS", "bench-audit-" + "k" * 40)
    source_env = {**common, **keys, "REVERIE_DATA_DIR": data_dir}
    if url:
        source_env["REVERIE_DATABASE_URL"] = url
    sqlite_file = str(Path(data_dir) / "reverie.sqlite3")
    base = args.database_url or ""
    rows: dict[str, list[tuple[float, float]]] = {}
    cpus: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {}

    def note(key: str, seconds: float, load: float, cpu: float) -> None:
        rows.setdefault(key, []).append((seconds, load))
        cpus.setdefault(key, []).append(cpu)
        sys.stderr.write(f"  {key:<18} {seconds:8.2f} s   load {load:.1f}   CPU {cpu:6.2f} s\n")

    vendor = "PostgreSQL" if url else "SQLite"
    if url:
        with _pg(url) as conn:
            db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    else:
        db_bytes = Path(sqlite_file).stat().st_size
    sys.stderr.write(f"{vendor}, {args.size:,} episodes, database {db_bytes / 1e6:,.0f} MB\n")
    for round_no in range(args.repeat):
        sys.stderr.write(f"round {round_no + 1} of {args.repeat}\n")
        tag = f"r{round_no}"
        # 1. plain backup
        if url:
            plain = work / f"plain-{tag}.pgdump"
            cmd = ["pg_dump", "-Fc", f"--file={plain}", url.rsplit("/", 1)[1]]
            s, load, cpu = _timed(
                lambda cmd=cmd: subprocess.run(cmd, env=_pg_env(url), check=True)  # noqa: S603
            )
        else:
            plain = work / f"plain-{tag}.sqlite3"
            s, load, cpu = _timed(lambda plain=plain: _sqlite_copy(sqlite_file, str(plain)))
        note("plain backup", s, load, cpu)
        sizes.setdefault("plain", []).append(plain.stat().st_size)
        # 2. reverie backup
        out_dir = work / f"archives-{tag}"
        load = _load()
        made = _run_child("backup", source_env, archive_dir=str(out_dir))
        note("reverie backup", made["seconds"], load, made["cpu"])
        archive = made["path"]
        sizes.setdefault("reverie", []).append(Path(archive).stat().st_size)
        # 3. plain restore
        if url:
            name = f"bench_backup_plain_{tag}"
            _fresh_db(base, name)
            cmd = ["pg_restore", "--no-owner", f"--dbname={name}", str(plain)]
            s, load, cpu = _timed(
                lambda cmd=cmd: subprocess.run(cmd, env=_pg_env(url), check=True)  # noqa: S603
            )
            _drop_db(base, name)
        else:
            target = work / f"plain-restored-{tag}.sqlite3"
            s, load, cpu = _timed(lambda t=target, p=plain: _sqlite_copy(str(p), str(t)))
            target.unlink()
        note("plain restore", s, load, cpu)
        plain.unlink()
        # 4. reverie restore, into an empty database and an empty data folder
        target_dir = work / f"restored-{tag}"
        target_dir.mkdir()
        env = {**common, **keys, "REVERIE_DATA_DIR": str(target_dir)}
        name = f"bench_backup_restored_{tag}"
        if url:
            env["REVERIE_DATABASE_URL"] = _fresh_db(base, name)
        load = _load()
        done = _run_child("restore", env, archive=archive)
        note("reverie restore", done["seconds"], load, done["cpu"])
        sys.stderr.write(f"  (restored by {done['method']})\n")
        if url:
            _drop_db(base, name)
        shutil.rmtree(target_dir)
        shutil.rmtree(out_dir)
    shutil.rmtree(work)

    med = statistics.median
    print(f"\nBackup and restore, {vendor}, {args.size:,} episodes ({gen['administrations']:,}")
    print(
        f"administrations, {gen['appointments']:,} sessions), database {db_bytes / 1e6:,.0f} MB,"
        f" median of {args.repeat}; {os.cpu_count()} cores"
    )
    head = ("measure", "Reverie", "plain tool", "ratio", f"target <= {TARGET:g}x", "load avg")
    print(f"{head[0]:<10} {head[1]:>11} {head[2]:>11} {head[3]:>6} {head[4]:>14} {head[5]:>14}")
    for what in ("backup", "restore"):
        ours = rows[f"reverie {what}"]
        theirs = rows[f"plain {what}"]
        a = med(s for s, _ in ours)
        b = med(s for s, _ in theirs)
        loads = "/".join(f"{x:.1f}" for _, x in ours)
        ratio = a / b
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"{what:<10} {a:>9.1f} s {b:>9.1f} s {ratio:>6.2f} {verdict:>14} {loads:>14}")
    a, b = med(sizes["reverie"]), med(sizes["plain"])
    verdict = "met" if a / b <= TARGET else "NOT met"
    print(f"{'size':<10} {a / 1e6:>8.0f} MB {b / 1e6:>8.0f} MB {a / b:>6.2f} {verdict:>14}")
    # On a shared machine the wall clock is mostly time spent waiting for a core; CPU
    # time is what each side costs (client side only: the PostgreSQL server's is in
    # neither figure).
    print("CPU time (median; this process and the tools it ran):")
    for what in ("backup", "restore"):
        a, b = med(cpus[f"reverie {what}"]), med(cpus[f"plain {what}"])
        verdict = "met" if a / b <= TARGET else "NOT met"
        print(f"{what:<10} {a:>9.2f} s {b:>9.2f} s {a / b:>6.2f} {verdict:>14}")
    print(json.dumps({"rows": rows, "cpu": cpus, "sizes": sizes}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
