"""Data migrations that seal text written before a column was encrypted.

Used from other apps' migrations, after the ``AlterField`` that makes a column an
:class:`~reverie.vault.fields.EncryptedTextField`::

    migrations.RunPython(*seal_columns("process", "JournalEntry", ["title", "text"]))

Forward, every non-blank value that is not yet a token is sealed with its owner's key
(read through the historical model, whose encrypted field passes old plaintext through);
backward, tokens are opened again so the plain column the earlier state expects holds
text. Rows are updated one by one by primary key, so the migration's memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reverie.vault import envelope

Operation = Callable[[Any, Any], None]


def seal_columns(app_label: str, model_name: str, fields: list[str]) -> tuple[Operation, Operation]:
    def forward(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        encrypted = {name: model._meta.get_field(name) for name in fields}
        for row in model.objects.order_by("pk").iterator(chunk_size=500):
            changes = {}
            for name, field in encrypted.items():
                value = getattr(row, name)
                if value:
                    # pre_save seals plaintext with the owner found on the historical row.
                    changes[name] = field.pre_save(row, add=False)
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)

    def backward(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        for row in model.objects.order_by("pk").iterator(chunk_size=500):
            changes = {
                name: envelope.unseal(getattr(row, name))
                for name in fields
                if getattr(row, name) and envelope.is_token(getattr(row, name))
            }
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)

    return forward, backward
