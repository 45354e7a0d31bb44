"""The daily backup, when ``REVERIE_BACKUP_DIR`` is set."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings

from reverie.audit import trail
from reverie.backups import actions
from reverie.core.worker import job


# Two hours' lock: a large PostgreSQL dump may take a while, and a second worker must not
# start another backup while the first is still writing.
@job("backups.scheduled", every=datetime.timedelta(days=1), lock_for=datetime.timedelta(hours=2))
def scheduled_backup() -> str:
    if not settings.BACKUP_DIR:
        return "REVERIE_BACKUP_DIR is not set: no scheduled backups"
    ctx = trail.system("backup")
    out_dir = Path(settings.BACKUP_DIR).expanduser()
    # A failure is recorded (for the admin page) and raised, so the worker keeps it as the
    # job's error and logs it too.
    made = actions.create(ctx, out_dir, by="worker")
    gone = actions.prune_recorded(ctx, out_dir, settings.BACKUP_KEEP)
    return f"{made.run.path}; {len(gone)} older archive(s) deleted"
