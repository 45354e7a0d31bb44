"""The outbox: one row per outgoing message."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    PENDING = "pending", "waiting to be sent"
    SENDING = "sending", "being sent"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"


class Message(models.Model):
    """A message on its way out, and afterwards the record that it went (or did not).

    The body (subject, text and HTML) may hold secrets — a set-password link, a one-time
    questionnaire link — so it is stored encrypted with the practice keys and wiped once
    the message is delivered. What stays is metadata: who, which template, what happened.

    ``practice_id`` is a plain column rather than a foreign key: the outbox sits below
    ``accounts`` in the app order and must not depend on it; the admin page filters by it.
    """

    channel = models.CharField(max_length=20, default="email")
    practice_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    template = models.CharField(max_length=100)
    recipient = models.CharField(max_length=254)
    body = models.BinaryField(blank=True, default=b"")
    encrypted = models.BooleanField(default=True)
    dedupe_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Identifiers only. The same key never queues a second message.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient} ({self.status})"

    @property
    def has_body(self) -> bool:
        return bool(self.body)
