"""A consistent copy of the database, and the facts the manifest records about it.

SQLite: the database file itself is streamed into the archive, no copy of it written
first, while a read transaction holds a snapshot whose every page is in that file and
keeps checkpoints from changing it (:func:`_pin_live_file`, which explains why that
holds). When that cannot be arranged (a reader on an older snapshot keeps the checkpoint
from completing) the online backup API (``sqlite3.Connection.backup``) copies every page
under one read transaction into a file of its own, as before. Either way the archive holds
the database at one instant while the web and the worker keep writing (WAL readers do not
block writers), and the manifest's row counts are read in that same read transaction.
PostgreSQL: a ``REPEATABLE READ``
transaction exports its snapshot (``pg_export_snapshot()``) and ``pg_dump --snapshot``
dumps exactly what that transaction sees, so the row counts, migration state and audit
head in the manifest are read from the same instant as the dump.

Both work on connections of their own, never Django's: a backup started inside a
transaction (a test, a shell) must neither see its uncommitted rows nor end it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import connection

from reverie.audit.models import AuditEntry
from reverie.backups import archive
from reverie.backups.archive import ArchiveError
from reverie.paperwork.models import Document

SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
# Options Django's PostgreSQL backend understands but libpq does not.
_DJANGO_ONLY = {
    "server_side_binding",
    "prepare_threshold",
    "pool",
    "isolation_level",
    "assume_role",
    "cursor_factory",
    "context",
}


def facts(cursor: Any, tables: list[str], quote: Callable[[str], str]) -> dict[str, Any]:
    """Row counts per table, applied migrations per app, the audit head and the stored
    names of the uploaded documents, read through ``cursor`` (any DB-API cursor on the
    snapshot). Document files are written before their row commits and never changed, so
    the files the snapshot names are all there and are the ones it means."""
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 (catalogue names)
        counts[table] = int(cursor.fetchone()[0])
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    documents: list[str] = []
    table = Document._meta.db_table
    if table in tables:
        column = Document._meta.get_field("stored_name").column
        cursor.execute(f"SELECT {quote(column)} FROM {quote(table)} ORDER BY 1")  # noqa: S608
        documents = [str(r[0]) for r in cursor.fetchall()]
    # The audit chain's head is its newest entry; an empty trail's is #0 with no hash.
    head = {"seq": 0, "hash": ""}
    table = AuditEntry._meta.db_table
    if table in tables:
        cursor.execute(f"SELECT seq, hash FROM {quote(table)} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
        if row:
            head = {"seq": int(row[0]), "hash": str(row[1])}
    return {
        "tables": counts,
        "migrations": migrations,
        "audit_head": head,
        "documents": documents,
    }


def sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [str(r[0]) for r in rows]


def sqlite_facts(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        return facts(conn.cursor(), sqlite_tables(conn), sqlite_quote)
    finally:
        conn.close()


Taken = tuple[dict[str, Path | archive.Member], dict[str, Any]]


@contextlib.contextmanager
def take(folder: Path) -> Iterator[Taken]:
    """Snapshot the default database: the members (files in ``folder``, or the live SQLite
    file) and the manifest facts. The members must be read before the context ends: the
    live file stays the snapshot only while its read transaction is open."""
    if connection.vendor == "sqlite":
        with _sqlite(folder) as taken:
            yield taken
    elif connection.vendor == "postgresql":
        yield _postgresql(folder)
    else:
        raise ArchiveError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")


#: Read-only descriptors of live database files, one per file (device and inode), kept
#: open for the life of the process and never closed. Closing *any* descriptor of a file
#: releases every POSIX advisory lock this process holds on it, including those of SQLite
#: connections still open on it (the web's, the worker's), which can let another process
#: checkpoint and delete the WAL under them (https://sqlite.org/howtocorrupt.html,
#: section 2.2, "Posix advisory locks canceled by a separate thread doing close()").
#: SQLite's own unix VFS defers closing for the same reason.
_HELD: dict[tuple[int, int], int] = {}
_HELD_LOCK = threading.Lock()


def _held_descriptor(path: Path) -> int:
    before = os.stat(path)
    key = (before.st_dev, before.st_ino)
    with _HELD_LOCK:
        fd = _HELD.get(key)
        if fd is None:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            opened = os.fstat(fd)
            _HELD[(opened.st_dev, opened.st_ino)] = fd  # the same key unless just replaced
    return fd


#: Seconds to wait for the write lock that the live-file snapshot holds for the length of
#: one checkpoint (writers wait for it meanwhile, as for any other write).
WRITE_LOCK_WAIT = 5.0
#: Seconds to keep trying the checkpoint (writers wait meanwhile) before falling back to
#: the backup API.
CHECKPOINT_WAIT = 1.0


class LiveFile:
    """The live database file as an archive member: ``size`` bytes read at offsets from a
    held descriptor (:data:`_HELD`), with the header's file format version bytes (offsets
    18 and 19: 2 for WAL, 1 for a rollback journal; https://sqlite.org/fileformat2.html,
    section 1.3.3) read as 1, so that the archived file is one self-contained database, as
    ``PRAGMA journal_mode=DELETE`` would leave it."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size

    def read_at(self, offset: int, length: int) -> bytes:
        block = os.pread(self.fd, length, offset)
        if offset < 20 and offset + len(block) >= 20:
            at = 18 - offset
            block = block[: max(at, 0)] + b"\x01\x01"[max(-at, 0) :] + block[at + 2 :]
        return block


