"""Instruments and their administrations."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Instrument(models.Model):
    """A questionnaire. ``definition`` holds the whole data-file definition (items,
    options, scoring, bands, norms, licence); see docs/instruments.md."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40, default="1")
    definition = models.JSONField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    PORTAL = "portal", "Client portal"
    LINK = "link", "One-time link"
    PAPER = "paper", "Paper form entered by the therapist"
    FHIR = "fhir", "FHIR API"
    DEMO = "demo", "Synthetic demo data"


class Timepoint(models.TextChoices):
    INTAKE = "intake", "Intake"
    SESSION = "session", "Before a session"
    FOLLOWUP_1M = "followup_1m", "1 month after ending"
    FOLLOWUP_3M = "followup_3m", "3 months after ending"
    FOLLOWUP_6M = "followup_6m", "6 months after ending"
    FOLLOWUP_12M = "followup_12m", "12 months after ending"


class Administration(models.Model):
    """One completed questionnaire, scored at submission and never rescored silently."""

    client = models.ForeignKey(
        "care.Client", on_delete=models.PROTECT, related_name="administrations"
    )
    episode = models.ForeignKey(
        "care.Episode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administrations",
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="administrations"
    )
    completed_at = models.DateTimeField(default=timezone.now)
    timepoint = models.CharField(max_length=16, choices=Timepoint.choices, default="session")
    source = models.CharField(max_length=10, choices=Source.choices)
    answers = models.JSONField(default=dict)
    total = models.IntegerField()
    band = models.CharField(max_length=40, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["completed_at"]
        indexes: ClassVar = [
            models.Index(fields=["client", "instrument", "completed_at"]),
            models.Index(fields=["episode", "instrument", "completed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.total} at {self.completed_at:%Y-%m-%d}"
