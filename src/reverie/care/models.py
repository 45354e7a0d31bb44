"""The clinical record: clients, treatment episodes and their sessions."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from reverie.vault.fields import EncryptedTextField

#: Presenting concerns in clinicians' words. The keys are the shared vocabulary of the front
#: door (``directory.selfcheck.CONCERNS``, which words them for the public); a test keeps
#: the two key sets equal.
CONCERN_CHOICES = [
    ("anxiety", "Anxiety"),
    ("depression", "Depression"),
    ("relationships", "Relationships"),
    ("attachment", "Attachment and trust"),
    ("trauma", "Trauma"),
    ("self_esteem", "Self-esteem"),
    ("identity", "Identity"),
    ("grief", "Grief and loss"),
    ("personality", "Personality difficulties"),
    ("panic", "Panic"),
    ("eating", "Eating"),
    ("substance_use", "Substance use"),
    ("work_stress", "Work stress"),
    ("life_transitions", "Life transitions"),
]


#: The client fields a therapist edits: the form shows them and the action accepts only them.
CLIENT_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "pronouns",
    "date_of_birth",
    "email",
    "phone",
    "consent_email_reminders",
    "consent_sms_reminders",
    "emergency_contact",
    "presenting_concerns",
    "referral_source",
    "progress_visible_to_client",
)


class Client(models.Model):
    """A person in care. ``user`` is their portal account, if they have one."""

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.PROTECT, related_name="clients"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="client_record",
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    consent_email_reminders = models.BooleanField(default=False)
    consent_sms_reminders = models.BooleanField(default=False)
    emergency_contact = models.CharField(max_length=200, blank=True)
    presenting_concerns = models.JSONField(default=list, blank=True)
    referral_source = models.CharField(max_length=200, blank=True)
    progress_visible_to_client = models.BooleanField(
        default=False, help_text="The therapist lets the client see their own outcome charts."
    )
    is_synthetic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes: ClassVar = [models.Index(fields=["practice", "family_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.given_name
        return f"{first} {self.family_name}"

    @property
    def concern_labels(self) -> list[str]:
        """Presenting concerns in words (the record stores their keys)."""
        labels = dict(CONCERN_CHOICES)
        return [labels.get(key, key.replace("_", " ")) for key in self.presenting_concerns]

    @property
    def initials(self) -> str:
        return f"{self.given_name[:1]}{self.family_name[:1]}".upper()


class Modality(models.TextChoices):
    PSYCHODYNAMIC = "psychodynamic", "Psychodynamic psychotherapy"
    PSYCHOANALYSIS = "psychoanalysis", "Psychoanalysis"
    CBT = "cbt", "Cognitive behavioural therapy"
    OTHER = "other", "Other"


class EpisodeStatus(models.TextChoices):
    INTAKE = "intake", "Intake"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class EndReason(models.TextChoices):
    MUTUAL = "mutual", "Mutual agreement"
    CLIENT = "client_initiated", "Client-initiated"
    DROPOUT = "dropout", "Dropout"
    REFERRAL = "referral", "Referral elsewhere"


class Episode(models.Model):
    """One course of treatment with one therapist."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="episodes")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="episodes"
    )
    modality = models.CharField(max_length=20, choices=Modality.choices)
    sessions_per_week = models.DecimalField(
        max_digits=3, decimal_places=1, default=1, help_text="0.5 means fortnightly."
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=EpisodeStatus.choices, default="intake")
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    goals = EncryptedTextField(blank=True, help_text="In the client's own words.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start_date"]
        indexes: ClassVar = [models.Index(fields=["therapist", "status"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="episode_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} from {self.start_date}"

    def weeks_in_treatment(self, today: datetime.date | None = None) -> int:
        end = self.end_date or today or timezone.localdate()
        return max(0, (end - self.start_date).days // 7)


class Attendance(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCEL = "late_cancel", "Late cancellation"
    NO_SHOW = "no_show", "No-show"


class SessionSeries(models.Model):
    """A recurring pattern of sessions: weekly or fortnightly on chosen weekdays.

    A change "from a date on" ends this series the day before and starts a new one, so
    sessions already held (and their notes) are never rewritten.
    """

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="series")
    weekdays = models.JSONField(help_text="0 = Monday … 6 = Sunday.")
    every_weeks = models.PositiveSmallIntegerField(default=1, help_text="1 weekly, 2 fortnightly.")
    start_time = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    time_zone = models.CharField(max_length=64, default="UTC")
    video_link = models.URLField(
        max_length=500, blank=True, help_text="Video sessions: the https address to join."
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_on"]

    def __str__(self) -> str:
        return f"series from {self.starts_on}"


class Break(models.Model):
    """A holiday or break in an episode: no sessions are generated inside it."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="breaks")
    starts_on = models.DateField()
    ends_on = models.DateField()
    # Free text ("holiday", but a therapist may write more): sealed with the client's key.
    reason = EncryptedTextField(owner="episode.client_id", max_length=200, blank=True)

    class Meta:
        ordering = ["starts_on"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="break_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"break {self.starts_on}–{self.ends_on}"


class Appointment(models.Model):
    """One therapy session in an episode's calendar."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="appointments")
    series = models.ForeignKey(
        SessionSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    attendance = models.CharField(max_length=12, choices=Attendance.choices, default="scheduled")
    # Sealed with the client's key. A bulk cancellation (a break, an episode's end, a
    # client's conditional cancel) seals the reason once and writes that token with
    # update(); the field accepts tokens there and refuses plaintext.
    cancel_reason = EncryptedTextField(owner="episode.client_id", max_length=200, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    video_link = models.URLField(
        max_length=500, blank=True, help_text="This session only; otherwise the series' link."
    )

    class Meta:
        ordering = ["starts_at"]
        indexes: ClassVar = [
            models.Index(fields=["episode", "starts_at"]),
            models.Index(fields=["starts_at", "reminder_sent_at"]),
        ]
        constraints: ClassVar = [
            # Generating a series twice (two workers, a retried request) cannot double-book.
            models.UniqueConstraint(fields=["episode", "starts_at"], name="one_session_per_slot")
        ]

    def __str__(self) -> str:
        return f"session at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def join_link(self) -> str:
        """The video link of this session: its own, else its series' (may be empty).
        Read with ``select_related("series")`` on lists."""
        if self.video_link:
            return self.video_link
        return self.series.video_link if self.series_id and self.series else ""


class CareGrant(models.Model):
    """Access a practice admin gives a therapist to a client who is not on their caseload
    (cover during leave, supervision). Revoking keeps the row for the record."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="grants")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.therapist} may see {self.client}"


class AlertKind(models.TextChoices):
    CRISIS = "crisis", "Crisis item answered"
    NOT_ON_TRACK = "not_on_track", "Not on track"
    DETERIORATION = "deterioration", "Reliable deterioration"
    OVERDUE = "overdue_measure", "Measure overdue"


class Alert(models.Model):
    """Something a clinician must see. Alerts carry identifiers and a short factual
    summary, never free text from the client; acknowledging one is audited."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="alerts")
    episode = models.ForeignKey(
        Episode, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    summary = models.CharField(max_length=200)
    source_type = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes: ClassVar = [
            models.Index(fields=["client", "acknowledged_at"]),
            models.Index(fields=["kind", "acknowledged_at", "escalated_at"]),
        ]
        constraints: ClassVar = [
            # One open alert per source: a retried submission cannot alert twice.
            models.UniqueConstraint(
                fields=["kind", "source_type", "source_id"],
                condition=~models.Q(source_id=""),
                name="one_alert_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for client {self.client_id}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class FrequencyChange(models.Model):
    """The planned frequency of an episode over time (its history; the episode holds the
    current plan)."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="frequency_changes")
    effective_from = models.DateField()
    sessions_per_week = models.DecimalField(max_digits=3, decimal_places=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["effective_from", "created_at"]

    def __str__(self) -> str:
        return f"{self.sessions_per_week}/week from {self.effective_from}"


class Place(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    TELEHEALTH = "telehealth", "Telehealth (video)"


class ProgressNote(models.Model):
    """The progress note: part of the clinical record. Once signed it is locked; later
    changes are addenda."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="progress_notes")
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="progress_note"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    session_date = models.DateField()
    attendance = models.CharField(max_length=12, choices=Attendance.choices, default="attended")
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    place = models.CharField(
        max_length=12,
        choices=Place.choices,
        default=Place.IN_PERSON,
        help_text="Where the session took place (billing: place of service).",
    )
    risk_assessment = EncryptedTextField(owner="episode.client_id", blank=True)
    interventions = EncryptedTextField(owner="episode.client_id", blank=True)
    content = EncryptedTextField(
        owner="episode.client_id", blank=True, help_text="What happened in the session."
    )
    plan = EncryptedTextField(owner="episode.client_id", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-session_date", "-created_at"]
        indexes: ClassVar = [models.Index(fields=["episode", "session_date"])]

    def __str__(self) -> str:
        return f"progress note {self.session_date}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class NoteAddendum(models.Model):
    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(owner="note.episode.client_id")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"addendum to note {self.note_id}"


class ProcessNote(models.Model):
    """The therapist's private psychotherapy note, encrypted with the client's data key like
    all clinical text (so erasing the client shreds it too); only the author may read it
    (``process.actions.read_process_note``); it never appears in exports, FHIR, search
    indexes or logs."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = EncryptedTextField(owner="episode.client_id")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["author", "episode"])]

    def __str__(self) -> str:
        return f"process note {self.pk}"


class VideoRoom(models.Model):
    """A therapist's own video room: the link new series start with (telehealth)."""

    therapist = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_room"
    )
    url = models.URLField(max_length=500)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"video room of {self.therapist}"


class CalendarFeed(models.Model):
    """A therapist's private iCalendar feed. The URL's token is stored only as a digest."""

    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.therapist}"