def _pin_live_file(path: Path, reader: sqlite3.Connection) -> LiveFile | None:
    """Begin a read transaction on ``reader`` whose snapshot is exactly the content of the
    database file, and return the file as a member; None (no transaction open) when that
    cannot be arranged now.

    Why the file then stays the snapshot (https://sqlite.org/wal.html, "Checkpointing" and
    "Concurrency"; wal.c, walCheckpoint and walTryBeginRead): in WAL mode the database file
    is written only by a checkpoint, which copies committed frames from the WAL into it. A
    write lock held on another connection (``BEGIN IMMEDIATE``) keeps frames from being
    added while a PASSIVE checkpoint copies every frame there is (it reports ``log ==
    checkpointed``); a reader that starts then, still under that write lock, has a
    snapshot that is all in the file. A checkpoint never copies frames beyond the read mark
    of a reader that is still open (it stops at the oldest reader's mark, and copies
    nothing at all while a reader that reads only the file holds read-lock 0), so frames
    committed after the write lock is released stay in the WAL until this read transaction
    ends, and the file does not change. The file's length must equal the snapshot's page
    count times the page size (checked, as is the file's identity)."""
    if connection.in_atomic_block:
        # This thread's own transaction may hold the write lock (Reverie begins them
        # IMMEDIATE): waiting for it would wait for ourselves.
        return None
    if str(reader.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        return None
    fd = _held_descriptor(path)
    writer = sqlite3.connect(path, timeout=WRITE_LOCK_WAIT, isolation_level=None)
    checkpointer = sqlite3.connect(path, timeout=WRITE_LOCK_WAIT, isolation_level=None)
    try:
        # A connection opens the WAL on its first read; a checkpoint before that does
        # nothing (and reports -1 frames).
        checkpointer.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        try:
            writer.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked": a long write is under way
            return None
        try:
            # Another checkpoint under way (a writer's automatic one, after its commit)
            # or a reader about to finish: tried again for a moment, while the write lock
            # keeps new frames out.
            deadline = time.monotonic() + CHECKPOINT_WAIT
            while True:
                busy, log, done = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if not busy and 0 <= log == done:
                    break
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.005)
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot
        finally:
            writer.execute("ROLLBACK")
    finally:
        writer.close()
        checkpointer.close()
    pages = int(reader.execute("PRAGMA page_count").fetchone()[0])
    page_size = int(reader.execute("PRAGMA page_size").fetchone()[0])
    held, now = os.fstat(fd), os.stat(path)
    same_file = (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
    if not same_file or held.st_size != pages * page_size:
        reader.execute("ROLLBACK")
        return None
    return LiveFile(fd, pages * page_size)


@contextlib.contextmanager
def _sqlite(folder: Path) -> Iterator[Taken]:
    source_path = Path(str(connection.settings_dict["NAME"]))
    reader = sqlite3.connect(source_path, timeout=20, isolation_level=None)
    try:
        live = _pin_live_file(source_path, reader)
        if live is not None:
            # Read in the pinned snapshot: the counts are those of the file as archived.
            version = reader.execute("SELECT sqlite_version()").fetchone()[0]
            found = facts(reader.cursor(), sqlite_tables(reader), sqlite_quote)
            yield (
                {SQLITE_MEMBER: live},
                {
                    "engine": "sqlite",
                    "server_version": version,
                    "snapshot": "live file",
                    **found,
                },
            )
            return
    finally:
        reader.close()  # ends the read transaction, if any
    yield _sqlite_copy(source_path, folder)


def _sqlite_copy(source_path: Path, folder: Path) -> Taken:
    """The snapshot by the online backup API, into a file of its own."""
    dest = folder / SQLITE_MEMBER
    source = sqlite3.connect(source_path, timeout=20)
    try:
        copy = sqlite3.connect(dest)
        try:
            source.backup(copy)
            # A copy of a WAL database is in WAL mode too; one self-contained file is
            # what an archive should hold.
            copy.execute("PRAGMA journal_mode=DELETE")
            version = copy.execute("SELECT sqlite_version()").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    return {SQLITE_MEMBER: dest}, {
        "engine": "sqlite",
        "server_version": version,
        "snapshot": "sqlite backup API",
        **sqlite_facts(dest),
    }


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_settings() -> dict[str, Any]:
    return dict(connection.settings_dict)


def pg_environment(db: dict[str, Any]) -> dict[str, str]:
    """libpq's variables for pg_dump / pg_restore: the password never on a command line."""
    env = dict(os.environ)
    for var, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if db.get(key):
            env[var] = str(db[key])
    options = db.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    return env


def pg_connect(db: dict[str, Any]) -> Any:
    import psycopg

    options = {k: v for k, v in (db.get("OPTIONS") or {}).items() if k not in _DJANGO_ONLY}
    return psycopg.connect(
        dbname=db.get("NAME") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=str(db["PORT"]) if db.get("PORT") else None,
        **options,
    )


def pg_tool(name: str, server_major: int) -> str:
    """``pg_dump`` / ``pg_restore`` from PATH, refusing one older than the server: an older
    pg_dump refuses a newer server, and an older pg_restore may not read the dump."""
    found = shutil.which(name)
    if found is None:
        raise ArchiveError(
            f"{name} is not on PATH; install the PostgreSQL {server_major} client tools "
            "(Debian: postgresql-client)"
        )
    out = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    major = int(match.group(1)) if match else 0
    if major < server_major:
        raise ArchiveError(
            f"{found} is version {major} but the server is PostgreSQL {server_major}; "
            f"install the PostgreSQL {server_major} client tools (or newer)"
        )
    return found


def pg_server_major(conn: Any) -> int:
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def pg_tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchall()
    return [str(r[0]) for r in rows]


def pg_quote(name: str) -> str:
    return sqlite_quote(name)


def _postgresql(folder: Path) -> Taken:
    db = pg_settings()
    dest = folder / PG_MEMBER
    conn = pg_connect(db)
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        major = pg_server_major(conn)
        version = str(conn.execute("SHOW server_version").fetchone()[0])
        pg_dump = pg_tool("pg_dump", major)
        # The exporting transaction stays open while pg_dump runs: that is what keeps
        # the snapshot alive. It is read-only and takes no locks beyond pg_dump's own
        # ACCESS SHARE, which blocks no insert or update.
        done = subprocess.run(  # noqa: S603
            [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dest}"],
            env=pg_environment(db),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ArchiveError(f"pg_dump failed: {done.stderr.strip()}")
        found = facts(conn.cursor(), pg_tables(conn), pg_quote)
        conn.rollback()
    finally:
        conn.close()
    return {PG_MEMBER: dest}, {"engine": "postgresql", "server_version": version, **found}
