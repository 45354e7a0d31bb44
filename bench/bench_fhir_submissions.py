"""Scored questionnaire submissions through the FHIR API, against a real server.

For each database (SQLite, then PostgreSQL) this script:

1. creates a fresh data directory (and, for PostgreSQL, a throw-away database that is
   dropped at the end), runs ``reverie migrate`` and creates one practice, one therapist
   with a bearer token, and 50 clients in treatment, each episode with goals encrypted
   with the client's data key (``REVERIE_ENCRYPTION_KEYS`` is set, as a practice must);
2. starts ``reverie serve`` (gunicorn) on a free loopback port;
3. runs 50 concurrent clients POSTing complete PHQ-9 QuestionnaireResponses (random
   answers, unique ``identifier``) to ``/fhir/QuestionnaireResponse``: first an open loop
   at ``--rate`` submissions/s for ``--seconds`` (latency counted from when each was due),
   then a closed loop for ``--seconds`` (the ceiling) and ``GET /healthz`` for up to 10 s
   (the floor), the two in ``--slices`` alternating slices (4 by default: closed, floor,
   closed, floor, ...) so that a change in the machine's speed during the run falls on
   both sides of their ratio;
4. stops the server and counts the stored administrations: every 201 must have its row
   (``lost`` = acknowledged - stored);
5. measures, in the same run, the database's raw insert rate for the same rows: one
   transaction per submission inserting an administration row and an audit row (copies of
   the real tables, so the real audit chain is untouched), from one connection, with no
   HTTP, no Django and no scoring. That is the floor the API rate is printed beside.

Targets (issues 3 and 13): at 300 submissions/s offered, all answered with p95 under
100 ms; a closed-loop ceiling of at least a quarter of ``GET /healthz`` on the same server;
zero lost; the audit chain verifies.

Run: ``.venv/bin/python bench/bench_fhir_submissions.py [--seconds 60] [--clients 50]
[--rate 300] [--db sqlite,postgres] [--runs N] [--slices 4] [--waits] [--timeline]
[--workers N --threads M] [--pg-socket DIR] [--prefer minimal]``. The acceptance run
(issue 13) is
``--seconds 20 --runs 5``: every run prints pass or fail, and the last lines count the
runs that met the target on each database. ``--waits`` samples PostgreSQL's
``pg_stat_activity`` during both loops and prints what the sessions spent their time on
(running, a lock, the WAL flush, idle); the sampler runs only then, since its queries cost
PostgreSQL CPU during the submission loops and not during the ``/healthz`` loop.
``--timeline`` prints the open loop second by second (answered, p95) beside what the
machine and PostgreSQL did in that second: cores busy, time stolen by the host and spent
waiting on the disk, WAL flushes and their mean time, checkpoints, and the audit table's
dead row versions (lost races; one sample a second; it also turns on
``track_wal_io_timing`` for the throw-away database). Every run prints the CPU
milliseconds each request cost the server, PostgreSQL, the load generator and the kernel's
threads during the closed loop and the ``/healthz`` loop, and how busy the cores were
(read from /proc): a ceiling reached with idle cores is waiting on something, not short of
CPU. Without ``--workers``/``--threads`` the server runs with its shipped defaults.
``--prefer minimal`` sends ``Prefer: return=minimal``, as a client that needs only the
new resource's ``Location`` may: the server then builds no resource for the answer.
Settings come from the environment, so ``REVERIE_SQLITE_SYNCHRONOUS=NORMAL
.venv/bin/python bench/...`` compares SQLite's commit durability modes. Loopback only;
every phase is bounded by ``--seconds``."""

from __future__ import annotations

import argparse
import base64
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
# The interpreter running this script, with this checkout's src/ first on the path, so a
# git worktree sharing another checkout's virtualenv measures its own code.
PYTHON = sys.executable
REVERIE = [PYTHON, "-m", "reverie"]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Set by ``--pg-socket DIR``: the app reaches PostgreSQL through its Unix socket.
PG_SOCKET: str | None = None
#: The ``return`` preference every submission sends (``--prefer``); none by default.
PREFER: str | None = None
#: The ``return`` preferences the server knows (``fhir.views.preferred_return``).
PREFER_CHOICES = ("minimal", "representation", "OperationOutcome")
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
                           start_date=timezone.localdate(), status="active",
                           goals="(synthetic) To see why I leave before I can be left.")
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
    "object_type, object_id, client_id, ip, detail, prev_hash, hash, chain_version, key_id) "
    "VALUES (%s, %s, NULL, 'bench', NULL, 'create', 'measures.administration', %s, 1, "
    "'127.0.0.1', '{}', %s, %s, 2, 'bench')"
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


