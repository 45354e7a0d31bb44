"""Migration helpers for indexes Django creates as a side effect of a field, and the
planner's statistics after a bulk load (:func:`gather_statistics`).

Django builds an index for every ``ForeignKey`` and, on PostgreSQL, a second ``LIKE``
index (``varchar_pattern_ops``) for every unique ``CharField``. Where a composite index
already leads with the column, or no query matches with ``LIKE``, each is one more tree
every insert writes. Letting ``AlterField(db_index=False)`` remove one is costly:
on PostgreSQL Django drops and re-adds the foreign key, which re-checks every row under a
lock, and on SQLite it copies the whole table (losing the triggers that guard the audit
trail). :func:`drop_field_index` removes only the index, by the name Django gave it.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, migrations


def _name(schema_editor: Any, table: str, column: str, suffix: str) -> str:
    # The name Django's schema editor gave the index when it created the field.
    return str(schema_editor._create_index_name(table, [column], suffix=suffix))


def drop_field_index(
    table: str, column: str, *, suffix: str = "", vendor: str | None = None
) -> migrations.RunPython:
    """An operation dropping the index Django made for ``table.column`` (``suffix``
    ``"_like"`` for PostgreSQL's pattern index), on ``vendor`` only if given; reversed by
    building it again."""

    def applies(schema_editor: Any) -> bool:
        return vendor is None or schema_editor.connection.vendor == vendor

    def forward(apps: Any, schema_editor: Any) -> None:
        if applies(schema_editor):
            name = _name(schema_editor, table, column, suffix)
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def backward(apps: Any, schema_editor: Any) -> None:
        if applies(schema_editor):
            quote = schema_editor.quote_name
            name = _name(schema_editor, table, column, suffix)
            opclass = " varchar_pattern_ops" if suffix == "_like" else ""
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} "
                f"({quote(column)}{opclass})"
            )

    return migrations.RunPython(forward, backward, elidable=False)


def gather_statistics() -> bool:
    """Run ``ANALYZE`` on PostgreSQL after tables were filled in bulk (a restore, the demo's
    seeding); ``True`` when it ran. A table filled in one go has no statistics until
    autovacuum gets to it, and until then the planner guesses: on a freshly seeded demo the
    therapist's Today took 62-67 ms without and 51-57 ms with it (bench/RESULTS.md).
    PostgreSQL's documentation of pg_dump and pg_restore: "Once restored, it is wise to run
    ANALYZE on each restored table so the optimizer has useful statistics"
    (https://www.postgresql.org/docs/current/app-pgrestore.html, Notes). SQLite plans
    without gathered statistics here, so nothing is done there.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return True
