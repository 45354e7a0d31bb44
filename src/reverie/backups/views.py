"""The admin's backup page: when the last good backup was, and a warning when that is
more than a day ago or the last attempt failed. Backups cover the whole installation, so
every practice's admin sees the same history; it names files and sizes, never a person."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.backups.models import BackupRun
from reverie.core.decorators import role_required

#: Older than this, the last good backup is shown as a warning.
STALE_AFTER = datetime.timedelta(days=1)


def status() -> dict[str, object]:
    last_ok = BackupRun.objects.filter(ok=True).order_by("-started_at").first()
    last = BackupRun.objects.order_by("-started_at").first()
    now = timezone.now()
    stale = last_ok is None or now - last_ok.finished_at > STALE_AFTER
    return {
        "last_ok": last_ok,
        "last_failed": last if last is not None and not last.ok else None,
        "stale": stale,
        "recent": list(BackupRun.objects.order_by("-started_at")[:20]),
        "scheduled": bool(settings.BACKUP_DIR),
        "recipients": len(settings.BACKUP_RECIPIENTS),
        "keep": settings.BACKUP_KEEP,
    }


@role_required(Role.ADMIN)
def backups(request: HttpRequest) -> HttpResponse:
    return render(request, "backups/status.html", status())
