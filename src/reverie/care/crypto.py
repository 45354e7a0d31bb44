"""Encryption with the practice key itself, for what is not (yet) on per-client data keys:
signed forms and uploaded documents (paperwork). Process notes used it until they moved
to the client's data key (care migration 0009).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) behind ``MultiFernet``: the
first configured key encrypts, every key decrypts, and ``rotate`` re-encrypts a token
under the first key. Keys come from ``REVERIE_ENCRYPTION_KEYS`` (or ``_FILE``), newest
first.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from reverie.vault import envelope

#: No key is configured, or something was encrypted with a key no longer held. The vault's
#: own error, so that one ``except`` covers text on data keys and on the practice key.
EncryptionUnavailable = envelope.VaultUnavailable


def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return envelope.key_ring(keys)
    except envelope.VaultUnavailable as exc:
        raise EncryptionUnavailable(str(exc)) from exc


def cipher() -> MultiFernet:
    keys = tuple(settings.ENCRYPTION_KEYS)
    if not keys:
        raise EncryptionUnavailable(
            "process notes need an encryption key: set REVERIE_ENCRYPTION_KEYS "
            "(generate one with `reverie keys generate`)"
        )
    return _cipher(keys)


def available() -> bool:
    try:
        cipher()
    except EncryptionUnavailable:
        return False
    return True


def encrypt(plaintext: str) -> bytes:
    return cipher().encrypt(plaintext.encode("utf-8"))


def decrypt(token: bytes | memoryview) -> str:
    try:
        return cipher().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise EncryptionUnavailable(
            "this note was encrypted with a key that is no longer configured"
        ) from exc


def rotate(token: bytes | memoryview) -> bytes:
    """Re-encrypt under the newest key (a no-op in meaning, a new ciphertext in bytes)."""
    try:
        return cipher().rotate(bytes(token))
    except InvalidToken as exc:
        raise EncryptionUnavailable(
            "a note was encrypted with a key that is no longer configured"
        ) from exc


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