@contextlib.contextmanager
def environment(db: str, port: int) -> Iterator[dict[str, str]]:
    data_dir = tempfile.mkdtemp(prefix=f"reverie-bench-{db}-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reverie.settings",
        "REVERIE_DATA_DIR": data_dir,
        "REVERIE_SECRET_KEY": "bench-" + "k" * 40,
        "REVERIE_AUDIT_KEYS": "bench-audit-" + "k" * 40,
        # As in a real practice: without a key no client text can be stored, and the
        # episodes below carry goals, encrypted with each client's data key.
        "REVERIE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "REVERIE_BIND": f"127.0.0.1:{port}",
        "REVERIE_BASE_URL": f"http://127.0.0.1:{port}",
        "REVERIE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    env.pop("REVERIE_DATABASE_URL", None)
    db_name = f"reverie_bench_{os.getpid()}"
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        # TCP on loopback, or the server's Unix socket (what a one-host practice uses).
        where = "127.0.0.1:5432" if PG_SOCKET is None else ""
        query = "" if PG_SOCKET is None else f"?host={PG_SOCKET}"
        env["REVERIE_DATABASE_URL"] = f"postgresql://postgres@{where}/{db_name}{query}"
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


class Client:
    """A minimal HTTP/1.1 client for the load generator.

    The 50 clients run on the same two cores as the server, so what they cost is taken
    from the server. ``http.client`` parses every response's headers with the email
    package, which made the load generator itself about a tenth of the machine's CPU per
    submission; this client sends prepared bytes and reads only the status line, the
    ``Content-Length`` and the body. It keeps the connection open while the server does
    (gthread) and reconnects when the server closes it (sync workers answer one request
    per connection).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def request(self, raw: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            self.buffer = rest
            self._read()
            rest = self.buffer
        self.buffer = rest[length:]
        if close:
            self.close()
        return status

    def _read(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            self.close()
            raise ConnectionError("the server closed the connection mid-response")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


#: Stands for a body's identifier until it is sent (see :func:`load`).
IDENTIFIER_SLOT = "@@identifier@@"


def response_body(client_id: int, url: str, n: int | str, rng: random.Random) -> bytes:
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


def load(
    port: int,
    token: str,
    clients: list[int],
    seconds: float,
    rate: float | None,
    phase: str,
    path: str = "/fhir/QuestionnaireResponse",
) -> dict[str, Any]:
    """Drive ``len(clients)`` concurrent clients for ``seconds``.

    ``rate=None`` is a closed loop: each client sends its next submission as soon as the
    previous one is answered, which finds the server's ceiling. With ``rate`` the clients
    together offer that many submissions per second on a fixed schedule (open loop, each
    client every ``len(clients) / rate`` seconds, staggered), and a latency is counted from
    the moment a submission was *due*, not from when it was sent: a server that falls
    behind therefore shows its backlog in p95 instead of hiding it by slowing the clients
    down ("coordinated omission").
    """
    url = f"http://127.0.0.1:{port}/fhir/Questionnaire/phq-9"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    if PREFER:
        headers["Prefer"] = f"return={PREFER}"
    latencies: list[list[float]] = [[] for _ in clients]
    # (seconds after the start at which each submission was due, its latency): the
    # --timeline report buckets these by second.
    dues: list[list[float]] = [[] for _ in clients]
    statuses: list[dict[int, int]] = [{} for _ in clients]
    errors = [0] * len(clients)
    barrier = threading.Barrier(len(clients) + 1)
    start_at = [0.0]
    period = len(clients) / rate if rate else 0.0

    def worker(index: int, client_id: int) -> None:
        rng = random.Random(f"{phase}-{index}")
        client = Client(port)
        n = 0
        # Bodies are prepared before the clock starts (the same random answers, drawn ahead:
        # 64 variants a client, each sent with its own identifier), so that serialising
        # them is not load-generator work taken from the server's cores during the loop.
        variants = [
            response_body(client_id, url, IDENTIFIER_SLOT, rng).split(IDENTIFIER_SLOT.encode())
            for _ in range(64)
        ]
        head = raw_request("POST", path, headers).split(b"Content-Length: ")[0]
        barrier.wait()
        stop_at = start_at[0] + seconds
        due = start_at[0] + index * period / len(clients)
        while due < stop_at:
            if rate:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            else:
                due = time.perf_counter()
            if path == "/healthz":
                raw = raw_request("GET", path, {})
            else:
                before, after = variants[n % len(variants)]
                body = before + f"{phase}-{n}".encode() + after
                raw = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            n += 1
            try:
                status = client.request(raw)
            except (OSError, ValueError, IndexError):
                errors[index] += 1
                client.close()
                due += period
                continue
            latencies[index].append(time.perf_counter() - due)
            dues[index].append(due - start_at[0])
            statuses[index][status] = statuses[index].get(status, 0) + 1
            due += period
        client.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    start_at[0] = time.perf_counter() + 0.2
    barrier.wait()
    for t in threads:
        t.join()
    # Submissions still in flight at the end are waited for and counted, so the elapsed
    # time runs to the last answer.
    elapsed = time.perf_counter() - start_at[0]
    all_latencies = sorted(x for per in latencies for x in per)
    merged: dict[int, int] = {}
    for per in statuses:
        for code, count in per.items():
            merged[code] = merged.get(code, 0) + count
    ok = 200 if path == "/healthz" else 201
    return {
        "elapsed": elapsed,
        "requests": len(all_latencies),
        "statuses": merged,
        "errors": sum(errors),
        "acknowledged": merged.get(ok, 0),
        "rate": merged.get(ok, 0) / elapsed,
        "p50": statistics.median(all_latencies) if all_latencies else float("nan"),
        "p95": all_latencies[int(0.95 * (len(all_latencies) - 1))]
        if all_latencies
        else float("nan"),
        "max": all_latencies[-1] if all_latencies else float("nan"),
        "started": start_at[0],
        "by_due": sorted(
            (d, x)
            for per_d, per_x in zip(dues, latencies, strict=True)
            for d, x in zip(per_d, per_x, strict=True)
        ),
    }


def merge_loads(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's figures from its slices (:func:`load` results): counts and time added,
    the latency quantiles taken over every request of every slice."""
    if len(parts) == 1:
        return parts[0]
    latencies = sorted(x for p in parts for _, x in p["by_due"])
    statuses: dict[int, int] = {}
    for p in parts:
        for code, count in p["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    elapsed = sum(p["elapsed"] for p in parts)
    acknowledged = sum(p["acknowledged"] for p in parts)
    return {
        "elapsed": elapsed,
        "requests": sum(p["requests"] for p in parts),
        "statuses": statuses,
        "errors": sum(p["errors"] for p in parts),
        "acknowledged": acknowledged,
        "rate": acknowledged / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "started": parts[0]["started"],
        "by_due": [],
    }


class _Sampler:
    """A sampling thread run for the length of a ``with`` block; ``_run`` samples until
    ``_stop`` is set."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError


class WaitSampler(_Sampler):
    """Samples what the benchmark database's sessions are doing, every ``interval`` s.

    PostgreSQL reports, per session, whether it is running, waiting (and on what: a row
    lock held by another transaction, the WAL flush at commit, ...), or idle waiting for
    the application (between requests, or between statements of an open transaction).
    Counting those states across thousands of samples shows where a submission's time
    goes on the database side without instrumenting the application. The sampler's own
    session is excluded; its query costs the server well under a millisecond.
    """

    def __init__(self, url: str, db_name: str, interval: float = 0.01) -> None:
        super().__init__()
        self.url, self.db_name, self.interval = url, db_name, interval
        self.counts: dict[str, int] = {}
        self.samples = 0

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'",
                    [self.db_name],
                ).fetchall()
                self.samples += 1
                for state, kind, event in rows:
                    if state == "active":
                        label = f"waiting: {kind}:{event}" if kind else "running (CPU)"
                    elif state == "idle in transaction":
                        label = "idle in transaction (the application is working)"
                    else:
                        label = f"{state or 'unknown'} (waiting for the application)"
                    self.counts[label] = self.counts.get(label, 0) + 1
                self._stop.wait(self.interval)

    def summary(self) -> list[tuple[str, float]]:
        """Each state's share of all sampled sessions, largest first."""
        total = sum(self.counts.values()) or 1
        return sorted(((label, n / total) for label, n in self.counts.items()), key=lambda x: -x[1])


class TimelineSampler(_Sampler):
    """Once a second during the open loop (``--timeline``): how busy the cores were, the
    time stolen by the host and spent waiting on the disk (/proc/stat), and, on
    PostgreSQL, the WAL flushes and their time, checkpoints, and the audit table's dead
    row versions (each an insert that lost the race for the chain's next link) and any
    vacuum of it. Printed
    beside each second's answered count and p95, so a stall can be matched with what
    happened on the machine at that moment instead of guessed at."""

    def __init__(self, url: str | None) -> None:
        super().__init__()
        self.url = url
        self.rows: list[dict[str, float]] = []

    @staticmethod
    def _ticks() -> list[int]:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]

    def _pg(self, conn: Any) -> dict[str, float]:
        if conn is None:
            return {}
        wal = conn.execute("SELECT wal_sync, wal_sync_time, wal_fpi FROM pg_stat_wal").fetchone()
        chk = conn.execute(
            "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
        ).fetchone()
        audit = conn.execute(
            "SELECT n_dead_tup, autovacuum_count + vacuum_count FROM pg_stat_user_tables "
            "WHERE relname = 'audit_auditentry'"
        ).fetchone() or (0, 0)
        return {
            "syncs": wal[0],
            "sync_ms": wal[1],
            "fpi": wal[2],
            "checkpoints": chk[0],
            "audit_dead": audit[0],
            "audit_vacuums": audit[1],
        }

    def _run(self) -> None:
        conn = None
        if self.url:
            import psycopg

            conn = psycopg.connect(self.url, autocommit=True)
        try:
            while not self._stop.is_set():
                t = self._ticks()
                row: dict[str, float] = {
                    "at": time.perf_counter(),
                    "busy": sum(t) - t[3] - t[4],
                    "iowait": t[4],
                    "steal": t[7],
                    **self._pg(conn),
                }
                self.rows.append(row)
                self._stop.wait(1.0)
        finally:
            if conn is not None:
                conn.close()

    def report(self, by_due: list[tuple[float, float]], started: float) -> None:
        """Print one line a second: submissions due in that second, their p95, and the
        sampled counters' growth over the same second."""
        buckets: dict[int, list[float]] = {}
        for due, latency in by_due:
            buckets.setdefault(int(due), []).append(latency)
        print(
            "  open loop by second due: n, p95 ms | cores busy %, iowait %, steal % | "
            "WAL syncs, ms each, full pages, checkpoints | audit dead versions, vacuums"
        )
        pairs = list(zip(self.rows, self.rows[1:], strict=False))
        cores = os.cpu_count() or 1
        for second in sorted(buckets):
            lat = sorted(buckets[second])
            p95 = lat[int(0.95 * (len(lat) - 1))] * 1000
            line = f"    {second:>3}s  {len(lat):>4} {p95:>8.1f} |"
            # The sample pair whose interval covers the middle of this second.
            mid = started + second + 0.5
            pair = next((p for p in pairs if p[0]["at"] <= mid < p[1]["at"]), None)
            if pair is not None:
                a, b = pair
                span = (b["at"] - a["at"]) * _TICK * cores / 100
                line += (
                    f" {(b['busy'] - a['busy']) / span:>4.0f}"
                    f" {(b['iowait'] - a['iowait']) / span:>4.0f}"
                    f" {(b['steal'] - a['steal']) / span:>4.0f} |"
                )
                if "syncs" in b:
                    syncs = b["syncs"] - a["syncs"]
                    each = (b["sync_ms"] - a["sync_ms"]) / syncs if syncs else 0.0
                    line += (
                        f" {syncs:>5} {each:>6.2f} {b['fpi'] - a['fpi']:>5}"
                        f" {b['checkpoints'] - a['checkpoints']:>2} |"
                        f" {b['audit_dead']:>6} {b['audit_vacuums'] - a['audit_vacuums']:>2}"
                    )
            print(line)


def _database_name(env: dict[str, str]) -> str | None:
    url = env.get("REVERIE_DATABASE_URL")
    return url.rsplit("/", 1)[1].split("?")[0] if url else None


def _pg_wait_sampler(
    env: dict[str, str], waits: bool
) -> WaitSampler | contextlib.nullcontext[None]:
    # Only when asked: its hundred queries a second cost PostgreSQL CPU during the two
    # submission loops and not during the /healthz loop, which would bias the ratio.
    url = env.get("REVERIE_DATABASE_URL")
    if not url or not waits:
        return contextlib.nullcontext()
    return WaitSampler(PG_ADMIN_URL, _database_name(env) or "")


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: str) -> tuple[str, int, float, str] | None:
    """(command name, process group, CPU seconds, start time) of one process, or None if
    it is gone. The start time tells a process from a later one given the same pid."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state ppid pgrp ... utime (14th field overall) and stime (15th).
    # A kernel thread (the file system journal, network soft interrupts) is a child of
    # kthreadd (pid 2); its group is reported as -2.
    group = -2 if fields[1] == "2" else int(fields[2])
    return name, group, (int(fields[11]) + int(fields[12])) / _TICK, fields[19]


def _serves(pid: str, database: str | None) -> bool:
    """Whether PostgreSQL process ``pid`` works for ``database``: a background process
    (WAL writer, checkpointer, ...) or a backend connected to it, but not another
    program's backend."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    words = title.replace("\0", " ").split()
    # "postgres: [CLUSTER:] USER DATABASE HOST(PORT) STATE" for a backend (HOST(PORT) is
    # "[local]" on a Unix socket); "postgres: [CLUSTER:] walwriter" and so on otherwise.
    for i, word in enumerate(words):
        if i >= 2 and (word == "[local]" or (word.endswith(")") and "(" in word)):
            return words[i - 1] == database
    return True


