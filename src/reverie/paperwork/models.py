"""Intake paperwork: a practice's forms, their versions, and each client's copy and signature.

A version is never changed once it exists: a signature points at it and stores its SHA-256,
so the words a client signed can always be shown again and checked (ESIGN §7001(d),
retention; see docs/paperwork.md).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class FormKind(models.TextChoices):
    CONSENT = "consent_to_treatment", "Consent to treatment"
    PRIVACY = "privacy_notice", "Notice of privacy practices"
    TELEHEALTH = "telehealth_consent", "Telehealth consent"
    CANCELLATION = "cancellation_policy", "Cancellation policy"
    RELEASE = "release_of_information", "Release of information"
    HISTORY = "history_questionnaire", "History questionnaire"


class IntakeForm(models.Model):
    """One of a practice's forms. Its words live in its versions."""

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.CASCADE, related_name="intake_forms"
    )
    kind = models.CharField(max_length=32, choices=FormKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["practice", "kind"], name="one_form_per_kind")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class FormVersion(models.Model):
    """The exact words of one version. Immutable: a change is a new version."""

    form = models.ForeignKey(IntakeForm, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    sha256 = models.CharField(max_length=64)
    requires_resigning = models.BooleanField(
        default=False,
        help_text="Clients who signed an earlier version are asked to sign this one.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["form", "-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["form", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class FormRequest(models.Model):
    """One version of a form sent to one client, and the client's signature of it.

    The signature's evidence: who (``signer``, the portal account), when (``signed_at``),
    from which address (``signed_from``), what (``document_sha256``, checked against the
    version at signing), the typed name and any answers (encrypted in ``ciphertext``), and
    the consent to electronic records given with it (``esign_consent_at``).
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="requests")
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_from = models.GenericIPAddressField(null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    esign_consent_at = models.DateTimeField(null=True, blank=True)
    ciphertext = models.BinaryField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["client", "version__form__kind", "-version__number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["client", "version"], name="one_request_per_version"),
            models.CheckConstraint(
                condition=models.Q(signed_at__isnull=True)
                | (models.Q(esign_consent_at__isnull=False) & ~models.Q(document_sha256="")),
                name="signature_has_consent_and_hash",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["client", "signed_at"])]

    def __str__(self) -> str:
        return f"{self.version} for client {self.client_id}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class DocumentKind(models.TextChoices):
    REFERRAL = "referral", "Referral letter"
    REPORT = "report", "Previous report"
    OTHER = "other", "Other document"


class Document(models.Model):
    """A file kept with a client's record: a referral letter, an earlier report.

    The bytes live outside the database, under the data directory, encrypted (Fernet, the
    practice keys) in a file only the service's account may read (``stored_name``). The
    name the uploader gave the file is encrypted in ``name_ciphertext``; the type was
    judged from the content (``paperwork/filetypes.py``) and ``sha256`` is of the
    plaintext, so an export can be checked against the original.
    """

    client = models.ForeignKey("care.Client", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    name_ciphertext = models.BinaryField()
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        indexes: ClassVar = [models.Index(fields=["client", "uploaded_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for client {self.client_id}"
