"""Encryption of message bodies at rest, with the practice keys.

Fernet behind ``MultiFernet`` over ``settings.ENCRYPTION_KEYS`` (newest first: the first
encrypts, every key decrypts). This is deliberately a few private lines rather than an
import of the clinical crypto module, which sits above the outbox in the app order.

Without any key configured (a deployment that has not set ``REVERIE_ENCRYPTION_KEYS``),
bodies are stored unencrypted and marked so, and ``reverie check`` warns (``outbox.W001``):
refusing to queue would lose a crisis alert to protect a link that is wiped minutes later
on delivery, which is the wrong way round. Tests and the demo always have a key.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings

from reverie.vault import envelope


class SealError(RuntimeError):
    """A body cannot be encrypted or decrypted with the configured keys."""


def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return envelope.key_ring(keys)
    except envelope.VaultUnavailable as exc:
        raise SealError(str(exc)) from exc


def keys_configured() -> bool:
    return bool(settings.ENCRYPTION_KEYS)


def seal(plaintext: bytes) -> tuple[bytes, bool]:
    """The stored form of ``plaintext`` and whether it is encrypted."""
    keys = tuple(settings.ENCRYPTION_KEYS)
    if not keys:
        return plaintext, False
    return _cipher(keys).encrypt(plaintext), True


def unseal(stored: bytes, encrypted: bool) -> bytes:
    if not encrypted:
        return stored
    keys = tuple(settings.ENCRYPTION_KEYS)
    if not keys:
        raise SealError("this message is encrypted and no REVERIE_ENCRYPTION_KEYS are set")
    try:
        return _cipher(keys).decrypt(stored)
    except InvalidToken as exc:
        raise SealError("this message was encrypted with a key that is no longer set") from exc
