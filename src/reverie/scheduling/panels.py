"""The booking section of a therapist's public profile (directory/hooks.py)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.utils import timezone

from reverie.scheduling import openings
from reverie.scheduling.forms import link_value


def booking_panel(request: Any, practice: Any, entry: Any) -> dict[str, Any] | None:
    """The consultation times, grouped by day, as links to the booking form."""
    profile = entry.model
    if not openings.bookable(profile, practice):
        return None
    zone = practice.zone
    times = [
        (timezone.localtime(t, zone), link_value(t))
        for t in openings.consultation_times(profile, practice)
    ]
    days = [(day, list(group)) for day, group in groupby(times, key=lambda t: t[0].date())]
    return {
        "template": "scheduling/_profile_booking.html",
        "booking_days": days,
        "profile": profile,
    }
