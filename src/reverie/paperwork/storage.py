"""Where uploaded documents are kept: ``DATA_DIR/documents/<practice>/<client>/<random>.bin``,
folders 0700 and files 0600 (``lib/files.py``), each file Fernet-encrypted. Never under
``STATIC_ROOT`` or any other served folder: the only way to a document is the signed-in,
access-checked, audited view. ``reverie backup`` must copy this folder with the database.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings

from reverie.lib.files import make_private_dir, write_private_bytes


def root() -> Path:
    return Path(settings.DATA_DIR) / "documents"


def _path(stored_name: str) -> Path:
    base = root().resolve()
    path = (base / stored_name).resolve()
    # Names are made here, but a row edited by hand must not reach outside the folder.
    if base not in path.parents:
        raise ValueError("a stored document name points outside the documents folder")
    return path


def write(practice_id: int, client_id: int, data: bytes) -> str:
    """Store ``data`` (already encrypted) in a new private file; return its stored name."""
    stored_name = f"{practice_id}/{client_id}/{secrets.token_hex(16)}.bin"
    path = _path(stored_name)
    # One level at a time: mkdir(parents=True) gives the parents the default mode.
    for folder in (root(), path.parent.parent, path.parent):
        make_private_dir(folder)
    write_private_bytes(path, data)
    return stored_name


def read(stored_name: str) -> bytes:
    return _path(stored_name).read_bytes()


def remove(stored_name: str) -> None:
    _path(stored_name).unlink(missing_ok=True)
