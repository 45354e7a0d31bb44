"""Data lifecycle: prepared exports of a client's record."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Being prepared"
    DONE = "done", "Ready to download"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired and deleted"


ACTIVE_EXPORT_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class RecordExport(models.Model):
    """One request for a client's complete record, and the file it produced.

    Small records are prepared in the request itself; large ones wait for the worker
    (``lifecycle.build_exports``), which claims them with a conditional UPDATE. The file
    lives under ``DATA_DIR/exports/`` with mode 0600 until ``expires_at``, when the
    ``lifecycle.expire_exports`` job deletes it. Only the person who asked may see the
    request or download the file. ``message`` never holds clinical text.
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    audience = models.CharField(max_length=10)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    stage = models.CharField(max_length=120, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    #: The archive's name inside ``DATA_DIR/exports/``: random, so it cannot be guessed.
    file_name = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"record export {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_EXPORT_STATUSES

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    def is_downloadable(self, now: datetime.datetime | None = None) -> bool:
        return (
            self.status == ExportStatus.DONE
            and self.expires_at is not None
            and self.expires_at > (now or timezone.now())
        )
