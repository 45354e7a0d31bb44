"""The front door's data: therapist profiles, practice-edited education pages, consultation
requests and the per-connection counter that rate-limits them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from reverie.vault.fields import EncryptedTextField


class TherapistProfile(models.Model):
    """What a prospective client may see about a therapist. Every field is the
    therapist's own choice to publish; identity fields are optional by design."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    credentials = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    approach = models.TextField(
        blank=True, help_text="The therapist's approach, in their own words."
    )
    modalities = models.JSONField(default=list, blank=True)
    concerns = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    fee = models.PositiveIntegerField(null=True, blank=True, help_text="Per session, in USD.")
    sliding_scale = models.BooleanField(default=False)
    sliding_scale_min = models.PositiveIntegerField(null=True, blank=True)
    insurance = models.JSONField(default=list, blank=True)
    telehealth = models.BooleanField(default=False)
    location = models.CharField(max_length=200, blank=True)
    identity = models.JSONField(default=list, blank=True, help_text="Shared by choice only.")
    weekly_slots = models.JSONField(
        default=list, blank=True, help_text="[[weekday, hour], ...] the therapist offers."
    )
    accepting_new = models.BooleanField(default=True)
    published = models.BooleanField(default=True)
    # The photo lives in the database, re-encoded as a small JPEG without metadata: several
    # app servers may share one PostgreSQL and no file system, and a re-encoded image
    # cannot carry anything but pixels.
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def has_photo(self) -> bool:
        # Lists load profiles without the photo bytes and annotate ``photo_present`` instead,
        # so that asking about a photo does not fetch it once per row.
        present = self.__dict__.get("photo_present")
        if present is not None:
            return bool(present)
        return bool(self.photo)

    @property
    def initials(self) -> str:
        words = [w for w in self.user.display_name.replace("@", " ").split() if w[:1].isalpha()]
        letters = "".join(w[0] for w in (words[:1] + words[-1:] if len(words) > 1 else words))
        return letters.upper() or "?"


class EducationPage(models.Model):
    """A practice's own version of one psychoeducation page. Without a row the shipped
    text is shown; deleting the row restores it."""

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.CASCADE, related_name="education_pages"
    )
    slug = models.SlugField(max_length=60)
    title = models.CharField(max_length=120)
    summary = models.CharField(max_length=300)
    body = models.TextField(help_text="Markdown.")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["practice", "slug"], name="one_page_per_slug")
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.practice_id})"


class RequestStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "In contact"
    BOOKED = "booked", "Consultation booked"
    CONVERTED = "converted", "Became a client"
    CLOSED = "closed", "Closed"


class ConsultationRequest(models.Model):
    """Someone asking the practice for a first consultation, from the public form.

    It holds what the person chose to tell us, and nothing else: no self-check unless they
    ticked the box to attach it. Reads and changes are audited like clinical data.
    """

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.PROTECT, related_name="consultation_requests"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    contact_by = models.CharField(
        max_length=10, choices=[("email", "Email"), ("phone", "Phone")], default="email"
    )
    preferred_therapists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+"
    )
    availability_days = models.JSONField(default=list, blank=True)
    availability_times = models.JSONField(default=list, blank=True)
    # Sealed with the request's own key (scope "request", owner the request's id), so a
    # new row is inserted first and its text saved into it (``save`` below).
    availability_note = EncryptedTextField(max_length=300, blank=True, owner="pk", scope="request")
    message = EncryptedTextField(blank=True, owner="pk", scope="request")
    #: The self-check answers, only when the person chose to attach them.
    selfcheck = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.NEW
    )
    triage_notes = EncryptedTextField(blank=True, owner="pk", scope="request")
    assigned_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    client = models.OneToOneField(
        "care.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultation_request",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    #: Set once by the reminder job when the request has waited too long; claiming it with a
    #: conditional UPDATE means two workers never remind about the same request.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["practice", "status", "created_at"])]

    def __str__(self) -> str:
        return f"consultation request {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The text's key is the request's own, named by its id, which a new row does not
        # have until it is inserted: insert without the text, then seal it into the row,
        # in one transaction so nobody sees the request without its message.
        sealed = ("availability_note", "message", "triage_notes")
        texts = {name: getattr(self, name) for name in sealed if getattr(self, name)}
        if self.pk is not None or not texts:
            super().save(*args, **kwargs)
            return
        with transaction.atomic(using=kwargs.get("using")):
            for name in texts:
                setattr(self, name, "")
            super().save(*args, **kwargs)
            for name, value in texts.items():
                setattr(self, name, value)
            super().save(update_fields=list(texts), using=kwargs.get("using"))


class ConsultationAttempt(models.Model):
    """One submission of the public form, kept for an hour or so to rate-limit by
    connection across every app process. The address is stored only as a keyed digest."""

    ip_digest = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["ip_digest", "at"])]

    def __str__(self) -> str:
        return f"attempt at {self.at:%Y-%m-%d %H:%M}"
