"""Background work of the process domain."""

from __future__ import annotations

import datetime

from reverie.core.worker import job, worker_id
from reverie.process import theme_runs


@job("process.theme_runs", every=datetime.timedelta(seconds=5))
def run_theme_searches() -> None:
    """Carry out queued recurring-theme searches (each claimed by one worker only)."""
    theme_runs.process_queued(me=worker_id())
