"""One writer at a time on SQLite, queued in the kernel instead of by polling.

SQLite lets one transaction write at a time; Reverie opens write transactions with
``BEGIN IMMEDIATE``. When several gunicorn processes submit at once, the losers get
``SQLITE_BUSY`` and SQLite's busy handler retries after sleeps of 1, 2, 5, 10 ... 100 ms,
so under load most of a submission's time is spent asleep while the database is idle
(measured in ``bench/bench_fhir_submissions.py``). Taking an exclusive ``flock`` on a file
beside the database first makes writers queue in the kernel and wake the moment the
previous one finishes. PostgreSQL needs none of this and the lock is a no-op there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

_thread_lock = threading.Lock()
_fd: int | None = None
_fd_pid: int | None = None


def _lock_fd() -> int:
    global _fd, _fd_pid
    # A forked gunicorn worker must open its own descriptor: flock belongs to the open
    # file description, which a fork would share with the parent.
    if _fd is None or _fd_pid != os.getpid():
        path = Path(str(connection.settings_dict["NAME"])).with_suffix(".write-lock")
        _fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        _fd_pid = os.getpid()
    return _fd


@contextlib.contextmanager
def serialized_writes() -> Iterator[None]:
    """Hold the database's write lock for the enclosed transaction (SQLite file only)."""
    name = str(connection.settings_dict.get("NAME", ""))
    if connection.vendor != "sqlite" or not name or ":memory:" in name or "mode=memory" in name:
        yield
        return
    with _thread_lock:
        fd = _lock_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
