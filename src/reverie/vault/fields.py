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

import functools
import json
import logging
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from reverie.vault import envelope
from reverie.vault.models import Scope

log = logging.getLogger(__name__)


def _follow(instance: models.Model, path: str) -> Any:
    value: Any = instance
    for name in path.split("."):
        value = getattr(value, name)
        if value is None:
            return None
    return value


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    description = "Text encrypted with its owner's data key"
    #: Left deferred by ``core.rowsql``'s hand-written reads, so text a hot path does not
    #: show is neither decrypted nor has its key looked up.
    read_lazily = True

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
        return self._seal(model_instance, str(value))

    def _seal(self, model_instance: models.Model, text: str) -> str:
        owner_id = _follow(model_instance, self.owner)
        if owner_id is None:
            raise envelope.VaultError(
                f"{model_instance._meta.label}.{self.name}: no {self.scope} to seal the text "
                f"for ({self.owner} is empty)"
            )
        return envelope.seal(self.scope, owner_id, text)

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


def unread(model: type[models.Model], via: str = "") -> list[str]:
    """The paths of ``model``'s encrypted fields (through the relation ``via``, if given),
    for ``defer()`` on a query whose page or answer never shows that text: reading it would
    look the owner's data key up (a statement per owner, the vault's key cache being
    emptied at each request) and decrypt every value (``core.rowsql.read_fields`` does the
    same for hand-written reads). A list page that joins in an episode decrypts each row's
    goals otherwise, and one that lists notes decrypts every note.

    A deferred field is still read, with one statement per instance, when touched: defer
    only what the code and the template leave alone (``DECRYPTS`` in
    ``tests/browser/test_walk.py`` holds the fields each demo page may decrypt).

    >>> from reverie.care.models import Episode, ProgressNote
    >>> unread(Episode, "episode")
    ['episode__goals']
    >>> unread(ProgressNote)
    ['risk_assessment', 'interventions', 'content', 'plan']
    """
    return list(_unread(model, via))


@functools.cache
def _unread(model: type[models.Model], via: str) -> tuple[str, ...]:
    # Computed once per model and relation: request paths (a FHIR submission's lookup
    # among them) ask for it on every call, and a model's fields do not change.
    prefix = f"{via}__" if via else ""
    return tuple(
        f"{prefix}{f.name}" for f in model._meta.concrete_fields if getattr(f, "read_lazily", False)
    )


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (a theme's list of terms) sealed like text: the column holds the token
    of the value's JSON text, so it is a text column and, like its parent, can be neither
    searched nor filtered on.

    An empty value (``[]``, ``{}``, ``""``) is stored blank. A value that cannot be opened
    (its key destroyed by an erasure, or a damaged token) reads as the field's default
    (an empty list for ``default=list``), never as the ``[erased]`` placeholder: code that
    expects a list would otherwise walk that string letter by letter.
    """

    description = "JSON encrypted with its owner's data key"
    # For django-stubs: the attribute holds decoded JSON, not the column's text.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        if value == "" or (isinstance(value, list | tuple | dict) and not value):
            return ""
        return self._seal(model_instance, json.dumps(value))

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        if value == "":
            return self.get_default()
        text = envelope.unseal(value)
        if text in (envelope.ERASED, envelope.UNREADABLE):
            return self.get_default()
        try:
            return json.loads(text)
        except ValueError:
            log.error("%s.%s holds a value that is not JSON", self.model._meta.label, self.name)
            return self.get_default()

    def to_python(self, value: Any) -> Any:
        # The Python value is the decoded JSON itself, not its text.
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            # A list reaching the database other than through pre_save (update(), a filter).
            raise envelope.VaultError(
                f"{self.model._meta.label}.{self.name} is encrypted: write it with save() or "
                "bulk_create() (not update() or bulk_update()), and do not filter on it"
            )
        return super().get_prep_value(value)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
