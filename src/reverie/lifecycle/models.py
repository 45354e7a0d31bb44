"""Data lifecycle: prepared exports of a client's record."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from reverie.vault.fields import EncryptedTextField


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Being prepared"
    DONE = "done", "Ready to download"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired and deleted"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_EXPORT_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class PreparedExport(models.Model):
    """What every export prepared by the worker keeps: who asked, the claim, the progress
    and the file (or folder) under ``DATA_DIR`` with its expiry. ``lifecycle/exports.py``
    claims, reports, fails and expires any subclass the same way."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    stage = models.CharField(max_length=120, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    #: The file's (or folder's) name under the export folder: random, so it cannot be guessed.
    file_name = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    # Declared here so that code handling any kind of export (lifecycle/exports.py) can
    # reach the manager through the base class; each subclass gets its own.
    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        abstract = True

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


class RecordExport(PreparedExport):
    """One request for a client's complete record, and the file it produced.

    Small records are prepared in the request itself; large ones wait for the worker
    (``lifecycle.build_exports``), which claims them with a conditional UPDATE. The file
    lives under ``DATA_DIR/exports/`` with mode 0600 until ``expires_at``, when the
    ``lifecycle.expire_exports`` job deletes it. Only the person who asked may see the
    request or download the file. ``message`` never holds clinical text.
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    audience = models.CharField(max_length=10)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"record export {self.pk} ({self.status})"


class BulkLevel(models.TextChoices):
    SYSTEM = "system", "System"
    GROUP = "group", "Group"
    PATIENT = "patient", "Patient"


class BulkExport(PreparedExport):
    """One FHIR Bulk Data ``$export`` (lifecycle/bulk.py, docs/fhir.md): the kick-off's
    parameters, and the NDJSON files the worker wrote into a folder
    ``DATA_DIR/bulk/<file_name>/`` (0700, files 0600). The files are served to the person
    who asked, with their token, until ``expires_at``. ``output`` lists
    ``{"type", "file", "count"}`` per file; ``message`` never holds clinical text."""

    level = models.CharField(max_length=10, choices=BulkLevel.choices)
    #: Group level: the therapist whose caseload is the Group.
    group = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    deidentify = models.BooleanField(default=False)
    #: The kick-off URL, as the manifest's ``request`` repeats it.
    request_url = models.CharField(max_length=2000)
    output = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes: ClassVar = [
            models.Index(fields=["status", "created_at"], name="bulk_status_created"),
            models.Index(fields=["status", "expires_at"], name="bulk_status_expires"),
        ]

    def __str__(self) -> str:
        return f"bulk export {self.pk} ({self.status})"


class RetentionPolicy(models.Model):
    """How long a practice keeps a record (see ``lifecycle/retention.py`` for the rule and
    docs/data-lifecycle.md for the law behind the defaults). Edited by the admin."""

    practice = models.OneToOneField(
        "accounts.Practice", on_delete=models.CASCADE, related_name="retention_policy"
    )
    years_after_last_episode = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Years to keep a record after the client's last episode ended.",
    )
    years_after_majority = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="For someone treated as a child: years to keep it after they turned 18.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"retention policy of practice {self.practice_id}"


class RetentionCandidate(models.Model):
    """A record past its retention date, listed by the ``lifecycle.retention_review`` job
    for the admin to review. Listing erases nothing."""

    client = models.OneToOneField(
        "care.Client", on_delete=models.CASCADE, related_name="retention_candidate"
    )
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    last_ended_on = models.DateField(help_text="When the last episode ended (or the record began).")
    keep_until = models.DateField()
    listed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["keep_until", "pk"]

    def __str__(self) -> str:
        return f"client {self.client_id} past retention since {self.keep_until}"


class ErasureStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second admin"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired unconfirmed"
    ERASED = "erased", "Erased"


#: A request nobody confirmed lapses after this long (the requester asks again if still due).
ERASURE_REQUEST_DAYS = 7


class ErasureRequest(models.Model):
    """One admin's request to erase a client, and the second admin's decision on it.

    Two-person rule: the admin who confirms must not be the one who asked (a check
    constraint holds it below the code). At most one request per client is pending. The
    reason is the requester's free text and may name the client, so it is sealed with
    the practice's data key (it must outlive the client's key, which erasure destroys).
    See docs/data-lifecycle.md.
    """

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField(owner="practice_id", scope="practice")
    status = models.CharField(
        max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    #: How many data keys erasure destroyed (for the record; ids are in the ledger).
    keys_destroyed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(status="pending"),
                name="one_pending_erasure_per_client",
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by"))
                | ~models.Q(status="erased"),
                name="erasure_confirmed_by_another_admin",
            ),
        ]

    def __str__(self) -> str:
        return f"erasure request {self.pk} for client {self.client_id} ({self.status})"

    def is_open(self, now: datetime.datetime | None = None) -> bool:
        return self.status == ErasureStatus.PENDING and self.expires_at > (now or timezone.now())
