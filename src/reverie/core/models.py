"""The background worker's bookkeeping."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PeriodicJob(models.Model):
    """One row per periodic job. Workers claim a due job with a conditional UPDATE, so a
    job runs once per period however many workers share the database (no broker)."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
