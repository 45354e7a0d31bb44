"""Booked first consultations in the therapist's diary (care/hooks.py): the Today page and
the private calendar feed list them beside the sessions.

Only *booked* consultations count: a time held for a waitlist offer has nobody coming yet,
and a consultation whose person became a client is a session of theirs by then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse

from reverie.care.hooks import AgendaItem
from reverie.scheduling.models import Booking, BookingStatus


def initials(name: str) -> str:
    """``"Ada M. Lovelace"`` -> ``"A.L."``: what the calendar feed may show."""
    parts = [p for p in name.split() if p[:1].isalpha()]
    if not parts:
        return "?"
    chosen = [parts[0], parts[-1]] if len(parts) > 1 else parts
    return "".join(f"{p[0].upper()}." for p in chosen)


def booked_consultations(therapist: Any, start: dt.datetime, end: dt.datetime) -> list[AgendaItem]:
    rows = Booking.objects.filter(
        therapist=therapist, status=BookingStatus.BOOKED, starts_at__gte=start, starts_at__lt=end
    ).select_related("request")
    url = reverse("scheduling:requests")
    return [
        AgendaItem(
            uid=f"consultation-{b.pk}@reverie",
            kind="First consultation",
            starts_at=b.starts_at,
            minutes=b.duration_minutes,
            name=b.request.name if b.request else "",
            initials=initials(b.request.name) if b.request else "?",
            url=url,
            object_type="directory.consultationrequest",
            object_id=b.request_id,
        )
        for b in rows
    ]
