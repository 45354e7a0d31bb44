"""Scheduling's emails. None names a concern or repeats what a person wrote; a therapist's
notice names no client. Each is queued in the outbox in the caller's transaction."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from reverie.care import ics
from reverie.care.models import Appointment
from reverie.directory.models import TherapistProfile
from reverie.outbox.queue import enqueue
from reverie.scheduling.models import Booking, MoveRequest, WaitlistEntry, WaitlistOffer


def _where(profile: TherapistProfile | None) -> str:
    if profile is None:
        return ""
    if profile.location.strip():
        place = " ".join(profile.location.split())
        return (
            f"{place} (or by video, if you agree it with the practice)"
            if profile.telehealth
            else place
        )
    return (
        "By video: the practice sends you the link before the consultation"
        if profile.telehealth
        else ""
    )


def consultation_ics(
    booking: Booking, profile: TherapistProfile | None, *, cancelled: bool = False
) -> bytes:
    """The calendar file of a booked consultation: a one-off event (``METHOD:PUBLISH``)."""
    practice = booking.practice
    summary = f"First consultation with {booking.therapist.display_name} ({practice.name})"
    return ics.calendar(
        [
            ics.event(
                uid=f"consultation-{booking.pk}@reverie",
                summary=summary,
                start=booking.starts_at,
                minutes=booking.duration_minutes,
                stamp=timezone.now(),
                location=_where(profile),
                cancelled=cancelled,
            )
        ],
        method="PUBLISH",
    )


def booking_confirmed(booking: Booking, profile: TherapistProfile | None) -> None:
    """The person's confirmation, with the consultation as a calendar file."""
    request = booking.request
    if request is None:
        raise ValueError("a booked consultation has its request")
    practice = booking.practice
    enqueue(
        "booking_confirmed",
        request.email,
        {
            "name": request.name,
            "practice": practice,
            "therapist": booking.therapist.display_name,
            "when": timezone.localtime(booking.starts_at, practice.zone),
            "time_zone": practice.zone.key,
            "minutes": booking.duration_minutes,
            "where": _where(profile),
            "crisis_info": practice.crisis_info,
        },
        practice_id=practice.pk,
        dedupe_key=f"booking_confirmed:{booking.pk}",
        attachments=[("consultation.ics", consultation_ics(booking, profile), "text/calendar")],
    )


def booking_for_therapist(booking: Booking) -> None:
    """Tell the therapist a first consultation was booked with them: the time only."""
    practice = booking.practice
    enqueue(
        "booking_for_therapist",
        booking.therapist.email,
        {
            "user": booking.therapist,
            "practice": practice,
            "when": timezone.localtime(booking.starts_at, practice.zone),
            "time_zone": practice.zone.key,
            "link": settings.BASE_URL + reverse("core:home"),
        },
        practice_id=practice.pk,
        dedupe_key=f"booking_for_therapist:{booking.pk}",
    )


def session_cancelled(appointment: Appointment, *, late: bool) -> None:
    """Tell the therapist a session was cancelled in the portal: the time, no name."""
    therapist = appointment.episode.therapist
    practice = appointment.episode.client.practice
    enqueue(
        "session_cancelled",
        therapist.email,
        {
            "user": therapist,
            "practice": practice,
            "when": timezone.localtime(appointment.starts_at, practice.zone),
            "time_zone": practice.zone.key,
            "late": late,
            "link": settings.BASE_URL + reverse("care:today"),
        },
        practice_id=practice.pk,
        dedupe_key=f"session_cancelled:{appointment.pk}",
    )


def move_requested(move: MoveRequest) -> None:
    """Tell the therapist a client asked to move a session: that a request waits, nothing
    else (no name, no time, no preference)."""
    appointment = move.appointment
    therapist = appointment.episode.therapist
    practice = appointment.episode.client.practice
    enqueue(
        "move_requested",
        therapist.email,
        {
            "user": therapist,
            "practice": practice,
            "link": settings.BASE_URL + reverse("scheduling:requests"),
        },
        practice_id=practice.pk,
        dedupe_key=f"move_requested:{move.pk}",
    )


def waitlist_joined(entry: WaitlistEntry) -> None:
    """Confirm to the person that they are on the waitlist."""
    practice = entry.practice
    enqueue(
        "waitlist_joined",
        entry.email,
        {
            "name": entry.name,
            "practice": practice,
            "therapist": entry.therapist.display_name,
            "crisis_info": practice.crisis_info,
        },
        practice_id=practice.pk,
        dedupe_key=f"waitlist_joined:{entry.pk}",
    )


def waitlist_offer(offer: WaitlistOffer, token: str) -> None:
    """Offer a held time to a waiting person, with the signed link to accept or decline."""
    entry, booking = offer.entry, offer.booking
    practice = entry.practice
    enqueue(
        "waitlist_offer",
        entry.email,
        {
            "name": entry.name,
            "practice": practice,
            "therapist": entry.therapist.display_name,
            "when": timezone.localtime(booking.starts_at, practice.zone),
            "time_zone": practice.zone.key,
            "expires": timezone.localtime(offer.expires_at, practice.zone),
            "link": settings.BASE_URL + reverse("scheduling:offer", args=[token]),
        },
        practice_id=practice.pk,
        dedupe_key=f"waitlist_offer:{offer.pk}",
    )
