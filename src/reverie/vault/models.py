"""Data keys: one per client, one per consultation request, and one per practice."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    CLIENT = "client", "Client"
    PRACTICE = "practice", "Practice"
    #: A consultation request's own key: the person is not a client (and may never be),
    #: and a request can be erased on its own. Its text keeps this key after conversion.
    CONSULTATION = "request", "Consultation request"


class DataKey(models.Model):
    """A random Fernet key, stored only wrapped (encrypted) by the practice keys.

    ``owner_id`` is a client's or a practice's primary key, deliberately not a foreign
    key: the vault sits below the apps that own those tables, and a destroyed key must
    outlive nothing it protects. A destroyed key keeps its row as a tombstone (no key
    material), so reading its text says "erased" rather than "missing"; a retired key
    still decrypts but seals nothing new (it is being replaced by ``keys rotate
    --reencrypt``).
    """

    scope = models.CharField(max_length=10, choices=Scope.choices)
    owner_id = models.PositiveBigIntegerField()
    wrapped = models.TextField(blank=True, help_text="The data key, encrypted by the practice key.")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["scope", "owner_id"])]
        constraints: ClassVar = [
            # One key seals new text for an owner; concurrent first writes cannot make two.
            models.UniqueConstraint(
                fields=["scope", "owner_id"],
                condition=models.Q(retired_at__isnull=True, destroyed_at__isnull=True),
                name="one_active_data_key",
            )
        ]

    def __str__(self) -> str:
        return f"data key {self.pk} of {self.scope} {self.owner_id}"
