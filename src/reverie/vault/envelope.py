"""Envelope encryption: per-owner data keys wrapped by the practice keys.

A stored value is ``v1:<data key id>:<Fernet token>``. The Fernet token (AES-128-CBC with
HMAC-SHA256, from ``cryptography``) is made with the owner's data key, a random Fernet
key stored only wrapped by the practice keys (``settings.ENCRYPTION_KEYS`` behind
``MultiFernet``: the first wraps, every one unwraps). Because the token names its key,
reading needs no knowledge of who owns a row, and text sealed before a re-encryption
stays readable until it is re-sealed.

Unwrapped keys are cached in the process. Sealing always asks the database which key is
the owner's current one (one indexed query per write), and the cache only saves
unwrapping it, keyed by the wrapped value itself, so a key created in a transaction that
later rolls back can never seal text. Reading looks keys up by id, cached for a short time
(``CACHE_SECONDS``) and emptied when each request starts, so a key destroyed by another
process stops working here by the next request, or within that time in a worker or
command; a token that does not open with a cached key is tried once more with the key as
stored now (an id freed by a rollback may be reused on SQLite).

The empty string is stored as itself: that a field is blank is not protected.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import request_started
from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.vault.models import DataKey, Scope

log = logging.getLogger(__name__)

PREFIX: Final = "v1:"
#: Shown in place of text whose data key was destroyed (erasure).
ERASED: Final = "[erased]"
#: Shown in place of a token that is damaged or names a key that does not exist.
UNREADABLE: Final = "[unreadable]"
CACHE_SECONDS: Final = 60.0


class VaultUnavailable(RuntimeError):
    """No practice key is configured, or a data key was wrapped by one no longer held."""


class VaultError(ValueError):
    """The vault was used in a way that would store plaintext or lose text."""


@cache
def key_ring(keys: tuple[str, ...]) -> MultiFernet:
    """The practice keys as one ring (newest first encrypts, any decrypts). The one place
    that turns ``REVERIE_ENCRYPTION_KEYS`` into a cipher: process notes and queued mail use
    it too."""
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in keys])
    except (ValueError, UnicodeEncodeError) as exc:
        raise VaultUnavailable(
            "REVERIE_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(generate one with `reverie keys generate`)"
        ) from exc


def practice_cipher() -> MultiFernet:
    keys = tuple(settings.ENCRYPTION_KEYS)
    if not keys:
        raise VaultUnavailable(
            "text is stored encrypted and no encryption key is configured: set "
            "REVERIE_ENCRYPTION_KEYS (generate one with `reverie keys generate`)"
        )
    return key_ring(keys)


def available() -> bool:
    try:
        practice_cipher()
    except VaultUnavailable:
        return False
    return True


# --- the cache of unwrapped keys -------------------------------------------------------

_lock = threading.Lock()
_by_id: dict[int, tuple[float, Fernet | str]] = {}
_by_wrapped: dict[str, Fernet] = {}


def clear_cache(**_: object) -> None:
    with _lock:
        _by_id.clear()
        _by_wrapped.clear()


def connect_request_signals() -> None:
    request_started.connect(clear_cache, dispatch_uid="vault.clear_cache")


# --- keys ------------------------------------------------------------------------------


def _unwrap(key: DataKey) -> Fernet | str:
    if key.destroyed_at is not None:
        return ERASED
    cached = _by_wrapped.get(key.wrapped)
    if cached is not None:
        return cached
    try:
        raw = practice_cipher().decrypt(key.wrapped.encode("ascii"))
    except InvalidToken as exc:
        raise VaultUnavailable(
            f"data key {key.pk} was wrapped by a practice key that is no longer in "
            "REVERIE_ENCRYPTION_KEYS"
        ) from exc
    fernet = Fernet(raw)
    with _lock:
        _by_wrapped[key.wrapped] = fernet
    return fernet


def _cipher(key_id: int, *, fresh: bool = False) -> Fernet | str:
    entry = None if fresh else _by_id.get(key_id)
    if entry is not None and entry[0] >= time.monotonic():
        return entry[1]
    key = DataKey.objects.filter(pk=key_id).first()
    if key is None:
        log.error("a stored token names data key %s, which does not exist", key_id)
        return UNREADABLE
    state = _unwrap(key)
    with _lock:
        _by_id[key_id] = (time.monotonic() + CACHE_SECONDS, state)
    return state


def _create(scope: str, owner_id: int) -> DataKey:
    wrapped = practice_cipher().encrypt(Fernet.generate_key()).decode("ascii")
    try:
        with transaction.atomic():
            return DataKey.objects.create(scope=scope, owner_id=owner_id, wrapped=wrapped)
    except IntegrityError:
        # Another writer made the owner's first key at the same moment: use theirs.
        return DataKey.objects.get(
            scope=scope, owner_id=owner_id, retired_at__isnull=True, destroyed_at__isnull=True
        )


#: Within :func:`one_lookup_per_owner`, each owner's active key as first looked up.
_batch: ContextVar[dict[tuple[str, int], tuple[int, Fernet]] | None] = ContextVar(
    "vault_batch", default=None
)


@contextlib.contextmanager
def one_lookup_per_owner() -> Iterator[None]:
    """Within the block, :func:`seal` looks each owner's active data key up once, not once
    per sealed value. For a bulk writer that seals thousands of values in one transaction
    in which no key is rotated or destroyed (the demo's seeding, where the lookup was a
    third of the time). Outside such a block every seal asks the database, so a key
    destroyed by an erasure is never used again."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def _active_key(scope: str, owner_id: int) -> tuple[int, Fernet]:
    memo = _batch.get()
    if memo is not None and (scope, owner_id) in memo:
        return memo[(scope, owner_id)]
    found = _look_up_active_key(scope, owner_id)
    if memo is not None:
        memo[(scope, owner_id)] = found
    return found


