"""Therapist directory profiles (the public face of each therapist)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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

    def __str__(self) -> str:
        return f"profile of {self.user}"
