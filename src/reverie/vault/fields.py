"""``EncryptedTextField``: a text column whose value is sealed by the owner's data key.

The attribute on a model instance is always plaintext; only the column holds the token.
Sealing happens in ``pre_save``, the one place Django hands a field its instance (``save``
and ``bulk_create``), because the data key belongs to the row's client (or practice),
found by following ``owner`` (an attribute path such as ``"episode.client_id"``).
``QuerySet.update`` and ``bulk_update`` never pass the instance, so a plaintext value
reaching the database that way is refused rather than stored; so is a lookup such as
``filter(text__icontains=...)``, which could only ever compare against ciphertext.
Filtering on whether a field is blank (``text=""``) still works: blank is stored as blank.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from reverie.vault import envelope
from reverie.vault.models import Scope


def _follow(instance: models.Model, path: str) -> Any:
    value: Any = instance
    for name in path.split("."):
        value = getattr(value, name)
        if value is None:
            return None
    return value


class EncryptedTextField(models.TextField):
    description = "Text encrypted with its owner's data key"

    def __init__(self, *args: Any, owner: str = "client_id", scope: str = "client", **kwargs: Any):
        if scope not in Scope.values:
            raise ValueError(f"unknown key scope {scope!r}")
        self.owner = owner
        self.scope = scope
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["owner"] = self.owner
        kwargs["scope"] = self.scope
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        owner_id = _follow(model_instance, self.owner)
        if owner_id is None:
            raise envelope.VaultError(
                f"{model_instance._meta.label}.{self.name}: no {self.scope} to seal the text "
                f"for ({self.owner} is empty)"
            )
        return envelope.seal(self.scope, owner_id, str(value))

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return envelope.unseal(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if isinstance(value, str) and value and not envelope.is_token(value):
            raise envelope.VaultError(
                f"{self.model._meta.label}.{self.name} is encrypted: write it with save() or "
                "bulk_create() (not update() or bulk_update()), and do not filter on its text"
            )
        return value
