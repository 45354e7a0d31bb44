"""Seeding scheduling with clients: a first consultation booked from the directory.

Everything goes through scheduling's actions with the person who would act (the public for
a booking), so the audit trail reads as in real use. Times are worked out from the moment
the demo is seeded: a booking must be in the future and in a therapist's open times.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from reverie.audit import trail
from reverie.directory.models import TherapistProfile
from reverie.scheduling import actions, openings

#: The synthetic person who booked from the directory.
BOOKER = {"name": "Robin Vale", "email": "robin.vale@example.org", "phone": "555-0142"}


def write_scheduling(seeded: Any) -> None:
    _booked_consultation(seeded)


def _booked_consultation(seeded: Any) -> None:
    public = trail.Context(user=None, label="public:consultation booking", practice=seeded.practice)
    now = timezone.now()
    for therapist in seeded.therapists:
        profile = TherapistProfile.objects.filter(user=therapist).first()
        if profile is None:
            continue
        times = openings.consultation_times(profile, seeded.practice, now=now)
        if not times:
            continue
        actions.book_consultation(
            public,
            seeded.practice,
            profile,
            start=times[len(times) // 2],
            message="I found you in the directory and would like to talk about starting.",
            now=now,
            **BOOKER,
        )
        return
