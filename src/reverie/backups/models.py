"""One row per backup attempt, so the admin page can say when the last good one was."""

from __future__ import annotations

from django.db import models


class BackupRun(models.Model):
    """A backup taken by ``reverie backup`` or the worker: where it went, or why it failed.

    Holds no clinical data: a file name, a size, the archive's SHA-256 (so an operator can
    check a copy kept elsewhere) and the error text of a failure."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    #: ``worker`` or ``command``: who took it.
    by = models.CharField(max_length=100)
    path = models.CharField(max_length=1000, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    audit_seq = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ok", "-started_at"], name="backup_ok_started")]

    def __str__(self) -> str:
        return f"backup of {self.started_at:%Y-%m-%d %H:%M}"