@dataclass
class CpuSnapshot:
    """CPU seconds so far of every process that serves a request, by part, and of the
    machine's cores (:func:`cpu_snapshot`)."""

    #: (pid, start time) -> (part, CPU seconds)
    procs: dict[tuple[str, str], tuple[str, float]]
    machine: float


PARTS = ("server", "postgres", "generator", "kernel threads")


def cpu_snapshot(server_group: int, database: str | None = None) -> CpuSnapshot:
    """CPU seconds so far of the parts that serve a request, read from /proc (Linux).

    - ``server``: the ``reverie serve`` process group (gunicorn and its workers);
    - ``postgres``: the backends connected to ``database`` and PostgreSQL's background
      processes (the WAL writer and checkpointer that commits rely on);
    - ``generator``: this script (the load generator's threads);
    - ``kernel threads``: the kernel's own threads (the file system journal that each
      flushed commit waits for, deferred network work);
    - ``machine``: every core's busy time (from /proc/stat), so the kernel's work on
      behalf of the processes (TCP on loopback) and any other program running too,
      which is why the parts are printed beside it.

    Kept per process, because processes come and go during a loop: a worker's database
    connection is closed after ``REVERIE_DB_CONN_MAX_AGE`` and a new backend serves the
    next request. Summing the parts at each snapshot instead subtracted an exited
    backend's whole CPU time from the next loop's (negative PostgreSQL figures for
    ``/healthz`` in bench/RESULTS.md before 2026-12-07, 07:20 UTC).
    """
    procs: dict[tuple[str, str], tuple[str, float]] = {}
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        info = _proc_cpu(pid)
        if info is None:
            continue
        name, group, seconds, started = info
        if int(pid) == me:
            part = "generator"
        elif group == server_group:
            part = "server"
        elif group == -2:
            part = "kernel threads"
        elif name.startswith("postgres") and _serves(pid, database):
            part = "postgres"
        else:
            continue
        procs[(pid, started)] = (part, seconds)
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(x) for x in fields]
    # user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    machine = (sum(ticks[:8]) - ticks[3] - ticks[4]) / _TICK
    return CpuSnapshot(procs, machine)


def _cpu_per_request(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request by part between two snapshots: each process's
    growth, a process started in between counted from zero. A process that exited in
    between is left out (its last seconds cannot be read any more); ``exited`` counts
    them, so a figure that may be short says so."""
    parts = dict.fromkeys(PARTS, 0.0)
    for key, (part, seconds) in after.procs.items():
        parts[part] += seconds - before.procs.get(key, (part, 0.0))[1]
    per = {k: v * 1000 / max(requests, 1) for k, v in parts.items()}
    per["machine"] = (after.machine - before.machine) * 1000 / max(requests, 1)
    per["exited"] = float(len(set(before.procs) - set(after.procs)))
    return per


def bench(
    db: str,
    seconds: float,
    n_clients: int,
    rate: float,
    workers: int | None,
    threads: int | None,
    waits: bool = False,
    timeline: bool = False,
    slices: int = 4,
) -> dict[str, Any]:
    port = free_port()
    with environment(db, port) as env:
        # Unset, the server runs with its shipped defaults (what an operator gets).
        if workers:
            env["REVERIE_WEB_WORKERS"] = str(workers)
        if threads:
            env["REVERIE_WEB_THREADS"] = str(threads)
        subprocess.run([*REVERIE, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
        database = _database_name(env)
        if timeline and database:
            import psycopg

            # The flush timings pg_stat_wal reports are collected only with this on; set
            # for the throw-away database alone (each backend times its own flushes).
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{database}" SET track_wal_io_timing = on')
        setup = run_py(SETUP, env, str(n_clients))
        server = subprocess.Popen(  # noqa: S603  (the reverie command itself)
            [*REVERIE, "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        result: dict[str, Any] = {"db": db}
        try:
            wait_ready(port)
            result["load_before"] = os.getloadavg()[0]
            token, clients = setup["token"], setup["clients"]
            # Warm every worker (imports, connections, prepared statements) before timing.
            result["warm"] = load(port, token, clients, 3.0, None, "warm")
            with (
                _pg_wait_sampler(env, waits) as sampler,
                TimelineSampler(env.get("REVERIE_DATABASE_URL"))
                if timeline
                else contextlib.nullcontext() as tracker,
            ):
                result["open"] = load(port, token, clients, seconds, rate, "open")
            result["open_waits"] = sampler.summary() if sampler else []
            result["timeline"] = tracker
            # The ceiling and the /healthz floor run in alternating slices (closed, floor,
            # closed, floor, ...), so that the machine's speed, which on a shared host moves
            # by half within a minute (bench/RESULTS.md, 2026-12-07 12:21), falls on both
            # sides of the share alike; --slices 1 runs each once, one after the other.
            closed_parts: list[dict[str, Any]] = []
            trivial_parts: list[dict[str, Any]] = []
            cpu_closed: list[tuple[CpuSnapshot, CpuSnapshot]] = []
            cpu_trivial: list[tuple[CpuSnapshot, CpuSnapshot]] = []
            waits_closed: list[list[tuple[str, float]]] = []
            for i in range(slices):
                # Each slice its own phase name: submissions are identified by phase and
                # number, and a repeated identifier would be answered as a retry (200).
                name = "closed" if slices == 1 else f"closed{i + 1}"
                cpu0 = cpu_snapshot(server.pid, database)
                with _pg_wait_sampler(env, waits) as sampler:
                    closed_parts.append(load(port, token, clients, seconds / slices, None, name))
                waits_closed.append(sampler.summary() if sampler else [])
                cpu1 = cpu_snapshot(server.pid, database)
                trivial_parts.append(
                    load(
                        port,
                        token,
                        clients,
                        min(seconds, 10.0) / slices,
                        None,
                        f"trivial{i + 1}",
                        path="/healthz",
                    )
                )
                cpu2 = cpu_snapshot(server.pid, database)
                cpu_closed.append((cpu0, cpu1))
                cpu_trivial.append((cpu1, cpu2))
            result["closed"] = merge_loads(closed_parts)
            result["trivial"] = merge_loads(trivial_parts)
            result["slice_shares"] = [
                c["rate"] / t["rate"] if t["rate"] else 0.0
                for c, t in zip(closed_parts, trivial_parts, strict=True)
            ]
            # Slices of equal length: each state's share over the loop is the mean of theirs.
            shares: dict[str, float] = {}
            for summary in waits_closed:
                for label, part in summary:
                    shares[label] = shares.get(label, 0.0) + part / len(waits_closed)
            result["closed_waits"] = sorted(shares.items(), key=lambda x: -x[1])
            result["cpu_closed"] = _cpu_per_request_over(cpu_closed, result["closed"]["requests"])
            result["cpu_trivial"] = _cpu_per_request_over(
                cpu_trivial, result["trivial"]["requests"]
            )
            cores = os.cpu_count() or 1
            result["busy_closed"] = sum(b.machine - a.machine for a, b in cpu_closed) / (
                result["closed"]["elapsed"] * cores
            )
            result["busy_trivial"] = sum(b.machine - a.machine for a, b in cpu_trivial) / (
                result["trivial"]["elapsed"] * cores
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        counted = run_py(COUNT, env)
        raw = run_py(RAW_INSERTS, env, str(min(seconds, 10.0)))
    acknowledged = sum(
        load_result["statuses"].get(201, 0) + load_result["statuses"].get(200, 0)
        for name, load_result in result.items()
        if name in ("warm", "open", "closed")
    )
    result.update(counted)
    result["acknowledged"] = acknowledged
    result["lost"] = acknowledged - counted["stored"]
    result["raw_rate"] = raw["rate"]
    return result


def _cpu_per_request_over(
    spans: list[tuple[CpuSnapshot, CpuSnapshot]], requests: int
) -> dict[str, float]:
    """:func:`_cpu_per_request` summed over several (before, after) spans."""
    total: dict[str, float] = {}
    for before, after in spans:
        for key, value in _cpu_per_request(before, after, requests).items():
            total[key] = total.get(key, 0.0) + value
    return total


def _line(label: str, r: dict[str, Any], verdict: str) -> str:
    other = sum(v for k, v in r["statuses"].items() if k not in (200, 201)) + r["errors"]
    return (
        f"  {label:<26} {r['acknowledged']:>8} {r['rate']:>8.1f} {r['p50'] * 1000:>7.1f} "
        f"{r['p95'] * 1000:>7.1f} {r['max'] * 1000:>8.1f} {other:>6}  {verdict}"
    )


#: The issue-13 target: the ceiling must reach this share of ``GET /healthz`` on the same
#: server, so the figure does not depend on how fast (or how loaded) the machine is.
CEILING_SHARE = 0.25


def verdict(r: dict[str, Any], rate: float) -> tuple[bool, list[str]]:
    """Whether one run met the targets, and the reasons it did not."""
    o, c, t = r["open"], r["closed"], r["trivial"]
    share = c["rate"] / t["rate"] if t["rate"] else 0.0
    failures = []
    if o["rate"] < rate * 0.99:
        failures.append(f"answered {o['rate']:.0f}/s of {rate:.0f}/s offered")
    if not o["p95"] < 0.1:
        failures.append(f"open-loop p95 {o['p95'] * 1000:.0f} ms >= 100 ms")
    if share < CEILING_SHARE:
        failures.append(f"ceiling {share:.3f} of /healthz < {CEILING_SHARE}")
    if r["lost"]:
        failures.append(f"{r['lost']} acknowledged submissions lost")
    if not r["chain_ok"]:
        failures.append("audit chain does not verify")
    return not failures, failures


def report(r: dict[str, Any], rate: float, waits: bool) -> bool:
    o, c, t = r["open"], r["closed"], r["trivial"]
    met, failures = verdict(r, rate)
    share = c["rate"] / t["rate"] if t["rate"] else 0.0
    if r.get("timeline") is not None:
        r["timeline"].report(o["by_due"], o["started"])
    print(f"\n{r['db']} (1-min load average before the run {r['load_before']:.2f})")
    print(
        f"  {'phase':<26} {'answered':>8} {'rate/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'max ms':>8} {'errors':>6}"
    )
    print(_line(f"open loop, {rate:.0f}/s offered", o, "target: p95 < 100 ms"))
    print(_line("closed loop (ceiling)", c, f"{share:.3f} of /healthz (target >= 0.25)"))
    print(_line("trivial endpoint (floor)", t, "GET /healthz, same server"))
    if len(r.get("slice_shares", [])) > 1:
        shares = ", ".join(f"{x:.2f}" for x in r["slice_shares"])
        print(
            f"  closed loop and /healthz alternated in {len(r['slice_shares'])} slices; "
            f"share in each slice: {shares}"
        )
    print(f"  raw inserts of the same rows: {r['raw_rate']:.0f}/s (one connection, no HTTP)")
    print(
        f"  acknowledged {r['acknowledged']}, stored {r['stored']}, lost {r['lost']}, "
        f"audit 'create' rows {r['audit_creates']}, audit chain verifies: {r['chain_ok']}"
    )
    print("  CPU ms per request (server = gunicorn + workers; machine = all cores' busy time):")
    for phase, label in (("closed", "closed loop"), ("trivial", "/healthz")):
        per = r[f"cpu_{phase}"]
        print(
            f"    {label:<12} server {per['server']:.3f}  postgres {per['postgres']:.3f}  "
            f"generator {per['generator']:.3f}  kthreads {per['kernel threads']:.3f}  "
            f"machine {per['machine']:.3f}  "
            f"(cores busy {r[f'busy_{phase}'] * 100:.0f} %)"
            + (f", {per['exited']:.0f} exited in between" if per["exited"] else "")
        )
    if waits:
        for phase in ("open", "closed"):
            shares = r.get(f"{phase}_waits") or []
            if shares:
                print(f"  PostgreSQL sessions during the {phase} loop (share of samples):")
                for label, part in shares[:8]:
                    print(f"    {part * 100:5.1f} %  {label}")
    print(f"  target met: {'yes' if met else 'NO (' + '; '.join(failures) + ')'}")
    sys.stdout.flush()
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=300.0, help="offered rate, open loop")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=1, help="repeat each database N times")
    parser.add_argument(
        "--waits",
        action="store_true",
        help="print what PostgreSQL's sessions were doing during each loop (sampled)",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print the open loop second by second beside the machine's and PostgreSQL's "
        "counters (stolen time, disk waits, WAL flushes, checkpoints, the audit head's table)",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=4,
        help="run the closed loop and the /healthz loop in N alternating slices (1: each "
        "once, one after the other)",
    )
    parser.add_argument("--workers", type=int, help="override REVERIE_WEB_WORKERS")
    parser.add_argument("--threads", type=int, help="override REVERIE_WEB_THREADS")
    parser.add_argument(
        "--pg-socket",
        metavar="DIR",
        help="reach PostgreSQL through its Unix socket in DIR (e.g. /var/run/postgresql) "
        "instead of TCP on 127.0.0.1",
    )
    parser.add_argument(
        "--prefer",
        choices=PREFER_CHOICES,
        help="send Prefer: return=... with every submission (default: no Prefer header)",
    )
    args = parser.parse_args()
    global PG_SOCKET, PREFER
    PG_SOCKET = args.pg_socket
    PREFER = args.prefer
    shape = (
        f"{args.workers or 'default'} workers x {args.threads or 'default'} threads"
        if args.workers or args.threads
        else "shipped defaults"
    )
    synchronous = os.environ.get("REVERIE_SQLITE_SYNCHRONOUS", "FULL (default)")
    print(
        f"FHIR submissions: {args.clients} concurrent clients, {args.seconds:.0f} s per phase, "
        f"reverie serve with {shape}, {os.cpu_count()} CPU cores, "
        f"Python {sys.version.split()[0]}, SQLite synchronous={synchronous}"
        + (f", Prefer: return={PREFER}" if PREFER else "")
    )
    passed: dict[str, list[bool]] = {}
    for run in range(1, args.runs + 1):
        for db in [d.strip() for d in args.db.split(",") if d.strip()]:
            if args.runs > 1:
                print(f"\n--- run {run} of {args.runs}: {db}")
            r = bench(
                db,
                args.seconds,
                args.clients,
                args.rate,
                args.workers,
                args.threads,
                args.waits,
                args.timeline,
                args.slices,
            )
            passed.setdefault(db, []).append(report(r, args.rate, args.waits))
    if args.runs > 1:
        print()
        for db, results in passed.items():
            marks = " ".join("pass" if ok else "FAIL" for ok in results)
            print(f"{db}: {sum(results)} of {len(results)} runs met the target ({marks})")


if __name__ == "__main__":
    main()
