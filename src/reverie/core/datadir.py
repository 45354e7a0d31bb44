"""Keeping the data directory private at start-up.

Every Reverie process (web, worker, commands) runs :func:`secure` once, from
``CoreConfig.ready``. A data directory made before Reverie set its umask, copied with
``cp -r`` or unpacked from an archive may be readable by other local accounts; its
database, mail files (which hold sign-in links) and keys would then be too. Permissions
wider than private are narrowed, and each change is logged so that the operator learns
the directory was exposed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from reverie.lib.files import PRIVATE_DIR, PRIVATE_FILE, make_private_dir, tighten

log = logging.getLogger("reverie.files")


def _tighten(path: Path, mode: int) -> None:
    try:
        changed = tighten(path, mode)
    except OSError as exc:  # not ours (another account's directory): say so, carry on
        log.warning("could not make %s private: %s", path, exc)
        return
    if changed is not None:
        log.warning(
            "%s was readable by other accounts (mode %o); narrowed to %o",
            path,
            changed[0],
            changed[1],
        )


def _private_tree(folder: Path) -> None:
    """The folder and every file directly in it (not symlinks, not subfolders)."""
    _tighten(folder, PRIVATE_DIR)
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink():
            _tighten(entry, PRIVATE_FILE)


def secure() -> None:
    """Make the data directory, the files in it (database, WAL, keys), the audit
    checkpoints and the mail outbox private; create the outbox private when mail is
    written to files."""
    data_dir = Path(settings.DATA_DIR)
    make_private_dir(data_dir)
    _private_tree(data_dir)
    # Created private by audit.checkpoints; one copied in from elsewhere may not be. It
    # may live outside the data directory (REVERIE_AUDIT_CHECKPOINT_DIR).
    checkpoints = Path(settings.AUDIT_CHECKPOINT_DIR)
    if checkpoints.is_dir() and not checkpoints.is_symlink():
        _private_tree(checkpoints)
    outbox = getattr(settings, "EMAIL_FILE_PATH", None)
    if outbox is None:
        return
    outbox = Path(outbox)
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        make_private_dir(outbox)
    if outbox.is_dir() and not outbox.is_symlink():
        _private_tree(outbox)
