"""Background work of the data lifecycle."""

from __future__ import annotations

import datetime

from reverie.core.worker import job, worker_id
from reverie.lifecycle import exports


@job("lifecycle.build_exports", every=datetime.timedelta(seconds=5))
def build_exports() -> None:
    """Prepare queued exports of clients' records (each claimed by one worker only)."""
    exports.process_queued(me=worker_id())


@job("lifecycle.expire_exports", every=datetime.timedelta(minutes=15))
def expire_exports() -> None:
    """Delete prepared archives whose download link has expired."""
    exports.expire()
