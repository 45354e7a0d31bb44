"""The data directory and everything in it are private to the service's account.

These run the real ``reverie`` command in a fresh process with a fresh data directory,
so the umask, the settings and the database backend are exercised the way an operator
meets them. The parent's umask is set to the usual 022 for each child, so a private
result cannot come from the test environment.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import reverie
from reverie import cli

SRC = str(Path(reverie.__file__).resolve().parents[1])

#: Sends one mail (written to DATA_DIR/outbox/ without a mail server) and reports the
#: modes of everything while a write transaction holds the WAL and shared-memory files.
PROBE = """
import json, os
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
send_mail("subject", "body", None, ["someone@example.org"])
data = settings.DATA_DIR
with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (n integer)")
        cursor.execute("INSERT INTO probe VALUES (1)")
    outbox = data / "outbox"
    paths = {"data_dir": data, "db": data / "reverie.sqlite3",
             "wal": data / "reverie.sqlite3-wal", "shm": data / "reverie.sqlite3-shm",
             "outbox": outbox, "mail": next(outbox.iterdir())}
    print(json.dumps({k: oct(os.stat(p).st_mode & 0o777) for k, p in paths.items()}))
"""


def _reverie(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REVERIE_", "DJANGO_"))
    }
    env.update({"PYTHONPATH": SRC, "REVERIE_DATA_DIR": str(data_dir)})
    return subprocess.run(  # noqa: S603  (this interpreter running Reverie itself)
        [sys.executable, "-m", "reverie", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        umask=0o022,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_directory_database_wal_and_mail_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    _reverie(data, "migrate", "-v", "0")
    assert _mode(data) == 0o700
    assert _mode(data / "reverie.sqlite3") == 0o600
    modes = json.loads(_reverie(data, "shell", "-c", PROBE).stdout.strip().splitlines()[-1])
    assert modes == {
        "data_dir": "0o700",
        "db": "0o600",
        "wal": "0o600",
        "shm": "0o600",
        "outbox": "0o700",
        "mail": "0o600",
    }


def test_an_exposed_data_directory_is_narrowed_at_start_and_the_change_logged(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    (data / "outbox").mkdir(parents=True)
    database = data / "reverie.sqlite3"
    database.touch()
    mail = data / "outbox" / "20260101-reset.log"
    mail.write_text("a password-reset link", encoding="utf-8")
    (data / "audit-checkpoints").mkdir()
    checkpoint = data / "audit-checkpoints" / "audit-checkpoints.jsonl"
    checkpoint.write_text("", encoding="utf-8")
    exposed = {
        data: 0o755,
        data / "outbox": 0o755,
        data / "audit-checkpoints": 0o755,
        database: 0o644,
        mail: 0o644,
        checkpoint: 0o644,
    }
    for path, mode in exposed.items():
        path.chmod(mode)
    result = _reverie(data, "check")
    assert {path: _mode(path) for path in exposed} == {
        path: 0o700 if path.is_dir() else 0o600 for path in exposed
    }
    assert f"{data} was readable by other accounts (mode 755); narrowed to 700" in result.stderr
    assert f"{mail} was readable by other accounts (mode 644); narrowed to 600" in result.stderr


def test_the_web_entry_point_sets_the_private_umask(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVERIE_", "DJANGO_"))}
    env.update({"PYTHONPATH": SRC, "REVERIE_DATA_DIR": str(tmp_path)})
    out = subprocess.run(
        [sys.executable, "-c", "import os, reverie.wsgi; print(oct(os.umask(0)))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        umask=0o022,
    )
    assert out.stdout.strip() == "0o77"


def test_demo_keys_are_written_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "REVERIE_SECRET_KEY",
        "REVERIE_SECRET_KEY_FILE",
        "REVERIE_ENCRYPTION_KEYS",
        "REVERIE_ENCRYPTION_KEYS_FILE",
        "REVERIE_AUDIT_KEYS",
        "REVERIE_AUDIT_KEYS_FILE",
        "REVERIE_DEMO",
    ):
        # Set, then removed: monkeypatch then restores each after the test, including
        # the ones _demo_environment sets itself.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("REVERIE_DATA_DIR", str(tmp_path / "demo"))
    previous = os.umask(0o022)
    try:
        cli._demo_environment()
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "demo") == 0o700
    assert _mode(tmp_path / "demo" / "demo-secret-key") == 0o600
    assert _mode(tmp_path / "demo" / "demo-encryption-key") == 0o600
    assert _mode(tmp_path / "demo" / "demo-audit-key") == 0o600
