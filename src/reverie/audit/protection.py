"""Database triggers that make audit entries append-only at the storage level.

The model layer already refuses updates and deletes; the triggers also stop raw SQL and
other programs sharing the database. An operator with owner rights can still drop them,
which is what ``reverie audit verify`` is there to catch.
"""

from __future__ import annotations

from typing import Any

INSTALL = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_auditentry
           BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
        """CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_auditentry
           BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql""",
        "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry",
        """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
           FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    ],
}

REMOVE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_entry_no_update",
        "DROP TRIGGER IF EXISTS audit_entry_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry",
        "DROP FUNCTION IF EXISTS audit_entry_append_only()",
    ],
}


def _execute(cursor: Any, vendor: str, statements: dict[str, list[str]]) -> None:
    for sql in statements.get(vendor, []):
        cursor.execute(sql)


def install(cursor: Any, vendor: str) -> None:
    _execute(cursor, vendor, INSTALL)


def remove(cursor: Any, vendor: str) -> None:
    _execute(cursor, vendor, REMOVE)
