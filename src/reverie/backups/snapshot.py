"""A consistent copy of the database, and the facts the manifest records about it.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies every page under one
read transaction, so the copy is the database at one instant while the web and the worker
keep writing (WAL readers do not block writers). PostgreSQL: a ``REPEATABLE READ``
transaction exports its snapshot (``pg_export_snapshot()``) and ``pg_dump --snapshot``
dumps exactly what that transaction sees, so the row counts, migration state and audit
head in the manifest are read from the same instant as the dump.

Both work on connections of their own, never Django's: a backup started inside a
transaction (a test, a shell) must neither see its uncommitted rows nor end it.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

from reverie.audit.models import AuditHead
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
    head = {"seq": 0, "hash": ""}
    table = AuditHead._meta.db_table
    if table in tables:
        cursor.execute(f"SELECT seq, hash FROM {quote(table)} WHERE id = 1")  # noqa: S608
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


def take(folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """Snapshot the default database into ``folder``: the members and the manifest facts."""
    if connection.vendor == "sqlite":
        return _sqlite(folder)
    if connection.vendor == "postgresql":
        return _postgresql(folder)
    raise ArchiveError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")


def _sqlite(folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    source_path = str(connection.settings_dict["NAME"])
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


def _postgresql(folder: Path) -> tuple[dict[str, Path], dict[str, Any]]:
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
