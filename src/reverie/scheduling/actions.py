"""Every change scheduling makes, each writing its audit entry in the same transaction.

Views call these and never save scheduling's models themselves. Audit entries carry
identifiers and times, never what a person wrote.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.directory import emails as directory_emails
from reverie.directory.models import ConsultationRequest, RequestStatus, TherapistProfile
from reverie.scheduling import emails, openings, slots
from reverie.scheduling.models import LIVE, Booking, BookingStatus


class SchedulingError(ValueError):
    """The change cannot be made; the message is safe to show and nothing was changed."""


class SlotTaken(SchedulingError):
    """Someone else holds or booked this time, perhaps a moment ago."""


class AlreadyBooked(SchedulingError):
    """The same person already booked this time (a second click, a resent form)."""


def check_start(start: dt.datetime, now: dt.datetime) -> None:
    if start.tzinfo is None:
        raise SchedulingError("That time could not be read. Please choose one from the list.")
    if start <= now:
        raise SchedulingError("That time has already passed. Please choose a later one.")
    if start < now + slots.NOTICE:
        raise SchedulingError(
            "That time is too soon to book online. Please choose a later one, or ask the "
            "practice for a consultation."
        )


def taken_or_forged(profile: TherapistProfile, start: dt.datetime, email: str) -> SchedulingError:
    """Why ``start`` is not open: someone's booking (this person's own, or another's), or
    not a time the therapist offers at all."""
    live = (
        Booking.objects.filter(therapist_id=profile.user_id, starts_at=start, status__in=LIVE)
        .select_related("request")
        .first()
    )
    if live is not None:
        if email and live.request is not None and live.request.email == email:
            return AlreadyBooked(
                "You have already booked this time; the confirmation is on its way to your "
                "email. Nothing else was booked."
            )
        return SlotTaken(
            "Sorry, this time was just taken by someone else. Please choose another time."
        )
    return SchedulingError(
        f"That is not one of {profile.user.display_name}'s open times. Please choose a time "
        "from the list."
    )


def book_consultation(
    ctx: trail.Context,
    practice: Practice,
    profile: TherapistProfile,
    *,
    start: dt.datetime,
    name: str,
    email: str,
    phone: str = "",
    message: str = "",
    now: dt.datetime | None = None,
) -> Booking:
    """Book a first consultation into one of the therapist's open times.

    The booking and its consultation request are written in one transaction with their
    audit entries and emails (the person's confirmation with a calendar file, the admins'
    notice of a new request, the therapist's notice of the booking). The time is held by the
    insert itself: the unique constraint on live bookings decides between two people who
    pick it at once, and the loser gets :class:`SlotTaken` with nothing written.
    """
    now = now or timezone.now()
    name = " ".join(name.split())
    email = email.strip().lower()
    if not name or not email:
        raise SchedulingError("A booking needs your name and email address.")
    check_start(start, now)
    if not openings.bookable(profile, practice):
        raise SchedulingError(
            f"{profile.user.display_name} is not taking bookings right now. You can still ask "
            "the practice for a consultation."
        )
    therapist = profile.user
    with transaction.atomic():
        if start not in openings.consultation_times(profile, practice, now=now):
            raise taken_or_forged(profile, start, email)
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    practice=practice,
                    therapist=therapist,
                    starts_at=start,
                    duration_minutes=slots.MINUTES,
                    status=BookingStatus.BOOKED,
                )
        except IntegrityError:
            # Another booking of this time committed between our check and our insert.
            raise taken_or_forged(profile, start, email) from None
        request = ConsultationRequest.objects.create(
            practice=practice,
            name=name,
            email=email,
            phone=phone.strip(),
            contact_by="email",
            message=message.strip(),
            status=RequestStatus.BOOKED,
            assigned_therapist=therapist,
        )
        request.preferred_therapists.set([therapist])
        booking.request = request
        booking.save(update_fields=["request"])
        trail.record(
            ctx,
            Action.CREATE,
            request,
            detail={"therapists": [therapist.pk], "booking": booking.pk},
        )
        trail.record(
            ctx,
            Action.CREATE,
            booking,
            detail={
                "therapist": therapist.pk,
                "starts_at": start.isoformat(),
                "request": request.pk,
            },
        )
        emails.booking_confirmed(booking, profile)
        emails.booking_for_therapist(booking)
        admins = User.objects.filter(practice=practice, role=Role.ADMIN, is_active=True)
        for admin in admins.order_by("pk"):
            directory_emails.consultation_new(request, admin)
    return booking
