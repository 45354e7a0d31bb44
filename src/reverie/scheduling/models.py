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
    SESSION = "session", "Became the client's first session"


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
    #: The session the consultation became when its person was made a client.
    appointment = models.OneToOneField(
        "care.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultation_booking",
    )

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


#: The late-cancellation window when a practice has not set its own: the window written in
#: the cancellation policy Reverie ships (paperwork/defaults/cancellation_policy.md), so that
#: the portal applies the rule the client signed.
DEFAULT_LATE_CANCEL_HOURS = 48
#: How long a waitlist offer stays open when a practice has not set its own.
DEFAULT_OFFER_HOURS = 24


class SchedulingSettings(models.Model):
    """A practice's scheduling rules. Without a row the defaults apply."""

    practice = models.OneToOneField(
        "accounts.Practice", on_delete=models.CASCADE, related_name="scheduling_settings"
    )
    late_cancel_hours = models.PositiveSmallIntegerField(
        default=DEFAULT_LATE_CANCEL_HOURS,
        help_text="A session cancelled less than this many hours before it starts is a late "
        "cancellation. Keep it the same as in your cancellation policy form.",
    )
    offer_hours = models.PositiveSmallIntegerField(
        default=DEFAULT_OFFER_HOURS,
        help_text="How long a waitlist offer stays open before it goes to the next person.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "scheduling settings"
        verbose_name_plural = "scheduling settings"

    def __str__(self) -> str:
        return f"scheduling settings of practice {self.practice_id}"

    @classmethod
    def for_practice(cls, practice_id: int) -> SchedulingSettings:
        """The practice's settings, or the defaults (unsaved) when it has none."""
        found = cls.objects.filter(practice_id=practice_id).first()
        return found or cls(practice_id=practice_id)


class MoveStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the therapist"
    DONE = "done", "Answered by the therapist"
    WITHDRAWN = "withdrawn", "Withdrawn"


class MoveRequest(models.Model):
    """A client asking, in the portal, to move one session. The therapist answers outside
    the request (they move the session with the calendar tools, or talk about it) and
    marks it answered. Preferences are chosen from lists: no free text to leak."""

    appointment = models.ForeignKey(
        "care.Appointment", on_delete=models.CASCADE, related_name="move_requests"
    )
    client = models.ForeignKey("care.Client", on_delete=models.CASCADE, related_name="+")
    preferred_days = models.JSONField(default=list, blank=True)
    preferred_times = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=MoveStatus.choices, default=MoveStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "request to move a session"
        ordering = ["created_at"]
        constraints: ClassVar = [
            # A second click, or a second tab, cannot ask twice for the same session.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(status="pending"),
                name="one_pending_move_per_session",
            )
        ]

    def __str__(self) -> str:
        return f"request to move session {self.appointment_id}"


class WaitStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a time"
    BOOKED = "booked", "Booked"
    LAPSED = "lapsed", "Did not answer an offer"
    REMOVED = "removed", "Removed"


class WaitlistEntry(models.Model):
    """Someone waiting for a first consultation with a therapist, perhaps only at some
    times of day, because nothing suitable was open when they looked. First come, first
    offered. Holds only what the person typed to be reached."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    times = models.JSONField(
        default=list, blank=True, help_text="Parts of the day that suit; empty: any."
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=WaitStatus.choices, default=WaitStatus.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "pk"]
        indexes: ClassVar = [models.Index(fields=["practice", "status", "created_at"])]
        constraints: ClassVar = [
            # Joining twice (a second click) does not put a person in the queue twice.
            models.UniqueConstraint(
                fields=["therapist", "email"],
                condition=models.Q(status__in=["waiting", "offered"]),
                name="one_live_wait_per_person_and_therapist",
            )
        ]

    def __str__(self) -> str:
        return f"waitlist entry {self.pk}"


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WaitlistOffer(models.Model):
    """A held time offered to one waiting person, by email, until ``expires_at``. The link
    is signed and names this offer and its ``nonce``; the row decides whether it still
    counts, so a used, declined or expired link changes nothing."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="offers")
    nonce = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "waitlist offer"
        ordering = ["created_at", "pk"]
        indexes: ClassVar = [models.Index(fields=["status", "expires_at"])]
        constraints: ClassVar = [
            # One open offer per held time: the hold passes from person to person.
            models.UniqueConstraint(
                fields=["booking"],
                condition=models.Q(status="open"),
                name="one_open_offer_per_booking",
            )
        ]

    def __str__(self) -> str:
        return f"waitlist offer {self.pk}"
