"""Scored questionnaire submissions through the FHIR API, against a real server.

For each database (SQLite, then PostgreSQL) this script:

1. creates a fresh data directory (and, for PostgreSQL, a throw-away database that is
   dropped at the end), runs ``reverie migrate`` and creates one practice, one therapist
   with a bearer token, and 50 clients in treatment;
2. starts ``reverie serve`` (gunicorn) on a free loopback port;
3. runs 50 concurrent clients for 60 seconds, each POSTing complete PHQ-9
   QuestionnaireResponses (random answers, unique ``identifier``) to
   ``/fhir/QuestionnaireResponse`` over a keep-alive connection;
4. stops the server and counts the stored administrations: every 201 must have its row
   (``lost`` = acknowledged - stored);
5. measures, in the same run, the database's raw insert rate for the same rows: one
   transaction per submission inserting an administration row and an audit row (copies of
   the real tables, so the real audit chain is untouched), from one connection, with no
   HTTP, no Django and no scoring. That is the floor the API rate is printed beside.

Targets (issue 3): at least 300 submissions per second and p95 under 100 ms, zero lost.

Run: ``.venv/bin/python bench/bench_fhir_submissions.py [--seconds 60] [--clients 50]
[--db sqlite,postgres]``. Loopback only; every run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REVERIE = str(ROOT / ".venv" / "bin" / "reverie")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
LOINC = "http://loinc.org"

SETUP = r"""
import json, sys, django
django.setup()
from django.utils import timezone
from reverie.accounts.models import Practice, Role, User
from reverie.accounts import actions
from reverie.audit import trail
from reverie.care.models import Client, Episode
from reverie.measures.registry import sync_shipped_instruments
sync_shipped_instruments()
practice = Practice.objects.create(slug="bench", name="Bench Practice")
therapist = User.objects.create_user("bench@bench.test", practice=practice, role=Role.THERAPIST)
_, token = actions.create_token(trail.system("bench"), therapist, "bench")
clients = []
for n in range(int(sys.argv[1])):
    c = Client.objects.create(practice=practice, given_name=f"Client{n}", family_name="Bench")
    Episode.objects.create(client=c, therapist=therapist, modality="psychodynamic",
                           start_date=timezone.localdate(), status="active")
    clients.append(c.pk)
print(json.dumps({"token": token, "clients": clients}))
"""

COUNT = r"""
import json, django
django.setup()
from reverie.measures.models import Administration
from reverie.audit.models import AuditEntry
from reverie.audit import trail
v = trail.verify()
print(json.dumps({"stored": Administration.objects.filter(source="fhir").count(),
                  "audit_creates": AuditEntry.objects.filter(action="create",
                                   object_type="measures.administration").count(),
                  "chain_ok": v.ok}))
"""

RAW_INSERTS = r"""
import json, sys, time, datetime, django
django.setup()
from django.db import connection, transaction
seconds = float(sys.argv[1])
vendor = connection.vendor
with connection.cursor() as cur:
    for table in ("measures_administration", "audit_auditentry"):
        cur.execute(f"DROP TABLE IF EXISTS bench_{table}")
        if vendor == "postgresql":
            cur.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
        else:
            cur.execute(f"SELECT sql FROM sqlite_master WHERE type='table' AND name='{table}'")
            ddl = cur.fetchone()[0].replace(f'"{table}"', f'"bench_{table}"', 1)
            cur.execute(ddl)
ADMINISTRATION = (
    "INSERT INTO bench_measures_administration (client_id, episode_id, instrument_id, "
    "completed_at, timepoint, source, answers, total, band, entered_by_id, idempotency_key, "
    "instrument_version, result, has_critical, request_id, identifier, received_at) "
    "VALUES (%s, %s, %s, %s, 'session', 'fhir', %s, 9, 'Mild', NULL, %s, '1.0.0', '{}', "
    "false, NULL, '{}', %s)"
)
AUDIT = (
    "INSERT INTO bench_audit_auditentry (seq, at, actor_id, actor_label, practice_id, action, "
    "object_type, object_id, client_id, ip, detail, prev_hash, hash) VALUES (%s, %s, NULL, "
    "'bench', NULL, 'create', 'measures.administration', %s, 1, '127.0.0.1', '{}', %s, %s)"
)
answers = json.dumps({f"phq9-{i}": 1 for i in range(1, 10)})
now = datetime.datetime.now(datetime.UTC)
count = 0
deadline = time.perf_counter() + seconds
start = time.perf_counter()
while time.perf_counter() < deadline:
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(ADMINISTRATION, [1, 1, 1, now, answers, f"k{count}", now])
            cur.execute(AUDIT, [count + 1, now, str(count), "0" * 64, "1" * 64])
    count += 1
elapsed = time.perf_counter() - start
with connection.cursor() as cur:
    for table in ("measures_administration", "audit_auditentry"):
        cur.execute(f"DROP TABLE bench_{table}")
