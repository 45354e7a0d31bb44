"""CPU time of one FHIR submission beside one ``GET /healthz``, in one process.

``bench/bench_fhir_submissions.py`` measures rates through a real server, which on a
shared machine mostly measures the other processes: under a load average of 10 its
absolute rates fall tenfold and its ``/healthz`` ratio drifts either way. This script
measures what does not depend on the neighbours: the CPU seconds each request costs.

For each database it creates the same data as the rate benchmark (its ``environment`` and
``SETUP``), then calls Django's WSGI handler directly (no gunicorn, no sockets) with the
benchmark's PHQ-9 QuestionnaireResponse, and prints

- the SQL statements one submission sends (from Django's query log, which also holds the
  write that `core.postgresql.overlap` sends to libpq directly);
- per submission and per ``GET /healthz``: the application's CPU time
  (``time.process_time``) and, on PostgreSQL, the CPU time of the server process serving
  its connection (``/proc/<pg_backend_pid>/stat``, so PostgreSQL must run on this host);
- ``(full chain)``: the same submission through every middleware, without the lean path
  that bearer calls take (``reverie.core.middleware.LeanApiMiddleware``), in the same run;
- the CPU share: CPU per ``/healthz`` over CPU per submission, both counted in the same
  run. On a machine the two requests have to themselves this share is roughly the ratio of
  the submission ceiling to the ``/healthz`` rate (issue 13's target is at least 0.25); it
  leaves out gunicorn's and the load generator's CPU, which both requests pay alike.

Run: ``.venv/bin/python bench/bench_fhir_cpu.py [--db sqlite,postgres] [--n 2000]
[--profile] [--prefer minimal]``. ``--prefer`` sends ``Prefer: return=...`` with every
submission (none by default). ``--profile`` prints the 40 functions with most CPU time
(cProfile with a CPU clock; the profiler's own cost inflates the total).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# This checkout's code, not whichever copy the virtualenv has installed: the timed requests
# run in this process, which read PYTHONPATH before the environment below sets it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import bench_fhir_submissions as rates  # the sibling script, for its set-up

PORT = 8999
WARM = 300
BLOCKS = 20


def measure(db: str, n: int, profile: bool, prefer: str | None = None) -> dict[str, Any]:
    with rates.environment(db, PORT) as env:
        subprocess.run([*rates.REVERIE, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
        setup = rates.run_py(rates.SETUP, env, "50")
        # The timed loops run longer than the default connection age; one connection
        # throughout, so its server process's CPU can be read.
        env["REVERIE_DB_CONN_MAX_AGE"] = "3600"
        os.environ.update(env)
        return _in_process(db, setup, n, profile, prefer)


def _in_process(
    db: str, setup: dict[str, Any], n: int, profile: bool, prefer: str | None = None
) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings

    app = WSGIHandler()
    # The same submission through the full middleware chain, beside the lean path that
    # bearer calls take (reverie.core.middleware.LeanApiMiddleware), in the same run.
    lean = "reverie.core.middleware.LeanApiMiddleware"
    full_app = None
    if lean in settings.MIDDLEWARE:
        with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != lean]):
            full_app = WSGIHandler()
    token, clients = setup["token"], setup["clients"]
    rng = random.Random(13)

    def call(method: str, path: str, body: bytes = b"", via: Any = None) -> str:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(PORT),
            "HTTP_HOST": f"127.0.0.1:{PORT}",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/fhir+json",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.url_scheme": "http",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.errors": sys.stderr,
        }
        if prefer and method == "POST":
            environ["HTTP_PREFER"] = f"return={prefer}"
        status: list[str] = []
        handler = app if via is None else via
        b"".join(handler(environ, lambda s, h, *a: status.append(s)))  # type: ignore[arg-type]
        return status[0]

    url = f"http://127.0.0.1:{PORT}/fhir/Questionnaire/phq-9"

    def body(i: int) -> bytes:
        return rates.response_body(clients[i % len(clients)], url, f"cpu-{i}", rng)

    for i in range(WARM):  # imports, prepared statements, caches
        status = call("POST", "/fhir/QuestionnaireResponse", body(i))
        if not status.startswith("201"):
            raise SystemExit(f"warm-up submission answered {status}")
        call("GET", "/healthz")
    # Django's query log, not an execute wrapper: the write sent while the answer is built
    # (core.postgresql.overlap) goes to libpq directly and is only in the log.
    connection.force_debug_cursor = True
    connection.queries_log.clear()
    call("POST", "/fhir/QuestionnaireResponse", body(WARM))
    statements = [q["sql"] for q in connection.queries_log]
    connection.force_debug_cursor = False
    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]

    def server_cpu() -> float:
        if backend is None:
            return 0.0
        stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    profiler = cProfile.Profile(time.process_time) if profile else None
    # Alternating blocks of each kind, so that a neighbour's burst of load (which slows
    # every CPU-second through shared caches and cores) falls on both kinds alike.
    totals = {"submit": [0.0, 0.0], "trivial": [0.0, 0.0], "full": [0.0, 0.0]}
    block = max(1, n // BLOCKS)
    done = 0
    while done < n:
        bodies = [body(WARM + 1 + done + i) for i in range(block)]
        app0, server0 = time.process_time(), server_cpu()
        if profiler:
            profiler.enable()
        for b in bodies:
            call("POST", "/fhir/QuestionnaireResponse", b)
        if profiler:
            profiler.disable()
        app1, server1 = time.process_time(), server_cpu()
        for _ in range(block):
            call("GET", "/healthz")
        app2, server2 = time.process_time(), server_cpu()
        totals["submit"][0] += app1 - app0
        totals["submit"][1] += server1 - server0
        totals["trivial"][0] += app2 - app1
        totals["trivial"][1] += server2 - server1
        if full_app is not None:
            bodies = [body(10**6 + done + i) for i in range(block)]
            app3, server3 = time.process_time(), server_cpu()
            for b in bodies:
                call("POST", "/fhir/QuestionnaireResponse", b, via=full_app)
            totals["full"][0] += time.process_time() - app3
            totals["full"][1] += server_cpu() - server3
        done += block
    submit = (totals["submit"][0] / done, totals["submit"][1] / done)
    trivial = (totals["trivial"][0] / done, totals["trivial"][1] / done)
    connection.close()
    out: dict[str, Any] = {
        "db": db,
        "queries": statements,
        "submit": submit,
        "trivial": trivial,
    }
    if full_app is not None:
        out["full"] = (totals["full"][0] / done, totals["full"][1] / done)
    if profiler:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats(os.environ.get("BENCH_SORT", "tottime"))  # or "cumulative"
        stats.print_stats(int(os.environ.get("BENCH_TOP", "40")))
        if os.environ.get("BENCH_PROFILE_OUT"):  # for pstats' callers/callees views
            stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
        out["profile"] = text.getvalue()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--n", type=int, default=2000, help="requests timed of each kind")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--prefer", choices=rates.PREFER_CHOICES)
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        # One process per database: Django is configured once per process.
        print(json.dumps(measure(args._child, args.n, args.profile, args.prefer)))
        return
    print(
        f"FHIR submission vs GET /healthz, CPU per request, {args.n} of each, in-process "
        f"(1-min load average {os.getloadavg()[0]:.1f})"
        + (f", Prefer: return={args.prefer}" if args.prefer else "")
    )
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        command = [sys.executable, __file__, "--n", str(args.n), "--_child", db]
        if args.profile:
            command.append("--profile")
        if args.prefer:
            command += ["--prefer", args.prefer]
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        r = json.loads(done.stdout.strip().splitlines()[-1])
        (s_app, s_db), (t_app, t_db) = r["submit"], r["trivial"]
        share = (t_app + t_db) / (s_app + s_db)
        print(f"\n{db}: {len(r['queries'])} statements per submission")
        for sql in r["queries"]:
            print(f"    {' '.join(sql.split())[:110]}")
        print(f"  {'request':<12} {'app ms':>7} {'db ms':>7} {'total ms':>9}")
        rows = [("submission", s_app, s_db), ("/healthz", t_app, t_db)]
        if "full" in r:
            rows.append(("(full chain)", *r["full"]))
        for label, app_s, db_s in rows:
            total = (app_s + db_s) * 1e3
            print(f"  {label:<12} {app_s * 1e3:>7.3f} {db_s * 1e3:>7.3f} {total:>9.3f}")
        print(
            f"  CPU share /healthz : submission = {share:.3f} (issue 13's ceiling target: >= 0.25)"
        )
        if "profile" in r:
            print(r["profile"])
    print(f"\n(1-min load average after: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
