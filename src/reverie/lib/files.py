"""Files only the service's own account may read.

The data directory holds the SQLite database and its ``-wal``/``-shm`` files, mail
written to ``outbox/`` when no mail server is set (it carries sign-in and password-reset
links) and generated keys. On a shared host, files created with the usual umask (022)
are readable by every local account. Reverie therefore sets the umask 077 at its entry
points (``reverie`` and ``reverie.wsgi``), so everything it creates is private whatever
library creates it, and creates the files that matter with explicit modes as well, so a
script that imports Django some other way still gets private files.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> key = folder / "key"
>>> write_private_file(key, "secret")
>>> oct(key.stat().st_mode & 0o777)
'0o600'
>>> key.chmod(0o644)
>>> tighten(key, PRIVATE_FILE)
(420, 384)
>>> tighten(key, PRIVATE_FILE) is None
True
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Nothing for the group, nothing for others.
PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def use_private_umask() -> int:
    """Make every file and directory this process creates from now on private to its
    account; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by this account only. An existing
    directory is left as it is: :func:`tighten` reports and fixes a wider one."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def create_private_file(path: str | os.PathLike[str]) -> None:
    """Create an empty file with mode 0600 unless it exists. SQLite treats an empty file
    as a new database and gives its ``-wal`` and ``-shm`` files the database's mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def write_private_file(path: Path, text: str) -> None:
    """Write a new file that is private from the moment it exists (no window in which
    it has the default mode, as ``write_text`` then ``chmod`` would have)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_private_bytes(path: Path, data: bytes) -> None:
    """:func:`write_private_file` for bytes (an uploaded document, already encrypted)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def tighten(path: Path, mode: int) -> tuple[int, int] | None:
    """Remove every permission bit ``mode`` does not allow. Returns (old, new) when the
    mode changed, else None; bits are only ever taken away, never added."""
    old = stat.S_IMODE(path.stat().st_mode)
    new = old & mode
    if new == old:
        return None
    path.chmod(new)
    return old, new
