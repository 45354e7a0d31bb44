"""Backup and restore, end to end, on the database the suite runs on (SQLite or
PostgreSQL): the seeded demo practice is backed up, the database emptied, the archive
restored, and every client's export and every table compared with before. On
PostgreSQL, a SQLite archive is also restored into PostgreSQL (moving engines)."""

from __future__ import annotations

import datetime
import functools
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyrage
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from pyrage import x25519

from reverie.audit import protection, trail
from reverie.audit.models import Action, AuditEntry
from reverie.backups import actions, archive, snapshot
from reverie.backups.archive import ArchiveError
from reverie.backups.models import BackupRun
from reverie.backups.restore import restore
from reverie.demo import seed
from reverie.demo.model import generate_practice
from reverie.demo.seed import ensure_demo
from reverie.paperwork import storage
from reverie.testing import World

TODAY = datetime.date(2026, 11, 22)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

_spec = importlib.util.spec_from_file_location("backup_fingerprint", HERE / "fingerprint.py")
assert _spec and _spec.loader
_fingerprint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fingerprint)
fingerprint = _fingerprint.fingerprint


def _seed_small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo practice with every kind of record, at a fifth of its size: the
    comparison reads every client's whole export twice."""
    monkeypatch.setattr(
        seed, "generate_practice", functools.partial(generate_practice, n_clients=12)
    )
    ensure_demo(TODAY)


def _backup(tmp_path: Path) -> Path:
    made = actions.create(trail.system("test"), tmp_path / "out", by="test")
    return Path(made.run.path)


def _empty_the_database() -> None:
    """What a fresh database looks like to restore: migrated, nothing in it. The audit
    triggers are lifted for the flush only, as the suite's own teardown does."""
    with connection.cursor() as cursor:
        protection.remove(cursor, connection.vendor)
    call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        protection.install(cursor, connection.vendor)


def _row_total() -> int:
    with connection.cursor() as cursor:
        total = 0
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            total += cursor.fetchone()[0]
    return total


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_gives_back_every_client_and_every_row(
    backup_key: x25519.Identity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_small_demo(monkeypatch)
    before = fingerprint()
    assert len(before["clients"]) >= 12
    archive_path = _backup(tmp_path)

    # Into a database that still holds the practice: refused, and nothing changes.
    rows = _row_total()
    with pytest.raises(ArchiveError, match="the database is not empty"):
        restore(archive_path, by="test")
    assert _row_total() == rows

    _empty_the_database()
    # A new data folder, as on a new machine: without the documents.
    storage.root().rename(tmp_path / "documents-before")
    done = restore(archive_path, by="test")

    assert fingerprint() == before
    assert done.documents == len(before["documents"]) > 0
    assert done.manifest["engine"] == connection.vendor
    # On SQLite the checked snapshot became the database by a rename (no second write).
    assert done.method == (
        "snapshot renamed into place" if connection.vendor == "sqlite" else "pg_restore"
    )
    # The restored trail is the snapshot's (the backup's own entries, its run row and the
    # export, came after the snapshot), plus the restore's entry, and it verifies.
    restored_seq, _ = trail.head()
    assert restored_seq == done.manifest["audit_head"]["seq"] + 1
    last = AuditEntry.objects.get(seq=restored_seq)
    assert (last.action, last.actor_label) == (Action.IMPORT, "system:test")
    assert trail.verify(use_checkpoints=False).ok
    # Every entry of the backup's trail was checked (the restore's own entry may come after).
    assert done.audit_checked >= done.manifest["audit_head"]["seq"]
    if connection.vendor == "postgresql":
        # The planner has statistics for the restored tables at once (ANALYZE), not only
        # when autovacuum gets to them.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'audit_auditentry'")
            assert cursor.fetchone()[0] > 0


def _last_two(app: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """``app``'s last migration and the one before it."""
    graph = MigrationExecutor(connection).loader.graph
    (leaf,) = graph.leaf_nodes(app)
    (parent,) = [p for p in graph.node_map[leaf].parents if p[0] == app]
    return parent.key, leaf


#: The app whose last migration an "older" archive lacks: one that nothing depends on and
#: whose table the demo leaves empty, so that going back and forth loses no data.
OLDER_APP = "lifecycle"


def _pending() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [m.app_label + "." + m.name for m, _ in plan]  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_archive_older_than_this_reverie_is_migrated_forward_on_restore(
    backup_key: x25519.Identity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_small_demo(monkeypatch)
    before = fingerprint()
    # The archive of a Reverie one migration behind: lifecycle's last migration unapplied.
    older, latest = _last_two(OLDER_APP)
    MigrationExecutor(connection).migrate([older])
    try:
        archive_path = _backup(tmp_path)
        MigrationExecutor(connection).migrate([latest])  # this Reverie,
        _empty_the_database()  # empty (the backup's own run row and audit entries go)
        storage.root().rename(tmp_path / "documents-before")
        done = restore(archive_path, by="test")
        assert latest[1] not in done.manifest["migrations"][OLDER_APP]
        assert done.migrated
        assert _pending() == []
        assert latest in MigrationRecorder(connection).applied_migrations()
        # Every row and every client's record as before, and the trail verifies.
        assert fingerprint() == before
        assert trail.verify(use_checkpoints=False).ok
        assert done.audit_checked >= done.manifest["audit_head"]["seq"] > 0
    finally:
        # The rest of the suite expects the latest schema whatever happened here.
        MigrationExecutor(connection).migrate([latest])


def test_the_manifest_records_counts_migrations_audit_head_and_hashes(
    world: World, backup_key: x25519.Identity, tmp_path: Path
) -> None:
    # A backup works from its own connection, so it sees what is committed: here the
    # migrated database without the test's uncommitted world.
    archive_path = _backup(tmp_path)
    unpacked = archive.unpack(archive_path, [backup_key], _folder(tmp_path))
    manifest = unpacked.manifest
    assert manifest["format"] == archive.FORMAT
    assert manifest["engine"] == connection.vendor
    assert "0001_backup_runs" in manifest["migrations"]["backups"]
    assert manifest["tables"]["accounts_practice"] == 0
    assert manifest["tables"]["django_migrations"] > 30
    assert manifest["audit_head"]["seq"] == 0
    (name,) = manifest["members"]
    member = unpacked.member(name)
    assert manifest["members"][name]["sha256"] == archive.sha256_file(member)
    # Recorded as an export by the system, with the archive named.
    run = BackupRun.objects.get(ok=True)
    assert run.path == str(archive_path)
    assert run.sha256 == archive.sha256_file(archive_path)
    entry = AuditEntry.objects.get(action=Action.EXPORT, object_type="backups.backuprun")
    assert entry.actor_label == "system:test"
    assert entry.detail["file"] == archive_path.name


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "unpacked"
    folder.mkdir()
    return folder


def test_an_archive_with_a_flipped_bit_is_refused_and_writes_nothing(
    world: World, backup_key: x25519.Identity, tmp_path: Path
) -> None:
    archive_path = _backup(tmp_path)
    data = bytearray(archive_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive_path.write_bytes(bytes(data))
    rows = _row_total()
    with pytest.raises(ArchiveError, match=r"cannot be decrypted.*changed or damaged"):
        restore(archive_path, by="test")
    assert _row_total() == rows
    assert list(Path(settings.DATA_DIR).glob(".restore-*")) == []


def _rewritten(
    archive_path: Path,
    key: x25519.Identity,
    tmp_path: Path,
    change: Callable[[Path], None],
) -> None:
    """Decrypt the archive, let ``change`` alter its unpacked members, and encrypt it again
    to the backup key in place, manifest first: what anyone holding the public key can do."""
    plain = tmp_path / "plain.tar"
    pyrage.decrypt_file(str(archive_path), str(plain), [key])
    unpacked = tmp_path / "x"
    with tarfile.open(plain) as tar:
        tar.extractall(unpacked, filter="data")
    change(unpacked)
    again = tmp_path / "again.tar"
    with tarfile.open(again, "w") as tar:
        tar.add(unpacked / archive.MANIFEST, arcname=archive.MANIFEST)
        for member in sorted(unpacked.iterdir()):
            if member.name != archive.MANIFEST:
                tar.add(member, arcname=member.name)
    pyrage.encrypt_file(str(again), str(archive_path), [key.to_public()])


def test_an_archive_with_a_swapped_member_is_refused_and_writes_nothing(
    world: World, backup_key: x25519.Identity, tmp_path: Path
) -> None:
    # Someone with the public key re-encrypts the tar with an altered database but the
    # original manifest: age accepts it, the manifest's hash does not.
    archive_path = _backup(tmp_path)

    def grow_the_database(unpacked: Path) -> None:
        (name,) = [p.name for p in unpacked.iterdir() if p.name != archive.MANIFEST]
        with (unpacked / name).open("ab") as handle:
            handle.write(b"\0" * 4096)

    _rewritten(archive_path, backup_key, tmp_path, grow_the_database)
    rows = _row_total()
    with pytest.raises(ArchiveError, match="does not match the SHA-256 in the manifest"):
        restore(archive_path, by="test")
    assert _row_total() == rows


def test_an_archive_for_another_key_is_refused(
    world: World, backup_key: x25519.Identity, tmp_path: Path, settings
) -> None:
    archive_path = _backup(tmp_path)
    other = tmp_path / "other-identity.txt"
    other.write_text(f"{x25519.Identity.generate()}\n")
    settings.BACKUP_IDENTITY_FILE = str(other)
    with pytest.raises(ArchiveError, match="encrypted to another backup key"):
        restore(archive_path, by="test")


def test_a_non_empty_database_is_refused_with_a_clear_message(
    world: World, backup_key: x25519.Identity, tmp_path: Path
) -> None:
    archive_path = _backup(tmp_path)
    rows = _row_total()
    with pytest.raises(ArchiveError) as caught:
        restore(archive_path, by="test")
    message = str(caught.value)
    assert "the database is not empty" in message
    assert "accounts_practice" in message
    assert "Nothing was changed" in message
    assert _row_total() == rows


def test_without_recipients_no_backup_is_written_and_the_failure_is_recorded(
    world: World, backup_key: x25519.Identity, tmp_path: Path, settings
) -> None:
    settings.BACKUP_RECIPIENTS = []
    with pytest.raises(ArchiveError, match="REVERIE_BACKUP_RECIPIENTS"):
        _backup(tmp_path)
    assert not (tmp_path / "out").exists()
    failed = BackupRun.objects.get()
    assert not failed.ok
    assert "REVERIE_BACKUP_RECIPIENTS" in failed.error


def test_the_commands_back_up_and_refuse_a_non_empty_restore(
    world: World, backup_key: x25519.Identity, tmp_path: Path, capsys
) -> None:
    call_command("backup", "--output", str(tmp_path / "cmd"))
    (written,) = (tmp_path / "cmd").iterdir()
    assert written.name.endswith(archive.SUFFIX)
    assert f"Backup written: {written}" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="restore failed: the database is not empty"):
        call_command("restore", str(written))


def test_pruning_keeps_the_newest_archives_and_nothing_else(tmp_path: Path) -> None:
    names = [
        actions.file_name(datetime.datetime(2027, 3, d, tzinfo=datetime.UTC)) for d in (1, 2, 3)
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    gone = actions.prune(tmp_path, keep=2)
    assert [p.name for p in gone] == [names[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[1:], "notes.txt"])


# --- moving from SQLite to PostgreSQL ---------------------------------------------------


def _sqlite_archive_made_elsewhere(tmp_path: Path, older: tuple[str, str] | None = None) -> Path:
    """A separate process seeds the demo into a SQLite database, fingerprints it
    (``before.json``), migrates it back to ``older`` if given, and backs it up."""
    sqlite_dir = tmp_path / "sqlite"
    sqlite_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "REVERIE_DATABASE_URL"}
    env.update(
        REVERIE_DATA_DIR=str(sqlite_dir),
        REVERIE_AUDIT_KEYS=",".join(settings.AUDIT_KEYS),
        REVERIE_ENCRYPTION_KEYS=",".join(settings.ENCRYPTION_KEYS),
        REVERIE_BACKUP_RECIPIENTS=",".join(settings.BACKUP_RECIPIENTS),
        REVERIE_AUDIT_CHECKPOINT_DIR=str(sqlite_dir / "checkpoints"),
        DJANGO_SETTINGS_MODULE="reverie.settings",
        PYTHONPATH=str(ROOT / "src"),
    )
    seed = (
        "import datetime, django; django.setup(); "
        "from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); "
        "import functools; from reverie.demo import seed, model; "
        "seed.generate_practice = functools.partial(model.generate_practice, n_clients=12); "
        f"seed.ensure_demo(datetime.date({TODAY.year}, {TODAY.month}, {TODAY.day}))"
    )
    _run([sys.executable, "-c", seed], env)
    _run([sys.executable, str(HERE / "fingerprint.py"), str(tmp_path / "before.json")], env)
    if older is not None:
        _run([sys.executable, "-m", "reverie", "migrate", *older, "--verbosity=0"], env)
    _run([sys.executable, "-m", "reverie", "backup", "--output", str(tmp_path / "out")], env)
    (archive_path,) = (tmp_path / "out").iterdir()
    return archive_path


def _same_as_before(tmp_path: Path) -> None:
    before: dict[str, Any] = json.loads((tmp_path / "before.json").read_text())
    after = json.loads(json.dumps(fingerprint(), sort_keys=True, default=str))
    assert after["clients"] == before["clients"]
    assert after["tables"] == before["tables"]
    assert after["documents"] == before["documents"]
    assert trail.verify(use_checkpoints=False).ok


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("REVERIE_DATABASE_URL"), reason="moves a SQLite archive into PostgreSQL"
)
def test_a_sqlite_archive_restores_into_postgresql_with_every_row(
    backup_key: x25519.Identity, tmp_path: Path
) -> None:
    """The archive from another process; this process restores it into the (PostgreSQL)
    test database and compares."""
    archive_path = _sqlite_archive_made_elsewhere(tmp_path)

    done = restore(archive_path, by="test")

    assert done.manifest["engine"] == "sqlite"
    assert done.method.startswith("copy")
    assert not done.migrated
    _same_as_before(tmp_path)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("REVERIE_DATABASE_URL"), reason="moves a SQLite archive into PostgreSQL"
)
def test_an_older_sqlite_archive_restores_into_postgresql_and_is_migrated_forward(
    backup_key: x25519.Identity, tmp_path: Path
) -> None:
    older, latest = _last_two(OLDER_APP)
    archive_path = _sqlite_archive_made_elsewhere(tmp_path, older=older)

    done = restore(archive_path, by="test")

    assert done.manifest["engine"] == "sqlite"
    assert latest[1] not in done.manifest["migrations"][OLDER_APP]
    assert older[1] in done.manifest["migrations"][OLDER_APP]
    assert done.method.startswith("copy")
    assert done.migrated
    assert _pending() == []
    _same_as_before(tmp_path)
    assert done.audit_checked >= done.manifest["audit_head"]["seq"] > 0


def test_an_archive_newer_than_this_reverie_is_not_copied_into_another_engine() -> None:
    from django.db.migrations.loader import MigrationLoader

    from reverie.backups.restore import _archive_state

    loader = MigrationLoader(None, ignore_no_migrations=True)
    manifest = {"migrations": {"backups": ["0001_backup_runs", "0099_from_the_future"]}}
    with pytest.raises(ArchiveError, match=r"newer than this Reverie.*backups\.0099"):
        _archive_state(loader, manifest)
    manifest["migrations"]["backups"].pop()
    assert _archive_state(loader, manifest) == [("backups", "0001_backup_runs")]


@pytest.mark.django_db(transaction=True)
def test_an_archive_newer_than_this_reverie_is_refused_on_any_engine_and_writes_nothing(
    world: World, backup_key: x25519.Identity, tmp_path: Path
) -> None:
    # An archive made by a later Reverie (its manifest names a migration this code lacks),
    # re-encrypted to the backup key as that Reverie would have written it.
    archive_path = _backup(tmp_path)

    def name_a_future_migration(unpacked: Path) -> None:
        manifest = json.loads((unpacked / archive.MANIFEST).read_text())
        manifest["migrations"]["backups"].append("0099_from_the_future")
        (unpacked / archive.MANIFEST).write_text(json.dumps(manifest))

    _rewritten(archive_path, backup_key, tmp_path, name_a_future_migration)
    _empty_the_database()
    rows = _row_total()
    with pytest.raises(ArchiveError, match=r"newer than this Reverie.*backups\.0099"):
        restore(archive_path, by="test")
    assert _row_total() == rows


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]


