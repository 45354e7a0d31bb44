"""Data migrations that seal text written before a column was encrypted.

Used from other apps' migrations, after the ``AlterField`` that makes a column an
:class:`~reverie.vault.fields.EncryptedTextField`::

    migrations.RunPython(*seal_columns("process", "JournalEntry", ["title", "text"]))

Better in a migration of its own, after the one with the ``AlterField``: on PostgreSQL a
reversal that rewrites rows and then alters their table in one transaction fails
("pending trigger events"), which process migrations 0004-0005 avoid this way.

Forward, every non-blank value that is not yet a token is sealed with its owner's key
(read through the historical model, whose encrypted field passes old plaintext through);
backward, tokens are opened again so the plain column the earlier state expects holds
text (JSON text for an :class:`~reverie.vault.fields.EncryptedJSONField`). Rows are
updated one by one by primary key, so the migration's memory stays flat.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Q

from reverie.vault import envelope

Operation = Callable[[Any, Any], None]


def seal_columns(app_label: str, model_name: str, fields: list[str]) -> tuple[Operation, Operation]:
    def forward(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        encrypted = {name: model._meta.get_field(name) for name in fields}
        # Only rows with something to seal (most sessions have no cancellation reason).
        has_text = Q()
        for name in fields:
            has_text |= ~Q(**{name: ""})
        rows = model.objects.filter(has_text).order_by("pk")
        for row in rows.iterator(chunk_size=500):
            changes = {}
            for name, field in encrypted.items():
                value = getattr(row, name)
                if value:
                    # pre_save seals plaintext with the owner found on the historical row.
                    changes[name] = field.pre_save(row, add=False)
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)

    def backward(apps: Any, schema_editor: Any) -> None:
        from reverie.vault.fields import EncryptedJSONField

        model = apps.get_model(app_label, model_name)
        conn = schema_editor.connection if schema_editor is not None else connection
        quote = conn.ops.quote_name
        table = quote(model._meta.db_table)
        pk_column = quote(model._meta.pk.column)
        for row in model.objects.order_by("pk").iterator(chunk_size=500):
            for name in fields:
                field = model._meta.get_field(name)
                value = getattr(row, name)
                if not value:
                    continue
                if isinstance(field, EncryptedJSONField):
                    plain = json.dumps(value)
                elif envelope.is_token(value):
                    # Given the state before the column was encrypted, the field is plain
                    # and hands over the token itself.
                    plain = envelope.unseal(value)
                else:
                    plain = value  # opened by the encrypted field's from_db_value
                # Raw SQL: in a real reversal the column's field is still the encrypted one,
                # which refuses plaintext through the ORM, by design.
                with conn.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET {quote(field.column)} = %s "  # noqa: S608
                        f"WHERE {pk_column} = %s",
                        [plain, row.pk],
                    )

    return forward, backward