def _look_up_active_key(scope: str, owner_id: int) -> tuple[int, Fernet]:
    key = DataKey.objects.filter(
        scope=scope, owner_id=owner_id, retired_at__isnull=True, destroyed_at__isnull=True
    ).first()
    if key is None:
        if DataKey.objects.filter(
            scope=scope, owner_id=owner_id, destroyed_at__isnull=False
        ).exists():
            raise VaultError(f"{scope} {owner_id} was erased: no new text can be stored")
        key = _create(scope, owner_id)
    state = _unwrap(key)
    if not isinstance(state, Fernet):  # pragma: no cover - the query excludes destroyed keys
        raise VaultError(f"data key {key.pk} is destroyed")
    return key.pk, state


# --- tokens ----------------------------------------------------------------------------


def is_token(value: str) -> bool:
    return value.startswith(PREFIX)


def key_id_of(token: str) -> int | None:
    """The data key a stored token names, or None for anything that is not a token."""
    if not is_token(token):
        return None
    head = token[len(PREFIX) :].split(":", 1)[0]
    return int(head) if head.isdigit() else None


def seal(scope: str, owner_id: int, plaintext: str) -> str:
    """The stored form of ``plaintext``, sealed with the owner's current data key."""
    if plaintext == "":
        return ""
    if scope not in Scope.values:
        raise VaultError(f"unknown key scope {scope!r}")
    key_id, fernet = _active_key(scope, int(owner_id))
    body = fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")
    return f"{PREFIX}{key_id}:{body}"


def unseal(stored: str) -> str:
    """The text of a stored value: a placeholder for erased or damaged text, never an error
    (except a missing practice key, which is a configuration problem to be fixed)."""
    if not is_token(stored):
        # Text stored before its column was encrypted; the vault's data migrations seal
        # all of it, so this is only seen mid-upgrade.
        return stored
    key_id = key_id_of(stored)
    if key_id is None:
        return UNREADABLE
    body = stored[len(PREFIX) + len(str(key_id)) + 1 :].encode("ascii", "replace")
    for fresh in (False, True):
        state = _cipher(key_id, fresh=fresh)
        if isinstance(state, str):
            return state
        try:
            return state.decrypt(body).decode("utf-8")
        except (InvalidToken, UnicodeError):
            continue
    log.error("a token sealed with data key %s does not decrypt", key_id)
    return UNREADABLE


# --- key management --------------------------------------------------------------------


def destroy(scope: str, owner_id: int) -> int:
    """Destroy every data key of an owner (crypto-shredding); returns how many.

    The rows stay as tombstones without key material, so the owner's text reads as
    ``[erased]`` and no new text can be sealed for them.
    """
    count = DataKey.objects.filter(
        scope=scope, owner_id=owner_id, destroyed_at__isnull=True
    ).update(wrapped="", destroyed_at=timezone.now(), retired_at=None)
    clear_cache()
    # Again once committed: a read between here and the commit may have cached the key.
    transaction.on_commit(clear_cache)
    return count


def destroy_client(client_id: int) -> int:
    return destroy(Scope.CLIENT, client_id)


def destroy_consultation(request_id: int) -> int:
    """Destroy a consultation request's key: its message, availability note and triage
    notes read ``[erased]``. Erasing a client who came through the public form needs this
    too, for the request they were converted from."""
    return destroy(Scope.CONSULTATION, request_id)


def rewrap_all() -> int:
    """Re-wrap every live data key under the newest practice key; returns how many.

    Cheap: the data keys, and so every stored token, stay the same. Afterwards an older
    practice key can be removed from ``REVERIE_ENCRYPTION_KEYS``.
    """
    cipher = practice_cipher()
    done = 0
    ids = list(DataKey.objects.filter(destroyed_at__isnull=True).values_list("pk", flat=True))
    for key_id in ids:
        with transaction.atomic():
            key = DataKey.objects.select_for_update().filter(pk=key_id).first()
            if key is None or key.destroyed_at is not None:
                continue
            try:
                key.wrapped = cipher.rotate(key.wrapped.encode("ascii")).decode("ascii")
            except InvalidToken as exc:
                raise VaultUnavailable(
                    f"data key {key_id} was wrapped by a practice key that is no longer "
                    "in REVERIE_ENCRYPTION_KEYS"
                ) from exc
            key.save(update_fields=["wrapped"])
        done += 1
    clear_cache()
    return done