print(json.dumps({"rate": count / elapsed, "submissions": count, "vendor": vendor}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_py(code: str, env: dict[str, str], *args: str) -> Any:
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [PYTHON, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


PERSISTENT_SQLITE = """
from reverie.settings import *  # noqa: F403
# Proposed change to reverie/settings.py: keep SQLite connections open between requests,
# as is already done for PostgreSQL. Closing the last connection to a WAL database makes
# SQLite checkpoint the WAL, which cost about 9 ms per request in the profile.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
"""


@contextlib.contextmanager
def environment(db: str, port: int, persistent: bool = False) -> Iterator[dict[str, str]]:
    data_dir = tempfile.mkdtemp(prefix=f"reverie-bench-{db}-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reverie.settings",
        "REVERIE_DATA_DIR": data_dir,
        "REVERIE_SECRET_KEY": "bench-" + "k" * 40,
        "REVERIE_BIND": f"127.0.0.1:{port}",
        "REVERIE_BASE_URL": f"http://127.0.0.1:{port}",
        "REVERIE_LOG_LEVEL": "WARNING",
    }
    env.pop("REVERIE_DATABASE_URL", None)
    if persistent:
        Path(data_dir, "bench_persistent_settings.py").write_text(PERSISTENT_SQLITE)
        env["PYTHONPATH"] = data_dir + os.pathsep + env.get("PYTHONPATH", "")
        env["DJANGO_SETTINGS_MODULE"] = "bench_persistent_settings"
    db_name = f"reverie_bench_{os.getpid()}"
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["REVERIE_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{db_name}"
    try:
        yield env
    finally:
        if db == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not become ready")


def response_body(client_id: int, url: str, n: int, rng: random.Random) -> bytes:
    items = [
        {
            "linkId": f"phq9-{i}",
            "answer": [
                {"valueCoding": {"system": "http://loinc.org", "code": rng.choice(FREQUENCY)}}
            ],
        }
        for i in range(1, 9)
    ]
    # Item 9 stays "not at all": this measures the scoring path, not the alert emails.
    items.append(
        {
            "linkId": "phq9-9",
            "answer": [{"valueCoding": {"system": "http://loinc.org", "code": FREQUENCY[0]}}],
        }
    )
    resource = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:bench", "value": f"{client_id}-{n}"},
        "status": "completed",
        "questionnaire": url,
        "subject": {"reference": f"Patient/{client_id}"},
        "item": items,
    }
    return json.dumps(resource).encode()


def load(port: int, token: str, clients: list[int], seconds: float) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/fhir/Questionnaire/phq-9"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    latencies: list[list[float]] = [[] for _ in clients]
    statuses: list[dict[int, int]] = [{} for _ in clients]
    errors = [0] * len(clients)
    barrier = threading.Barrier(len(clients) + 1)
    stop_at = [0.0]

    def worker(index: int, client_id: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            body = response_body(client_id, url, n, rng)
            n += 1
            started = time.perf_counter()
            try:
                conn.request("POST", "/fhir/QuestionnaireResponse", body, headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[index].append(time.perf_counter() - started)
            statuses[index][response.status] = statuses[index].get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    all_latencies = sorted(x for per in latencies for x in per)
    merged: dict[int, int] = {}
    for per in statuses:
        for code, count in per.items():
            merged[code] = merged.get(code, 0) + count
    return {
        "elapsed": elapsed,
        "requests": len(all_latencies),
        "statuses": merged,
        "errors": sum(errors),
        "p50": statistics.median(all_latencies) if all_latencies else float("nan"),
        "p95": all_latencies[int(0.95 * (len(all_latencies) - 1))]
        if all_latencies
        else float("nan"),
        "max": all_latencies[-1] if all_latencies else float("nan"),
    }


def bench(
    db: str, seconds: float, n_clients: int, workers: int, threads: int, persistent: bool
) -> dict[str, Any]:
    port = free_port()
    with environment(db, port, persistent) as env:
        env["REVERIE_WEB_WORKERS"] = str(workers)
        env["REVERIE_WEB_THREADS"] = str(threads)
        subprocess.run([REVERIE, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
        setup = run_py(SETUP, env, str(n_clients))
        server = subprocess.Popen(  # noqa: S603  (the reverie command itself)
            [REVERIE, "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_ready(port)
            load_before = os.getloadavg()[0]
            result = load(port, setup["token"], setup["clients"], seconds)
            result["load_before"] = load_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        counted = run_py(COUNT, env)
        raw = run_py(RAW_INSERTS, env, str(min(seconds, 10.0)))
    acknowledged = result["statuses"].get(201, 0)
    result.update(counted)
    result["db"] = db
    result["acknowledged"] = acknowledged
    result["lost"] = acknowledged - counted["stored"]
    result["rate"] = acknowledged / result["elapsed"]
    result["raw_rate"] = raw["rate"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--persistent-sqlite",
        action="store_true",
        help="run with the proposed settings change (persistent SQLite connections)",
    )
    args = parser.parse_args()
    print(
        f"FHIR submissions: {args.clients} concurrent clients, {args.seconds:.0f} s per database, "
        f"reverie serve with {args.workers} workers x {args.threads} threads, "
        f"{os.cpu_count()} CPU cores, Python {sys.version.split()[0]}"
        + (", persistent SQLite connections (proposed setting)" if args.persistent_sqlite else "")
    )
    header = (
        f"{'database':<10} {'submissions':>11} {'rate/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'max ms':>7} {'lost':>5} {'non-201':>8} {'raw inserts/s':>14}  target"
    )
    print(header)
    print("-" * len(header))
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        r = bench(
            db, args.seconds, args.clients, args.workers, args.threads, args.persistent_sqlite
        )
        other = sum(v for k, v in r["statuses"].items() if k != 201) + r["errors"]
        ok = r["rate"] >= 300 and r["p95"] < 0.1 and r["lost"] == 0
        print(
            f"{db:<10} {r['acknowledged']:>11} {r['rate']:>8.1f} {r['p50'] * 1000:>7.1f} "
            f"{r['p95'] * 1000:>7.1f} {r['max'] * 1000:>7.1f} {r['lost']:>5} {other:>8} "
            f"{r['raw_rate']:>14.0f}  {'pass' if ok else 'FAIL'}"
        )
        print(
            f"  stored rows {r['stored']}, audit 'create' rows {r['audit_creates']}, "
            f"audit chain verifies: {r['chain_ok']}, statuses {r['statuses']}, "
            f"1-min load average before the run {r['load_before']:.2f}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
