"""Moving what the practice keys seal directly onto the newest practice key.

Signed-form answers, uploaded documents (their names in the database, their bytes in
files) and queued mail bodies are Fernet tokens of the practice key ring itself, not of a
data key. Re-wrapping the data keys does not reach them, so without this an older
practice key could not be retired. ``reverie keys rotate`` (with or without
``--reencrypt``) therefore re-encrypts each under the newest key.

Resumable without a journal: a token that the newest key alone opens is already done and
skipped, so a run stopped midway (killed, a full disk) is simply run again. Each row is
rewritten in its own short transaction under a row lock; a document file is replaced
atomically (a new file, then a rename), never rewritten in place.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import transaction

from reverie.vault import envelope

#: (model, binary column, extra filter): every column sealed by the practice keys directly.
COLUMNS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("paperwork.FormRequest", "ciphertext", {"ciphertext__isnull": False}),
    ("paperwork.Document", "name_ciphertext", {}),
    ("outbox.Message", "body", {"encrypted": True}),
)


def _newest() -> Fernet:
    envelope.practice_cipher()  # no key configured: the vault's clear error
    return Fernet(settings.ENCRYPTION_KEYS[0].encode("ascii"))


def _done(newest: Fernet, token: bytes) -> bool:
    try:
        newest.decrypt(token)
    except InvalidToken:
        return False
    return True


def _rotate(token: bytes) -> bytes:
    try:
        return envelope.practice_cipher().rotate(token)
    except InvalidToken as exc:
        raise envelope.VaultUnavailable(
            "a value sealed by the practice keys opens with none of REVERIE_ENCRYPTION_KEYS"
        ) from exc


def rotate_all(progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Re-encrypt every practice-key token not yet under the newest key; returns how many
    per kind (columns by model label, and ``"document files"``)."""
    newest = _newest()
    counts: dict[str, int] = {}
    done = 0
    for label, column, only in COLUMNS:
        model = apps.get_model(label)
        moved = 0
        ids = list(
            model._default_manager.filter(**only).order_by("pk").values_list("pk", flat=True)
        )
        for pk in ids:
            with transaction.atomic():
                row = (
                    model._default_manager.select_for_update()
                    .filter(pk=pk, **only)
                    .values_list(column, flat=True)
                    .first()
                )
                if not row or _done(newest, bytes(row)):
                    continue
                model._default_manager.filter(pk=pk).update(**{column: _rotate(bytes(row))})
            moved += 1
            done += 1
            if progress is not None:
                progress(done)
        counts[label] = moved
    counts["document files"] = _rotate_files(newest, progress, done)
    return counts


def _rotate_files(newest: Fernet, progress: Callable[[int], None] | None, done: int) -> int:
    from reverie.paperwork import storage

    moved = 0
    names = (
        apps.get_model("paperwork.Document")
        ._default_manager.order_by("pk")
        .values_list("stored_name", flat=True)
    )
    for name in list(names):
        try:
            data = storage.read(name)
        except FileNotFoundError:
            continue
        if _done(newest, data):
            continue
        path = storage._path(name)
        fresh = path.with_name(path.name + ".rotating")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_rotate(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(fresh, path)
        moved += 1
        if progress is not None:
            progress(done + moved)
    return moved
