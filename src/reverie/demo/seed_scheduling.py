"""Seeding scheduling with clients: a first consultation booked from the directory.

Everything goes through scheduling's actions with the person who would act (the public for
a booking), so the audit trail reads as in real use. Times are worked out from the moment
the demo is seeded: a booking must be in the future and in a therapist's open times.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Attendance
from reverie.directory.models import TherapistProfile
from reverie.scheduling import actions, openings, waitlist
from reverie.scheduling.models import WaitlistEntry

#: The synthetic person who booked from the directory.
BOOKER = {"name": "Robin Vale", "email": "robin.vale@example.org", "phone": "555-0142"}


def write_scheduling(seeded: Any, as_of: datetime.datetime) -> None:
    _booked_consultation(seeded)
    _portal_changes(seeded, as_of)
    _waitlist(seeded)


#: Synthetic people on the waitlist: (name, email, therapist index, times of day).
WAITING: tuple[tuple[str, str, int, list[str]], ...] = (
    ("Sam Okafor", "sam.okafor@example.org", 0, ["evening"]),
    ("Lee Marsh", "lee.marsh@example.org", 1, []),
    ("Ari Quinn", "ari.quinn@example.org", 0, ["morning", "evening"]),
    ("Noor Haddad", "noor.haddad@example.org", 2, ["afternoon"]),
)


def _waitlist(seeded: Any) -> None:
    """Four people waiting, who joined over the last fortnight; then the offer job runs, so
    whoever waits for a time that is open now is offered it (held, with a link)."""
    now = timezone.now()
    for n, (name, email, index, times) in enumerate(WAITING):
        therapist = seeded.therapists[index % len(seeded.therapists)]
        joined = now - datetime.timedelta(days=14 - 3 * n)
        entry = WaitlistEntry.objects.create(
            practice=seeded.practice,
            therapist=therapist,
            name=name,
            email=email,
            times=times,
            created_at=joined,
            updated_at=joined,
        )
        # Written directly, not through waitlist.join, which refuses anyone for whom a
        # suitable time is open (the demo wants such a person, to show an offer); the audit
        # entry is the one join writes.
        trail.record(
            trail.Context(user=None, label="public:waitlist", practice=seeded.practice),
            Action.CREATE,
            entry,
            detail={"therapist": therapist.pk, "times": times, "demo_history": True},
        )
    waitlist.offer_open_times(seeded.practice, now=now)


def _portal_changes(seeded: Any, as_of: datetime.datetime) -> None:
    """Two clients with portal accounts use their sessions page: one cancels a session a few
    hours before it (a late cancellation, after the policy was shown), another asks to move
    a session next week. The actions run "as of" those moments, so the demo has both
    whatever day it is seeded."""
    upcoming = (
        Appointment.objects.filter(
            episode__client__practice=seeded.practice,
            episode__client__user__isnull=False,
            attendance=Attendance.SCHEDULED,
            starts_at__gt=as_of + datetime.timedelta(days=1),
        )
        .select_related("episode__client__user")
        .order_by("starts_at")
    )
    used: set[int] = set()
    for appointment in upcoming:
        client = appointment.episode.client
        if client.pk in used:
            continue
        ctx = trail.Context(user=client.user)
        if not used:
            actions.cancel_session(
                ctx,
                client,
                appointment.pk,
                accept_late=True,
                now=appointment.starts_at - datetime.timedelta(hours=5),
            )
        else:
            actions.ask_to_move(
                ctx,
                client,
                appointment.pk,
                days=[appointment.starts_at.weekday(), (appointment.starts_at.weekday() + 1) % 7],
                times=["morning"],
                now=appointment.starts_at - datetime.timedelta(days=4),
            )
        used.add(client.pk)
        if len(used) == 2:
            return


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
