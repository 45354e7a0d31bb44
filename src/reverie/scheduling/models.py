"""Scheduling's data: consultation bookings that hold a therapist's time.

A booking is not a therapy session: the person is not a client yet (``care.Appointment``
belongs to a client's episode). It holds one start of a therapist's time and links to the
consultation request that the intake queue works from.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class BookingStatus(models.TextChoices):
    HELD = "held", "Held for a waitlist offer"
    BOOKED = "booked", "Booked"
    RELEASED = "released", "Released"


#: Statuses in which a booking takes up the therapist's time.
LIVE = (BookingStatus.HELD, BookingStatus.BOOKED)


class Booking(models.Model):
    """One start of a therapist's time, held or booked for a first consultation.

    At most one live (held or booked) booking per therapist and start: a partial unique
    constraint, so when two people take the same time at the same moment the database
    decides, on SQLite and PostgreSQL alike, and the loser is told the time was just taken.
    """

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consultation_bookings"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    request = models.OneToOneField(
        "directory.ConsultationRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="booking",
    )
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "consultation booking"
        ordering = ["starts_at"]
        indexes: ClassVar = [models.Index(fields=["therapist", "starts_at"])]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["therapist", "starts_at"],
                condition=models.Q(status__in=["held", "booked"]),
                name="one_live_booking_per_slot",
            )
        ]

    def __str__(self) -> str:
        return f"consultation at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE
