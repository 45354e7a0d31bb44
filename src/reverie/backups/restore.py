"""Restoring an archive into an empty database, and proving the restore complete.

Order matters, so that a bad archive writes nothing: decrypt, check every member against
the manifest's SHA-256, check the target is empty, check the snapshot's own row counts
(SQLite) against the manifest — and only then write. After writing: migrate forward if
the archive is older than this Reverie, compare row counts with the manifest, check the
audit head is the one the manifest recorded, and verify the audit chain.

Three ways in:

Uploaded documents (``paperwork.storage``) are moved into ``DATA_DIR/documents`` after the
database is in place; a data folder that already holds documents is refused like a
non-empty database.

* SQLite archive into SQLite: the snapshot is written beside the database file while it
  is checked, and once checked it is renamed over the (empty) target when no other
  connection has that open (:func:`_rename_into_place`); otherwise the online backup API
  copies its pages over the target.
* PostgreSQL archive into PostgreSQL: ``pg_restore`` of the custom-format dump, in one
  transaction.
* SQLite archive into PostgreSQL (moving a practice to PostgreSQL): the target is migrated
  to the archive's own migration state, every model's rows (as the models were at that
  state) are copied across through Django's field conversions in one transaction, and the
  target is then migrated forward like any other restore. An archive newer than this
  Reverie is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.models.functions import Cast
from django.db.utils import load_backend

from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.backups import archive, snapshot
from reverie.backups.archive import ArchiveError
from reverie.core import schema
from reverie.lib.files import make_private_dir
from reverie.lib.hashchain import CP
from reverie.lifecycle import erasure
from reverie.outbox import delivery
from reverie.paperwork import storage
from reverie.vault.fields import EncryptedTextField

#: Rows that ``migrate`` itself writes (or the worker's bookkeeping): a database with only
#: these counts as empty.
BOOKKEEPING = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "django_session",
        "core_periodicjob",
        "measures_instrument",
        "sqlite_sequence",
    }
)
_SOURCE = "reverie_backup_source"


@dataclass
class Restored:
    manifest: dict[str, Any]
    method: str
    migrated: bool
    audit_checked: int = 0
    documents: int = 0
    erased_again: int = 0
    held_messages: int = 0
    notes: list[str] = field(default_factory=list)


def restore(path: Path, *, by: str, say: Callable[[str], None] = lambda _: None) -> Restored:
    identities = archive.read_identities(settings.BACKUP_IDENTITY_FILE)
    staged = _staging_path()
    with (
        tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".restore-") as tmp,
        _removed_after(staged),
    ):
        place = {snapshot.SQLITE_MEMBER: staged} if staged is not None else {}
        unpacked = archive.unpack(path, identities, Path(tmp), place)
        manifest = unpacked.manifest
        say(
            f"archive of {manifest.get('created_at')} ({manifest.get('engine')}, Reverie "
            f"{manifest.get('reverie_version')}): every member matches its SHA-256"
        )
        refuse_unless_empty()
        # Before anything is written, whatever the engines: code older than the archive
        # cannot read the schema it holds (and a later migrate would not know to skip it).
        _archive_state(MigrationLoader(None, ignore_no_migrations=True), manifest)
        engine = manifest.get("engine")
        if engine == "sqlite":
            member = unpacked.member(snapshot.SQLITE_MEMBER)
            _same_counts(snapshot.sqlite_facts(member)["tables"], manifest, "the snapshot")
            if connection.vendor == "sqlite":
                result = _sqlite_into_sqlite(member, manifest)
            else:
                result = _sqlite_into_other(member, manifest)
        elif engine == "postgresql":
            if connection.vendor != "postgresql":
                raise ArchiveError(
                    "this is a PostgreSQL archive; it restores into PostgreSQL only "
                    "(set REVERIE_DATABASE_URL to an empty PostgreSQL database)"
                )
            result = _postgresql(unpacked.member(snapshot.PG_MEMBER), manifest)
        else:
            raise ArchiveError(f"the archive names an unknown database engine {engine!r}")
        result.documents = _place_documents(unpacked)
    if schema.gather_statistics():
        say("statistics gathered for the query planner (ANALYZE)")
    _check_audit(result, say)
    # Clients erased after this archive was taken are erased again: their keys are still
    # in it (docs/data-lifecycle.md, "Erasure and older backups").
    result.erased_again = erasure.apply_ledger(by=by, say=say)
    result.held_messages = delivery.hold_after_restore()
    if result.held_messages:
        result.notes.append(
            f"{result.held_messages} message(s) waiting to be sent in the backup were held, "
            "not sent: they may have gone out before; the practice admin can retry each "
            "from the outgoing-mail page"
        )
    with transaction.atomic():
        trail.record(
            trail.system(by),
            Action.IMPORT,
            None,
            object_type="backups.archive",
            object_id=path.name[:64],
            detail={
                "created_at": manifest.get("created_at"),
                "method": result.method,
                "held_messages": result.held_messages,
            },
        )
    return result


#: Until the audit chain's head became its newest entry (migration audit 0004),
#: ``migrate`` wrote a head row at #0 into a table of its own; a database migrated only
#: that far (the SQLite-to-PostgreSQL path migrates to the archive's state) is empty too.
_LEGACY_HEAD_TABLE = "audit_audithead"


def refuse_unless_empty() -> None:
    """Raise unless the target holds nothing but what ``migrate`` writes."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in BOOKKEEPING:
                continue
            quoted = connection.ops.quote_name(table)
            if table == _LEGACY_HEAD_TABLE:
                cursor.execute(f"SELECT 1 FROM {quoted} WHERE seq <> 0")  # noqa: S608
            else:
                cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 1")  # noqa: S608
            if cursor.fetchone():
                found.append(table)
    if found:
        shown = ", ".join(sorted(found)[:5]) + (" ..." if len(found) > 5 else "")
        raise ArchiveError(
            f"the database is not empty ({len(found)} tables hold data: {shown}); "
            "restore only into an empty database — create a new one (or move the SQLite "
            "file aside) and point Reverie at it. Nothing was changed."
        )
    documents = storage.root()
    if documents.is_dir() and any(p.is_file() for p in documents.rglob("*")):
        raise ArchiveError(
            f"{documents} already holds uploaded documents; restore only into an empty data "
            "folder (move that folder aside). Nothing was changed."
        )


def _same_counts(counts: dict[str, int], manifest: dict[str, Any], where: str) -> None:
    expected: dict[str, int] = manifest.get("tables") or {}
    wrong = [
        f"{t}: {counts.get(t)} rows, manifest says {n}"
        for t, n in sorted(expected.items())
        if counts.get(t) != n
    ]
    if wrong:
        raise ArchiveError(f"row counts in {where} differ from the manifest: " + "; ".join(wrong))


def _migrate() -> bool:
    """Apply migrations newer than the restored database; True if any were."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    pending = set(loader.disk_migrations) - set(loader.applied_migrations)
    if pending:
        call_command("migrate", interactive=False, verbosity=0)
    return bool(pending)


def _live_counts(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
        counts = {}
        for table in tables:
            if table in present:
                quoted = connection.ops.quote_name(table)
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
                counts[table] = int(cursor.fetchone()[0])
    return counts


def _staging_path() -> Path | None:
    """Where a SQLite snapshot is written when it may become the database itself: beside
    the database file (the same folder, so a rename can put it in place), under a hidden
    name of its own. None when the target is not a SQLite file."""
    if connection.vendor != "sqlite":
        return None
    target = Path(str(connection.settings_dict["NAME"]))
    if str(target).startswith(("file:", ":memory:")) or not target.parent.is_dir():
        return None
    return target.with_name(f".{target.name}.restore-{secrets.token_hex(6)}")


@contextlib.contextmanager
def _removed_after(path: Path | None) -> Iterator[None]:
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _leave_wal(conn: sqlite3.Connection) -> bool:
    """Switch ``conn``'s database from WAL to rollback-journal mode; False (and still in
    WAL mode) when another connection has it open, which SQLite answers by refusing or
    with "database is locked"."""
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return str(mode).lower() == "delete"


def _rename_into_place(member: Path, target: Path) -> bool:
    """Make the checked snapshot the database by renaming it over the empty target, which
    writes it no second time. True if done; False (nothing changed) when that is not known
    to be safe, and the caller copies instead.

    Safe means nobody has the target open: a process holding the old file would go on
    reading and writing a file that no longer has a name, and lose what it writes. SQLite
    tells: a database in WAL mode leaves WAL mode only when no other connection has it
    open (each open connection holds a shared lock on the WAL index). Reverie opens every
    connection in WAL mode, so a target that is not in WAL mode, or cannot leave it, is
    copied into instead. The exclusive lock taken then keeps anyone from starting to read
    the old file until it is replaced."""
    if member.parent != target.parent or not target.is_file():
        return False
    if Path(f"{target}-journal").exists():  # a hot journal: SQLite's to roll back, not ours
        return False
    dest = sqlite3.connect(target, timeout=1, isolation_level=None)
    try:
        if str(dest.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            return False
        if not _leave_wal(dest):
            return False  # another connection is open
        dest.execute("BEGIN EXCLUSIVE")
        try:
            if any(Path(f"{target}{s}").exists() for s in ("-journal", "-wal")):
                return False
            with member.open("rb") as handle:
                os.fsync(handle.fileno())
            member.chmod(stat.S_IMODE(target.stat().st_mode))
            member.replace(target)
            _sync_folder(target.parent)
        finally:
            dest.execute("ROLLBACK")
    finally:
        dest.close()
    # The snapshot is in rollback-journal mode (one self-contained file); Reverie's
    # connections use WAL, as the database did before.
    restored = sqlite3.connect(target, timeout=20)
    try:
        restored.execute("PRAGMA journal_mode=WAL")
    finally:
        restored.close()
    return True


def _sqlite_into_sqlite(member: Path, manifest: dict[str, Any]) -> Restored:
    target = str(connection.settings_dict["NAME"])
    connection.close()
    if _rename_into_place(member, Path(target)):
        _same_counts(_live_counts(list(manifest["tables"])), manifest, "the restored database")
        return Restored(manifest, "snapshot renamed into place", _migrate())
    source = sqlite3.connect(member)
    try:
        dest = sqlite3.connect(target, timeout=20)
        try:
            # In WAL mode every copied page would be written twice, into the WAL and again
            # by the checkpoint when the connection closes. The target is empty (checked
            # above), so the copy goes straight into the file, and WAL is switched back
            # on after. (If another connection is open the switch is refused, and the copy
            # goes through the WAL as before, slower but the same.)
            wal = dest.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            if wal:
                wal = _leave_wal(dest)
            source.backup(dest)
            if wal:
                dest.execute("PRAGMA journal_mode=WAL")
        finally:
            dest.close()
    finally:
        source.close()
    _same_counts(_live_counts(list(manifest["tables"])), manifest, "the restored database")
    return Restored(manifest, "sqlite backup API", _migrate())


def _postgresql(member: Path, manifest: dict[str, Any]) -> Restored:
    db = snapshot.pg_settings()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    pg_restore = snapshot.pg_tool("pg_restore", major)
    # Only tables that migrate made and left empty are here (refuse_unless_empty); they
    # go first so that the dump's own definitions can be created without clashing.
    with transaction.atomic(), connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
    connection.close()
    done = subprocess.run(  # noqa: S603
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={db['NAME']}",
            str(member),
        ],
        env=snapshot.pg_environment(db),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ArchiveError(f"pg_restore failed: {done.stderr.strip()}")
    _same_counts(_live_counts(list(manifest["tables"])), manifest, "the restored database")
    return Restored(manifest, "pg_restore", _migrate())


# --- SQLite archive into another engine -----------------------------------------------


def _copied_models(registry: Any = None) -> list[type[models.Model]]:
    """Every model whose table a copy carries: of this Reverie, or of ``registry`` (the
    models of the archive's own migration state)."""
    return [
        m
        for m in (registry or apps).get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]


def _archive_state(loader: MigrationLoader, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The migrations that make the archive's schema: for each app, the last of its
    migrations the archive has applied (more than one only where the graph branches)."""
    have = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    unknown = sorted(have - set(loader.graph.nodes))
    if unknown:
        raise ArchiveError(
            f"the archive is newer than this Reverie (it has the migration "
            f"{unknown[0][0]}.{unknown[0][1]}, which this version lacks); restore it with "
            "the version that made it, or a newer one. Nothing was changed."
        )
    return sorted(
        node
        for node in have
        if not any(c in have for c in loader.graph.node_map[node].children if c[0] == node[0])
    )


def _sqlite_into_other(member: Path, manifest: dict[str, Any]) -> Restored:
    """Copy the snapshot's rows into the target at the archive's own schema, then migrate
    the target forward: an older archive is brought up to this Reverie on the target, by
    the same migrations (data migrations included) that an upgrade runs."""
    targets = _archive_state(MigrationLoader(None, ignore_no_migrations=True), manifest)
    # The target holds nothing but what migrate writes (refuse_unless_empty): its tables
    # go, and it is migrated to the archive's state, whatever state it was in.
    with transaction.atomic(), connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    # The models as they were at that state: the columns the snapshot and target share.
    chosen = _copied_models(executor.loader.project_state(targets, at_end=True).apps)
    # A connection made for this copy only, not added to the configured databases: the
    # snapshot must never become a place the rest of Reverie could write to.
    source_settings = connections.configure_settings(
        {
            DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS],
            _SOURCE: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(member)},
        }
    )[_SOURCE]
    connections[_SOURCE] = load_backend(source_settings["ENGINE"]).DatabaseWrapper(
        source_settings, _SOURCE
    )
    try:
        with transaction.atomic():
            _copy_rows(chosen)
    finally:
        connections[_SOURCE].close()
        del connections[_SOURCE]
    copied = _copied_only(manifest, chosen)
    _same_counts(_live_counts(list(manifest["tables"])), copied, "the copy")
    return Restored(manifest, "copy of every table from the SQLite snapshot", _migrate())


def _copied_only(manifest: dict[str, Any], chosen: list[type[models.Model]]) -> dict[str, Any]:
    """The manifest's counts for the tables the copy carries (every model's table; the
    migration records and SQLite's own bookkeeping are the target's)."""
    tables = {m._meta.db_table for m in chosen}
    counts = {t: n for t, n in manifest["tables"].items() if t in tables}
    return {**manifest, "tables": counts}


def _copy_rows(chosen: list[type[models.Model]], batch: int = 2000) -> None:
    """Replace the target's rows with the source's, model by model. Values pass through
    each field's conversions both ways (SQLite's text datetimes and 0/1 booleans become
    PostgreSQL's types); constraints are checked at commit, so order does not matter."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            tables = ", ".join(quote(m._meta.db_table) for m in chosen)
            # TRUNCATE passes the audit trail's append-only row triggers by design: the
            # target was just migrated and holds only migrate's own rows (checked above).
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        else:
            for model in chosen:
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")  # noqa: S608
        for model in chosen:
            fields = [f for f in model._meta.concrete_fields]
            columns = ", ".join(quote(f.column) for f in fields)
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
            # Encrypted text is copied as the stored token, never decrypted: a cast to plain
            # text skips the field's decryption, and the token is valid in the target because
            # the wrapped data keys are copied with it.
            selected = [
                Cast(f.attname, output_field=models.TextField())
                if isinstance(f, EncryptedTextField)
                else f.attname
                for f in fields
            ]
            rows = (
                model._base_manager.using(_SOURCE)
                .order_by()
                .values_list(*selected)
                .iterator(chunk_size=batch)
            )
            pending: list[list[Any]] = []
            for row in rows:
                pending.append(
                    [
                        f.get_db_prep_save(v, connection=connection)
                        for f, v in zip(fields, row, strict=True)
                    ]
                )
                if len(pending) >= batch:
                    cursor.executemany(sql, pending)
                    pending = []
            if pending:
                cursor.executemany(sql, pending)
        for statement in connection.ops.sequence_reset_sql(no_style(), chosen):
            cursor.execute(statement)


def _place_documents(unpacked: archive.Unpacked) -> int:
    """Move the archive's documents (already checked against the manifest) to where the
    restored rows expect them, in private folders as ``paperwork.storage`` makes them."""
    names = [n for n in unpacked.manifest["members"] if n.startswith("documents/")]
    for name in names:
        stored_name = name.removeprefix("documents/")
        dest = storage.root() / stored_name
        for folder in (storage.root(), dest.parent.parent, dest.parent):
            make_private_dir(folder)
        shutil.move(unpacked.member(name), dest)
    return len(names)


# --- after writing --------------------------------------------------------------------


def _check_audit(result: Restored, say: Callable[[str], None]) -> None:
    """The restored trail must be intact and end where the manifest says. Checkpoints
    taken after the backup are expected to lie beyond it; those are reported with the
    command that accepts the rewind, anything else fails."""
    head = result.manifest.get("audit_head") or {}
    row = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    # An empty trail is recorded as #0 with no hash (snapshot.facts), and read back the
    # same way here. An archive from before the head was the newest entry recorded its
    # head row, which always equalled the newest entry.
    restored = row if row is not None else (0, "")
    if restored != (head.get("seq"), head.get("hash")):
        raise ArchiveError(
            f"the restored audit trail ends at #{restored[0]}, but the manifest "
            f"recorded #{head.get('seq')}: the archive is inconsistent"
        )
    chain = trail.verify(use_checkpoints=False)
    trail.remember_verification(chain, "reverie restore")
    if not chain.ok:
        shown = "; ".join(str(p) for p in chain.problems[:5])
        raise ArchiveError(f"the restored audit trail does not verify: {shown}")
    result.audit_checked = chain.checked
    say(f"audit trail: {chain.checked} entries verified, ending at #{chain.head_seq}")
    against = trail.verify(use_checkpoints=True)
    rewound = [p for p in against.problems if p.about == CP and p.seq > against.head_seq]
    other = [p for p in against.problems if p not in rewound]
    if other:
        shown = "; ".join(str(p) for p in other[:5])
        raise ArchiveError(
            f"the restored audit trail disagrees with the checkpoint file: {shown}. This "
            "archive is not a past state of this installation's trail; see "
            "docs/operations.md, 'When verification fails'."
        )
    if rewound:
        result.notes.append(
            f"the checkpoint file records the trail up to #{max(p.seq for p in rewound)}, "
            f"beyond this backup's #{against.head_seq} (expected after a restore). Once you "
            "have confirmed the restore was intended, run: reverie audit checkpoint "
            '--accept-rewind "restored the backup of '
            f'{result.manifest.get("created_at")}: <why>"'
        )
