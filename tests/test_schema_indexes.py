"""Indexes the submission's tables no longer carry (measures 0004, audit 0005).

Each was one more tree every FHIR submission wrote, and a composite index leading with the
same column (or, for PostgreSQL's ``LIKE`` index, no query at all) made it useless. The
foreign keys themselves stay: only the indexes go.
"""

from __future__ import annotations

import pytest
from django.db import connection

from reverie.core.schema import _name, drop_field_index

pytestmark = pytest.mark.django_db

ADMINISTRATION = "measures_administration"
AUDIT = "audit_auditentry"
GONE = [(ADMINISTRATION, "client_id"), (ADMINISTRATION, "episode_id"), (AUDIT, "practice_id")]


def _constraints(table: str) -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def _editor():  # type: ignore[no-untyped-def]
    # Not entered as a context: SQLite's refuses that inside the test's transaction, and
    # DROP and CREATE INDEX need nothing it sets up.
    return connection.SchemaEditorClass(connection)


def _index_name(table: str, column: str, suffix: str = "") -> str:
    return _name(_editor(), table, column, suffix)


@pytest.mark.parametrize(("table", "column"), GONE)
def test_the_single_column_index_is_gone_and_a_composite_one_leads_with_the_column(
    table: str, column: str
) -> None:
    constraints = _constraints(table)
    assert _index_name(table, column) not in constraints
    leading = [c for c in constraints.values() if c["index"] and c["columns"][:1] == [column]]
    assert leading, f"no index leads with {table}.{column}"
    assert all(len(c["columns"]) > 1 for c in leading)


@pytest.mark.parametrize(("table", "column"), GONE)
def test_the_foreign_key_stays(table: str, column: str) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            keys = connection.introspection.get_relations(cursor, table)
        assert column in keys
    else:
        assert any(
            c["foreign_key"] and c["columns"] == [column] for c in _constraints(table).values()
        )


def test_idempotency_keys_stay_unique_without_a_like_index() -> None:
    constraints = _constraints(ADMINISTRATION)
    assert any(c["unique"] and c["columns"] == ["idempotency_key"] for c in constraints.values())
    assert _index_name(ADMINISTRATION, "idempotency_key", "_like") not in constraints


def test_the_operation_is_reversible() -> None:
    drop = drop_field_index(AUDIT, "practice_id")
    name = _index_name(AUDIT, "practice_id")
    drop.reverse_code(None, _editor())  # type: ignore[misc]
    assert _constraints(AUDIT)[name]["columns"] == ["practice_id"]
    drop.code(None, _editor())
    assert name not in _constraints(AUDIT)


def test_an_operation_for_another_vendor_changes_nothing() -> None:
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    drop = drop_field_index(AUDIT, "actor_id", vendor=other)
    name = _index_name(AUDIT, "actor_id")
    assert name in _constraints(AUDIT)
    drop.code(None, _editor())
    assert name in _constraints(AUDIT)
