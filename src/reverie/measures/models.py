"""Instruments, what is scheduled, what is asked of a client, and what they answered.

- ``Instrument``: a questionnaire definition (shipped, or imported by a practice).
- ``MeasureSchedule``: which instruments an episode uses, before sessions and after it ends.
- ``MeasureRequest``: one questionnaire a client is asked to complete, in a time window.
- ``RequestLink``: a one-time link to a request, stored only as a digest.
- ``Draft``: a client's partial answers to a request, saved on the server.
- ``Administration``: one completed questionnaire, scored when it is stored.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Instrument(models.Model):
    """A questionnaire. ``definition`` holds the whole data-file definition (items,
    options, scoring, bands, norms, licence); see docs/instruments.md.

    Shipped instruments (``practice`` empty) are shared by every practice; an instrument
    imported from a FHIR Questionnaire belongs to the practice that imported it.
    """

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40, default="1")
    definition = models.JSONField()
    practice = models.ForeignKey(
        "accounts.Practice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instruments",
        help_text="Empty for instruments shipped with Reverie.",
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shipped(self) -> bool:
        return self.practice_id is None


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


#: Follow-up months a schedule may use, and the timepoint each is recorded under.
FOLLOWUP_TIMEPOINTS: dict[int, str] = {
    1: Timepoint.FOLLOWUP_1M,
    3: Timepoint.FOLLOWUP_3M,
    6: Timepoint.FOLLOWUP_6M,
    12: Timepoint.FOLLOWUP_12M,
}


class MeasureSchedule(models.Model):
    """How one instrument is used in one episode. An episode without rows uses the
    defaults in :mod:`reverie.measures.scheduling`; once the therapist saves a schedule,
    its rows are the whole truth (a row with nothing ticked means "not used")."""

    episode = models.ForeignKey(
        "care.Episode", on_delete=models.CASCADE, related_name="measure_schedules"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    before_sessions = models.BooleanField(default=True)
    followup_months = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["instrument__code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["episode", "instrument"], name="one_schedule_row")
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} schedule of episode {self.episode_id}"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for answers"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class MeasureRequest(models.Model):
    """A questionnaire the client is asked to complete between ``opens_at`` and
    ``expires_at``. Its ``administration`` (at most one) is the answer."""

    client = models.ForeignKey(
        "care.Client", on_delete=models.PROTECT, related_name="measure_requests"
    )
    episode = models.ForeignKey(
        "care.Episode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="measure_requests",
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="requests")
    timepoint = models.CharField(max_length=16, choices=Timepoint.choices, default="session")
    appointment = models.ForeignKey(
        "care.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="measure_requests",
    )
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    #: BCP 47 tag of the translation the form opens in (the therapist's choice for the
    #: client); empty means the instrument's own language. The client can still switch.
    language = models.CharField(max_length=35, blank=True, default="")
    opens_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    remind_at = models.DateTimeField(null=True, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opens_at"]
        indexes: ClassVar = [
            models.Index(fields=["client", "status"]),
            models.Index(fields=["status", "opens_at", "link_sent_at"]),
            models.Index(fields=["status", "remind_at", "reminder_sent_at"]),
        ]
        constraints: ClassVar = [
            # A job that runs twice, or two workers at once, cannot ask twice for one session.
            models.UniqueConstraint(
                fields=["appointment", "instrument"],
                condition=models.Q(appointment__isnull=False),
                name="one_request_per_session",
            ),
            # Ending an episode twice (or a retried request) cannot double the follow-ups.
            models.UniqueConstraint(
                fields=["episode", "instrument", "timepoint"],
                condition=models.Q(timepoint__startswith="followup_"),
                name="one_request_per_followup",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("opens_at")),
                name="request_window_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} for client {self.client_id} ({self.status})"

    def is_answerable(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status == RequestStatus.OPEN and self.opens_at <= now < self.expires_at


class RequestLink(models.Model):
    """A one-time link to one request. Only the SHA-256 digest of the token is kept; the
    link works until the request is completed or expires."""

    request = models.ForeignKey(MeasureRequest, on_delete=models.CASCADE, related_name="links")
    digest = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=10, default="invite")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"link to request {self.request_id}"


class Draft(models.Model):
    """Answers given so far. ``key`` is the idempotency key the final submission uses, so
    a double tap or a retried submission can never store two administrations."""

    request = models.OneToOneField(MeasureRequest, on_delete=models.CASCADE, related_name="draft")
    answers = models.JSONField(default=dict)
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"draft of request {self.request_id}"


class Administration(models.Model):
    """One completed questionnaire, scored at submission and never rescored silently."""

    # No index of its own on ``client`` or ``episode``: the two composite indexes below
    # lead with them and serve every lookup by either alone. Each index is one more tree
    # every submission writes (bench/RESULTS.md, 2026-12-07: indexes on the hot tables).
    client = models.ForeignKey(
        "care.Client", on_delete=models.PROTECT, related_name="administrations", db_index=False
    )
    episode = models.ForeignKey(
        "care.Episode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administrations",
        db_index=False,
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="administrations"
    )
    completed_at = models.DateTimeField(default=timezone.now)
    timepoint = models.CharField(max_length=16, choices=Timepoint.choices, default="session")
    source = models.CharField(max_length=10, choices=Source.choices)
    answers = models.JSONField(default=dict)
    #: Exactly the scoring engine's total, which is always a whole number here: instruments
    #: whose totals can be fractional are refused on import and at submission, never
    #: truncated (``scoring.stored_total``). Subscale scores in ``result`` may be fractional.
    total = models.IntegerField()
    band = models.CharField(max_length=40, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # On PostgreSQL ``unique=True`` also builds a ``LIKE`` index that no query uses; migration
    # measures 0004 drops it.
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    instrument_version = models.CharField(max_length=40, blank=True)
    #: Subscale scores, critical items hit and missing items: {"subscales": {id: score},
    #: "critical": [item ids], "missing": [item ids], "prorated": bool}.
    result = models.JSONField(default=dict, blank=True)
    has_critical = models.BooleanField(default=False)
    request = models.OneToOneField(
        MeasureRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administration",
    )
    #: The FHIR ``QuestionnaireResponse.identifier`` the sender gave, echoed back on read.
    identifier = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["completed_at"]
        indexes: ClassVar = [
            models.Index(fields=["client", "instrument", "completed_at"]),
            models.Index(fields=["episode", "instrument", "completed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.total} at {self.completed_at:%Y-%m-%d}"
