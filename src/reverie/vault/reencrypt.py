"""Re-encrypting stored text under new data keys (``reverie keys rotate --reencrypt``).

Re-wrapping (:func:`reverie.vault.envelope.rewrap_all`) changes only how the data keys are
stored. Re-encrypting replaces the data keys themselves, for when a data key may have been
exposed (an unwrapped key in a core dump, a practice key that leaked together with a copy
of the database): every live key is *retired* (it still decrypts, it seals nothing new),
each owner gets a fresh key the next time text is sealed for them, and every value whose
token names a retired key is read and sealed again. Once no token names a retired key,
the retired keys are deleted.

The run's progress is the data itself, so it survives a killed process without a separate
journal: a key stays retired until the run that retired it finishes, and a value already
sealed again names a live key. Starting again while retired keys remain therefore resumes
the unfinished run (it retires nothing more), and skips every value already moved by
reading only the key id in its token. Text written meanwhile is sealed with the new keys.
Erasure meanwhile is safe: destroying a client's keys clears their retirement, and a
value under a destroyed key is left as it is (it can no longer be read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils import timezone

from reverie.vault import envelope
from reverie.vault.fields import EncryptedTextField
from reverie.vault.models import DataKey

CHUNK = 500


@dataclass
class Outcome:
    resumed: bool
    retired: int
    resealed: int
    deleted: int


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, and their names, in a stable order."""
    found = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def retired_ids() -> set[int]:
    return set(
        DataKey.objects.filter(retired_at__isnull=False, destroyed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def _raw_rows(model: type[models.Model], names: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(pk, {column: stored token}) for every row, by primary key, never decrypting."""
    raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
    last = None
    while True:
        rows = model._default_manager.order_by("pk").annotate(**raw)
        if last is not None:
            rows = rows.filter(pk__gt=last)
        chunk = list(rows.values_list("pk", *raw)[:CHUNK])
        if not chunk:
            return
        for pk, *values in chunk:
            yield pk, {name: value or "" for name, value in zip(names, values, strict=True)}
        last = chunk[-1][0]


def count_stale(retired: set[int] | None = None) -> int:
    """How many stored values still name a retired key (0 when a run has finished)."""
    retired = retired_ids() if retired is None else retired
    if not retired:
        return 0
    return sum(
        1
        for model, names in encrypted_columns()
        for _, tokens in _raw_rows(model, names)
        for token in tokens.values()
        if envelope.key_id_of(token) in retired
    )


def _reseal(model: type[models.Model], pk: int, names: list[str], retired: set[int]) -> int:
    with transaction.atomic():
        row = model._default_manager.select_for_update().filter(pk=pk).first()
        if row is None:
            return 0
        # Read the stored tokens again under the lock: the row may have been rewritten.
        tokens = next(iter(_raw_rows_for(model, names, pk)), {})
        stale = [name for name, token in tokens.items() if envelope.key_id_of(token) in retired]
        if stale:
            # The instance holds plaintext (from_db_value); save() seals it with the owner's
            # current key, which is never a retired one.
            row.save(update_fields=stale)
        return len(stale)


def _raw_rows_for(model: type[models.Model], names: list[str], pk: int) -> Iterator[dict[str, str]]:
    raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
    for values in model._default_manager.filter(pk=pk).annotate(**raw).values_list(*raw):
        yield {name: value or "" for name, value in zip(names, values, strict=True)}


def reencrypt(progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Re-encrypt every stored value under new data keys; resumes an unfinished run.

    ``progress(done, total)`` is called as values are re-sealed (``total`` is counted at
    the start, so text written meanwhile is not in it).
    """
    envelope.practice_cipher()  # no practice key: fail before changing anything
    retired = retired_ids()
    resumed = bool(retired)
    newly = 0
    if not resumed:
        newly = DataKey.objects.filter(retired_at__isnull=True, destroyed_at__isnull=True).update(
            retired_at=timezone.now()
        )
        envelope.clear_cache()
        retired = retired_ids()
    total = count_stale(retired)
    done = 0
    if progress is not None:
        progress(done, total)
    for model, names in encrypted_columns():
        for pk, tokens in _raw_rows(model, names):
            if not any(envelope.key_id_of(token) in retired for token in tokens.values()):
                continue
            done += _reseal(model, pk, names, retired)
            if progress is not None:
                progress(done, total)
    # Nothing names a retired key any more (nothing seals with one), so they can go.
    deleted = 0
    if count_stale(retired) == 0:
        deleted, _ = DataKey.objects.filter(
            pk__in=retired, retired_at__isnull=False, destroyed_at__isnull=True
        ).delete()
    envelope.clear_cache()
    return Outcome(resumed=resumed, retired=newly, resealed=done, deleted=deleted)
