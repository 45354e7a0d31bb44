"""Consultation times from the database: a therapist's offered hours, the sessions in their
calendar, and the live consultation bookings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from reverie.accounts.models import Practice, Role
from reverie.directory.availability import clean_weekly_slots
from reverie.directory.models import TherapistProfile
from reverie.directory.profiles import booked_sessions
from reverie.scheduling import slots
from reverie.scheduling.models import LIVE, Booking


def live_bookings(
    therapist_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, int]]]:
    """(start, minutes) of held and booked consultations: busy time for the directory."""
    found: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    rows = Booking.objects.filter(
        therapist_id__in=therapist_ids, status__in=LIVE, starts_at__gte=start, starts_at__lt=end
    ).values_list("therapist_id", "starts_at", "duration_minutes")
    for therapist_id, starts_at, minutes in rows:
        found[therapist_id].append((starts_at, minutes))
    return found


def bookable(profile: TherapistProfile, practice: Practice) -> bool:
    """Whether this profile takes bookings at all: published, taking new clients, of an
    active therapist of the practice."""
    user = profile.user
    return (
        profile.published
        and profile.accepting_new
        and user.is_active
        and user.role == Role.THERAPIST
        and user.practice_id == practice.pk
    )


def consultation_times(
    profile: TherapistProfile, practice: Practice, *, now: dt.datetime | None = None
) -> list[dt.datetime]:
    """The starts a first consultation with this therapist may be booked into now."""
    if not bookable(profile, practice):
        return []
    now = now or timezone.now()
    try:
        weekly = clean_weekly_slots(profile.weekly_slots or [])
    except ValueError:
        return []  # a corrupted profile offers nothing rather than something wrong
    busy = booked_sessions([profile.user_id], now=now, weeks=slots.BOOKING_WEEKS)
    return slots.open_starts(
        weekly, busy.get(profile.user_id, []), now=now, time_zone=practice.zone.key
    )
