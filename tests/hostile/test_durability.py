"""Kill the server mid-load: every acknowledged submission is stored exactly once.

``reverie serve`` (gunicorn, the production server) runs as a subprocess on a free port
against a database of its own: a fresh SQLite file, or, when the suite runs on PostgreSQL
(``REVERIE_DATABASE_URL``), a throw-away database on the same server. Threads post portal
submissions (``/api/v1/measures/requests/{id}/submit`` with a client's token, as the portal
does) and FHIR QuestionnaireResponses (a therapist's token, a unique ``identifier`` each)
concurrently. A few seconds in, the whole server (master and workers) gets SIGKILL, with
requests in flight; it is started again and the senders retry what was not answered, with
the same ``Idempotency-Key`` or ``identifier``, as a real client would. Then each
acknowledged (2xx) submission must have exactly one row, no submission may have two, and
the audit chain must verify.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 12
#: Seconds of load before the kill, and after the restart.
BEFORE_KILL = 3.0
AFTER_RESTART = 3.0
FHIR_SENDERS = 4
PORTAL_SENDERS = 2

SETUP = r"""
import datetime, json, sys, django
django.setup()
from django.utils import timezone
from reverie.accounts import actions
from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.care.models import Client, Episode
from reverie.measures import scheduling
from reverie.measures.models import Instrument
from reverie.measures.registry import sync_shipped_instruments
sync_shipped_instruments()
ctx = trail.system("durability-test")
practice = Practice.objects.create(slug="durable", name="Durability Practice (synthetic)")
therapist = User.objects.create_user("t@durable.test", practice=practice, role=Role.THERAPIST)
_, therapist_token = actions.create_token(ctx, therapist, "fhir")
clients, requests = [], []
# Clients 0..n-1 answer their open requests through the portal; clients n..2n-1, who have
# none, get the FHIR submissions (a FHIR response for a client with an open request of the
# same questionnaire fulfils that request, and the two channels would then compete).
for n in range(2 * int(sys.argv[1])):
    user = User.objects.create_user(f"c{n}@durable.test", practice=practice, role=Role.CLIENT)
    client = Client.objects.create(practice=practice, user=user, given_name=f"C{n}",
                                   family_name="Synthetic")
    episode = Episode.objects.create(client=client, therapist=therapist,
                                     modality="psychodynamic",
                                     start_date=timezone.localdate(), status="active")
    _, token = actions.create_token(ctx, user, "portal")
    if n >= int(sys.argv[1]):
        clients.append(client.pk)
        continue
    for code in ("phq-9", "gad-7"):
        request = scheduling.create_manual_request(
            ctx, episode=episode, instrument=Instrument.objects.get(code=code),
            now=timezone.now() - datetime.timedelta(minutes=1))
        requests.append({"id": request.pk, "code": code, "token": token})
print(json.dumps({"token": therapist_token, "clients": clients, "requests": requests}))
"""

COUNT = r"""
import json, django
django.setup()
from reverie.audit import trail
from reverie.measures.models import Administration
fhir = [a.identifier.get("value") for a in Administration.objects.filter(source="fhir")]
portal = list(Administration.objects.filter(source="portal").values_list("request_id", flat=True))
print(json.dumps({"fhir": fhir, "portal": portal, "chain_ok": trail.verify().ok}))
"""

FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(code: str, env: dict[str, str], *args: str) -> Any:
    out = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _environment(port: int) -> Iterator[dict[str, str]]:
    from cryptography.fernet import Fernet

    data_dir = tempfile.mkdtemp(prefix="reverie-durability-")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "reverie.settings",
        "REVERIE_DATA_DIR": data_dir,
        "REVERIE_SECRET_KEY": "durability-" + "k" * 40,
        "REVERIE_AUDIT_KEYS": "durability-audit-" + "k" * 40,
        "REVERIE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "REVERIE_BIND": f"127.0.0.1:{port}",
        "REVERIE_BASE_URL": f"http://127.0.0.1:{port}",
        "REVERIE_LOG_LEVEL": "ERROR",
        "REVERIE_WEB_WORKERS": "2",
    }
    url = os.environ.get("REVERIE_DATABASE_URL", "")
    db_name = f"rv_durability_{os.getpid()}"
    admin_url = ""
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["REVERIE_DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{db_name}"))
    try:
        yield env
    finally:
        if admin_url:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", data_dir], check=False)  # noqa: S603, S607


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "reverie", "serve"],
        env=env,
        start_new_session=True,  # its own process group: SIGKILL reaches every worker
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        time.sleep(0.1)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("reverie serve did not answer /healthz within 60 s")


def _kill(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


def _send(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> int | None:
    """The status of one POST, or ``None`` when no answer came (the server was down)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", path, json.dumps(body), headers)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


