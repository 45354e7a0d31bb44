"""The checkpoint file: the audit trail's head, written down outside the database.

Someone who can write the database (a stolen database password, a compromised database
host) can delete the newest audit entries and move the head back; the chain left behind
is intact. A checkpoint says "on this day the trail reached #N with digest D" somewhere
that person cannot reach: a file in ``REVERIE_AUDIT_CHECKPOINT_DIR``, opened only for
appending, one JSON line per checkpoint, each line MACed with the audit key and chained
to the line before it. Each line is also logged (logger ``reverie.audit.checkpoint``) and,
with ``REVERIE_AUDIT_SYSLOG``, sent to syslog, so a copy can live on another machine.

Only file handling is here; what a line means is in :mod:`reverie.lib.hashchain`, and
taking and checking checkpoints is in :mod:`reverie.audit.trail`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.conf import settings

FILE_NAME = "audit-checkpoints.jsonl"
log = logging.getLogger("reverie.audit.checkpoint")


def path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / FILE_NAME


def read_lines() -> list[str]:
    """The file's lines; none when no checkpoint was ever taken. Other errors (a
    directory that cannot be read) propagate: verification must not pass over them."""
    try:
        return path().read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


@contextmanager
def locked() -> Iterator[IO[str]]:
    """The file opened for appending under an exclusive lock, so a checkpoint taken by
    hand and one taken by the worker cannot interleave (each line names the MAC of the
    line before it). ``O_APPEND`` makes every write land at the end whatever the
    position, so this process never rewrites what is there."""
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / FILE_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        yield handle


def last_mac(lines: list[str]) -> str:
    """The MAC of the last line, which the next line names; empty for a new file or a
    last line that cannot be read (verification reports that line)."""
    for raw in reversed(lines):
        if raw.strip():
            try:
                return str(json.loads(raw)["mac"])
            except (ValueError, KeyError, TypeError):
                return ""
    return ""


def append(handle: IO[str], line: str) -> None:
    """Write one line durably, then ship a copy to the log (and syslog, if set)."""
    handle.write(line + "\n")
    handle.flush()
    os.fsync(handle.fileno())
    log.info("%s", line)
    if settings.AUDIT_SYSLOG:
        _to_syslog(line)


def _to_syslog(line: str) -> None:
    target = settings.AUDIT_SYSLOG
    address: str | tuple[str, int]
    if target.startswith("/"):
        address = target
    else:
        host, _, port = target.rpartition(":")
        address = (host.strip("[]"), int(port))
    handler = logging.handlers.SysLogHandler(
        address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV
    )
    handler.ident = "reverie-audit: "
    try:
        handler.emit(
            logging.makeLogRecord({"msg": line, "levelno": logging.INFO, "levelname": "INFO"})
        )
    finally:
        handler.close()