# --- SQLite: the live file as the snapshot ------------------------------------------------

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the live-file snapshot is SQLite's"
)
HAMMER_ROWS = 2000


def _sqlite_file() -> str:
    return str(connection.settings_dict["NAME"])


def _hammer_table() -> None:
    with sqlite3.connect(_sqlite_file(), timeout=20) as conn:
        conn.execute("CREATE TABLE backup_hammer (id INTEGER PRIMARY KEY, n INTEGER, pad TEXT)")
        conn.executemany(
            "INSERT INTO backup_hammer (n, pad) VALUES (0, ?)",
            [(f"{i:06d}" * 40,) for i in range(HAMMER_ROWS)],
        )
    conn.close()


def _drop_hammer_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS backup_hammer")


class _Hammer(threading.Thread):
    """Another connection on another thread, committing as fast as it can: each
    transaction adds 1 to every row's ``n`` and inserts a row with ``n`` 0, and after each
    a PASSIVE checkpoint tries to copy the WAL into the database file. A snapshot taken
    halfway through a transaction, or a file that changed under the backup, shows as rows
    with different ``n`` or a count that does not match them."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.commits = 0
        self.held_back = 0  # checkpoints that could not copy every frame
        self.changed = threading.Condition()

    def run(self) -> None:
        conn = sqlite3.connect(_sqlite_file(), timeout=20, isolation_level=None)
        try:
            while not self.stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE backup_hammer SET n = n + 1")
                conn.execute("INSERT INTO backup_hammer (n, pad) VALUES (0, 'x')")
                conn.execute("COMMIT")
                busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                with self.changed:
                    self.commits += 1
                    self.held_back += int(bool(busy) or done < log)
                    self.changed.notify_all()
        finally:
            conn.close()

    def wait_for_commits(self, more: int) -> None:
        with self.changed:
            goal = self.commits + more
            assert self.changed.wait_for(lambda: self.commits >= goal, timeout=30)


def _consistent_hammer_rows(cursor: Any) -> int:
    """The number of transactions the hammer table shows, after checking they agree."""
    cursor.execute("SELECT DISTINCT n FROM backup_hammer WHERE id <= %s", [HAMMER_ROWS])
    (transactions,) = [n for (n,) in cursor.fetchall()]
    cursor.execute("SELECT COUNT(*) FROM backup_hammer")
    assert cursor.fetchone()[0] == HAMMER_ROWS + transactions
    return int(transactions)


@sqlite_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_another_connection_writes_restores_intact(
    backup_key: x25519.Identity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_small_demo(monkeypatch)
    _hammer_table()
    hammer = _Hammer()
    # Small reads, and before each one the hammer commits twice more (and checkpoints):
    # the file is read in many pieces with writes and checkpoints between all of them.
    monkeypatch.setattr(archive, "_CHUNK", 32 << 10)
    reads = []
    read_at = snapshot.LiveFile.read_at

    def read_between_writes(self: snapshot.LiveFile, offset: int, length: int) -> bytes:
        hammer.wait_for_commits(2)
        reads.append(offset)
        return read_at(self, offset, length)

    monkeypatch.setattr(snapshot.LiveFile, "read_at", read_between_writes)
    try:
        hammer.start()
        hammer.wait_for_commits(3)
        archive_path = _backup(tmp_path)
    finally:
        hammer.stop.set()
        hammer.join()
    assert len(reads) > 20
    # While the backup read the file, checkpoints were held back (the WAL kept what the
    # hammer committed), and afterwards one copies everything again.
    assert hammer.held_back > 0
    with sqlite3.connect(_sqlite_file()) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
    conn.close()

    # The member is one self-contained database (rollback-journal mode, not WAL).
    unpacked = archive.unpack(archive_path, [backup_key], _folder(tmp_path))
    member = unpacked.member(snapshot.SQLITE_MEMBER)
    assert member.read_bytes()[18:20] == b"\x01\x01"

    _empty_the_database()
    _drop_hammer_table()
    storage.root().rename(tmp_path / "documents-before")
    try:
        done = restore(archive_path, by="test")
        assert done.manifest["snapshot"] == "live file"
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchall() == [("ok",)]
            transactions = _consistent_hammer_rows(cursor)
        # The snapshot is of the moment the backup began: the hammer went on after it.
        assert 3 <= transactions < hammer.commits
        assert done.manifest["tables"]["backup_hammer"] == HAMMER_ROWS + transactions
        assert _live_counts_match(done.manifest)
        assert trail.verify(use_checkpoints=False).ok
        assert done.audit_checked >= done.manifest["audit_head"]["seq"] > 0
    finally:
        _drop_hammer_table()


def _live_counts_match(manifest: dict[str, Any]) -> bool:
    """Every table the manifest counts holds that many rows (the restore's own audit
    entry, its trail check and its head row excepted)."""
    own = {"audit_auditentry", "audit_trailcheck"}
    with connection.cursor() as cursor:
        for table, count in manifest["tables"].items():
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            found = cursor.fetchone()[0]
            if found != count and not (table in own and found > count):
                return False
    return True


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_reader_on_an_older_snapshot_makes_the_backup_copy_the_database_instead(
    backup_key: x25519.Identity, tmp_path: Path
) -> None:
    _hammer_table()
    try:
        # A reader that began before the last commit keeps the checkpoint from copying it
        # into the file, so the file is not the snapshot: the backup API copies instead.
        old = sqlite3.connect(_sqlite_file(), isolation_level=None)
        old.execute("BEGIN")
        old.execute("SELECT COUNT(*) FROM backup_hammer").fetchone()
        with sqlite3.connect(_sqlite_file(), timeout=20) as conn:
            conn.execute("UPDATE backup_hammer SET n = n + 1")
            conn.execute("INSERT INTO backup_hammer (n, pad) VALUES (0, 'x')")
        conn.close()
        try:
            archive_path = _backup(tmp_path)
        finally:
            old.close()
        _empty_the_database()
        _drop_hammer_table()
        done = restore(archive_path, by="test")
        assert done.manifest["snapshot"] == "sqlite backup API"
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchall() == [("ok",)]
            assert _consistent_hammer_rows(cursor) == 1
        assert done.manifest["tables"]["backup_hammer"] == HAMMER_ROWS + 1
        assert trail.verify(use_checkpoints=False).ok
    finally:
        _drop_hammer_table()


@pytest.mark.django_db(transaction=True)
def test_mail_waiting_in_a_backup_is_held_after_restore_not_sent_again(
    backup_key: x25519.Identity, tmp_path: Path
) -> None:
    from reverie.outbox import delivery
    from reverie.outbox.models import Message, Status
    from reverie.testing import build_world

    world = build_world()
    pid = world.practice.pk
    waiting = Message.objects.create(
        template="reminder", recipient="a@example.org", practice_id=pid, body=b"sealed"
    )
    sent = Message.objects.create(
        template="welcome", recipient="b@example.org", practice_id=pid, status=Status.SENT
    )
    failed = Message.objects.create(
        template="reset",
        recipient="c@example.org",
        practice_id=pid,
        body=b"sealed",
        status=Status.FAILED,
        last_error="550 no such user",
    )
    archive_path = _backup(tmp_path)
    _empty_the_database()
    done = restore(archive_path, by="test")

    assert done.held_messages == 1
    assert any("1 message(s)" in note for note in done.notes)
    held = Message.objects.get(pk=waiting.pk)
    assert (held.status, held.last_error) == (Status.FAILED, delivery.HELD_AFTER_RESTORE)
    # What had been sent or had failed before stays as it was.
    assert Message.objects.get(pk=sent.pk).status == Status.SENT
    assert Message.objects.get(pk=failed.pk).last_error == "550 no such user"
    # Nothing is due for the worker, and the restore's audit entry says how many were held.
    assert not Message.objects.filter(status=Status.PENDING).exists()
    entry = AuditEntry.objects.filter(action=Action.IMPORT).latest("seq")
    assert entry.detail["held_messages"] == 1
    # The admin can still send a held message that never went.
    assert delivery.retry_now(waiting.pk, pid)
    assert Message.objects.get(pk=waiting.pk).status == Status.PENDING