class Load:
    """The senders' shared state: what was acknowledged, and when to stop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acknowledged: Counter[str] = Counter()
        self.unanswered = 0
        self.refused: Counter[int] = Counter()

    def deliver(
        self, port: int, key: str, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        """Send until answered, as a client retrying with the same key would."""
        while True:
            status = _send(port, path, body, headers)
            with self.lock:
                if status is None:
                    self.unanswered += 1
                elif 200 <= status < 300:
                    self.acknowledged[key] += 1
                    return
                else:
                    self.refused[status] += 1
                    return
            if self.stop.is_set() and status is None:
                return  # the test is over; an unanswered submission is not acknowledged
            time.sleep(0.05)


def _fhir_sender(load: Load, port: int, setup: dict[str, Any], index: int) -> None:
    headers = {
        "Content-Type": "application/fhir+json",
        "Authorization": f"Bearer {setup['token']}",
    }
    n = 0
    while not load.stop.is_set():
        n += 1
        identifier = f"s{index}-{n}-{uuid.uuid4().hex[:8]}"
        client = setup["clients"][n % len(setup["clients"])]
        body = {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": f"http://127.0.0.1:{port}/fhir/Questionnaire/phq-9",
            "subject": {"reference": f"Patient/{client}"},
            "identifier": {"system": "urn:durability-test", "value": identifier},
            "item": [
                {
                    "linkId": f"phq9-{i}",
                    "answer": [
                        {
                            "valueCoding": {
                                "system": "http://loinc.org",
                                "code": FREQUENCY[(n + i) % 3],
                            }
                        }
                    ],
                }
                for i in range(1, 10)
            ],
        }
        load.deliver(port, f"fhir:{identifier}", "/fhir/QuestionnaireResponse", body, headers)


def _portal_sender(load: Load, port: int, requests: list[dict[str, Any]]) -> None:
    for request in requests:
        if load.stop.is_set():
            return
        items = 9 if request["code"] == "phq-9" else 7
        prefix = "phq9" if request["code"] == "phq-9" else "gad7"
        answers: dict[str, int | None] = {f"{prefix}-{i}": 1 for i in range(1, items + 1)}
        if prefix == "phq9":
            answers["phq9-difficulty"] = 1
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {request['token']}",
            "Idempotency-Key": f"durability-{request['id']}",
        }
        path = f"/api/v1/measures/requests/{request['id']}/submit"
        load.deliver(port, f"portal:{request['id']}", path, {"answers": answers}, headers)
        time.sleep(0.1)  # spread the portal's submissions over the whole run


def test_killing_the_server_mid_load_loses_no_acknowledged_submission(record_property) -> None:
    started = time.monotonic()
    port = _free_port()
    with _environment(port) as env:
        subprocess.run(
            [sys.executable, "-m", "reverie", "migrate", "-v0"],
            env=env,
            check=True,
            capture_output=True,
        )
        setup = _run(SETUP, env, str(CLIENTS))
        server = _start(env, port)
        load = Load()
        portal = setup["requests"]
        senders = [
            threading.Thread(target=_fhir_sender, args=(load, port, setup, i))
            for i in range(FHIR_SENDERS)
        ] + [
            threading.Thread(target=_portal_sender, args=(load, port, portal[i::PORTAL_SENDERS]))
            for i in range(PORTAL_SENDERS)
        ]
        for sender in senders:
            sender.start()
        try:
            time.sleep(BEFORE_KILL)
            before_kill = sum(load.acknowledged.values())
            _kill(server)
            server = _start(env, port)
            time.sleep(AFTER_RESTART)
        finally:
            load.stop.set()
            for sender in senders:
                sender.join(timeout=30)
            _kill(server)
        stored = _run(COUNT, env)

    rows = Counter(f"fhir:{v}" for v in stored["fhir"]) + Counter(
        f"portal:{r}" for r in stored["portal"]
    )
    acknowledged = set(load.acknowledged)
    lost = sorted(k for k in acknowledged if rows[k] == 0)
    doubled = sorted(k for k, n in rows.items() if n > 1)
    record_property(
        "hostile",
        f"durability ({'PostgreSQL' if 'REVERIE_DATABASE_URL' in os.environ else 'SQLite'}): "
        f"{len(acknowledged)} acknowledged ({before_kill} before the SIGKILL), "
        f"{load.unanswered} attempts unanswered while the server was down, refused "
        f"{dict(load.refused)}, {len(lost)} lost, {len(doubled)} stored twice, "
        f"{time.monotonic() - started:.0f} s",
    )
    assert before_kill > 0 and len(acknowledged) > before_kill, "the load did not run"
    assert load.unanswered > 0, "the kill happened with nothing in flight"
    assert not lost, lost[:10]
    assert not doubled, doubled[:10]
    assert not load.refused, load.refused
    assert stored["chain_ok"]
