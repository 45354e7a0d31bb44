"""Audit migration 0004 drops the one-row head table only when it equalled the newest entry.

The trail is written with today's code, the migration is undone (which brings the table
back, empty), a head row is written through migration 0003's model state as the previous
release kept it, and the real migration runs forward on this database (SQLite or
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reverie.audit import trail
from reverie.audit.models import Action

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("audit", "0003_keyed_chain_and_trail_checks")
AFTER = ("audit", "0004_head_is_the_newest_entry")
HEAD_TABLE = "audit_audithead"


def _migrate(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


def _old_head_model() -> Any:
    state = MigrationExecutor(connection).loader.project_state(BEFORE)
    return state.apps.get_model("audit", "AuditHead")


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


@pytest.fixture
def at_0003() -> Iterator[tuple[int, str]]:
    """Three entries, then the schema of migration 0003; yields the newest (seq, digest)."""
    for n in range(3):
        trail.record(trail.system("before"), Action.VIEW, object_type="t", object_id=n)
    newest = trail.head()
    _migrate(BEFORE)
    try:
        yield newest
    finally:
        if HEAD_TABLE in _tables():
            # Leave a head the migration accepts, so the suite gets the latest schema.
            seq, digest = trail.head()
            _old_head_model().objects.update_or_create(pk=1, defaults={"seq": seq, "hash": digest})
        (leaf,) = MigrationExecutor(connection).loader.graph.leaf_nodes("audit")
        _migrate(leaf)


def test_a_head_that_equals_the_newest_entry_is_dropped(at_0003: tuple[int, str]) -> None:
    seq, digest = at_0003
    assert HEAD_TABLE in _tables()
    _old_head_model().objects.create(pk=1, seq=seq, hash=digest)
    _migrate(AFTER)
    assert HEAD_TABLE not in _tables()
    assert trail.head() == (seq, digest)
    assert trail.verify(use_checkpoints=False).ok


def test_a_head_that_disagrees_with_the_trail_stops_the_migration(
    at_0003: tuple[int, str],
) -> None:
    """As the previous release's verify would have reported: entries removed (or the head
    altered). The evidence is kept, and the upgrade stops with what to do."""
    seq, _ = at_0003
    _old_head_model().objects.create(pk=1, seq=seq + 2, hash="0" * 64)
    with pytest.raises(RuntimeError, match=f"head says #{seq + 2} but the newest entry is #{seq}"):
        _migrate(AFTER)
    assert HEAD_TABLE in _tables()
    row = _old_head_model().objects.get(pk=1)
    assert (row.seq, row.hash) == (seq + 2, "0" * 64)
