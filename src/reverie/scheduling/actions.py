"""Every change scheduling makes, each writing its audit entry in the same transaction.

Views call these and never save scheduling's models themselves. Audit entries carry
identifiers and times, never what a person wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import hooks as care_hooks
from reverie.care.models import Appointment, Attendance, Client, Episode
from reverie.directory import emails as directory_emails
from reverie.directory.matching import TIME_WINDOWS
from reverie.directory.models import ConsultationRequest, RequestStatus, TherapistProfile
from reverie.scheduling import emails, hooks, openings, slots
from reverie.scheduling.models import (
    LIVE,
    Booking,
    BookingStatus,
    MoveRequest,
    MoveStatus,
    SchedulingSettings,
)
from reverie.vault import envelope
from reverie.vault.models import Scope


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
        hooks.consultation_booked.send(sender=Booking, ctx=ctx, booking=booking)
        admins = User.objects.filter(practice=practice, role=Role.ADMIN, is_active=True)
        for admin in admins.order_by("pk"):
            directory_emails.consultation_new(request, admin)
    return booking


# --- the portal: a client cancels or asks to move a session ------------------------------


class LatePolicyApplies(SchedulingError):
    """The cancellation falls inside the late window and the client has not been told yet."""


@dataclass(frozen=True)
class Cancellation:
    appointment: Appointment
    late: bool


def late_window(practice_id: int) -> dt.timedelta:
    return dt.timedelta(hours=SchedulingSettings.for_practice(practice_id).late_cancel_hours)


def is_late(appointment: Appointment, practice_id: int, now: dt.datetime) -> bool:
    """Whether cancelling now falls inside the practice's late-cancellation window."""
    return appointment.starts_at - now < late_window(practice_id)


def _own_session(client: Client, pk: int) -> Appointment:
    """The client's own session, locked for the change; other sessions are not found."""
    found = (
        Appointment.objects.select_for_update()
        .filter(pk=pk, episode__client=client)
        .select_related("episode__therapist", "episode__client__practice")
        .first()
    )
    if found is None:
        raise Appointment.DoesNotExist
    return found


def check_changeable(appointment: Appointment, now: dt.datetime) -> None:
    if appointment.attendance != Attendance.SCHEDULED:
        raise SchedulingError(
            f"This session is no longer scheduled ({appointment.get_attendance_display().lower()}"
            "); nothing was changed."
        )
    if appointment.starts_at <= now:
        raise SchedulingError(
            "This session has already begun, so it can no longer be cancelled or moved here. "
            "Please contact your therapist."
        )


def cancel_session(
    ctx: trail.Context,
    client: Client,
    pk: int,
    *,
    accept_late: bool,
    now: dt.datetime | None = None,
) -> Cancellation:
    """Cancel one of the client's own upcoming sessions.

    Inside the practice's late window the cancellation is recorded as a late cancellation,
    and only when the client has been shown the policy and confirmed (``accept_late``);
    otherwise :class:`LatePolicyApplies` is raised and nothing changes, so a client who read
    "free" a minute before the window began is told again rather than charged silently.
    The row is locked and changed with a conditional UPDATE: two clicks cancel once.
    """
    now = now or timezone.now()
    practice_id = client.practice_id
    with transaction.atomic():
        appointment = _own_session(client, pk)
        check_changeable(appointment, now)
        late = is_late(appointment, practice_id, now)
        if late and not accept_late:
            raise LatePolicyApplies(
                "This session starts within the practice's late-cancellation window, so the "
                "cancellation policy applies. Please read it and confirm."
            )
        attendance = Attendance.LATE_CANCEL if late else Attendance.CANCELLED
        reason = (
            "late cancellation by the client in the portal"
            if late
            else "cancelled by the client in the portal"
        )
        changed = Appointment.objects.filter(pk=pk, attendance=Attendance.SCHEDULED).update(
            # Sealed here: the conditional UPDATE bypasses the field's sealing on save.
            attendance=attendance,
            cancel_reason=envelope.seal(Scope.CLIENT, client.pk, reason),
        )
        if not changed:
            raise SchedulingError("This session is no longer scheduled; nothing was changed.")
        appointment.attendance, appointment.cancel_reason = attendance, reason
        trail.record(
            ctx,
            Action.UPDATE,
            appointment,
            client_id=client.pk,
            detail={
                "attendance": attendance,
                "by": "client",
                "hours_before": int((appointment.starts_at - now).total_seconds() // 3600),
            },
        )
        care_hooks.attendance_recorded.send(sender=Appointment, ctx=ctx, appointment=appointment)
        for move in MoveRequest.objects.filter(appointment=appointment, status=MoveStatus.PENDING):
            move.status, move.answered_at = MoveStatus.WITHDRAWN, now
            move.save(update_fields=["status", "answered_at"])
            trail.record(
                ctx, Action.UPDATE, move, client_id=client.pk, detail={"status": "withdrawn"}
            )
        emails.session_cancelled(appointment, late=late)
        after_time_freed(appointment.episode.therapist, appointment.starts_at, now=now)
    return Cancellation(appointment, late)


def after_time_freed(therapist: User, start: dt.datetime, *, now: dt.datetime) -> None:
    """A session of ``therapist`` at ``start`` was cancelled: if that opened a consultation
    time, the first person waiting for it is offered it, in this transaction."""
    from reverie.scheduling import waitlist  # waitlist builds on these actions

    waitlist.offer_open_times(therapist.practice, therapist_id=therapist.pk, now=now)


def ask_to_move(
    ctx: trail.Context,
    client: Client,
    pk: int,
    *,
    days: list[int],
    times: list[str],
    now: dt.datetime | None = None,
) -> MoveRequest:
    """Ask the therapist to move one of the client's own upcoming sessions. The therapist is
    emailed that a request waits (no times of day, no names); the session stays as it is."""
    now = now or timezone.now()
    if any(d not in range(7) for d in days) or any(t not in TIME_WINDOWS for t in times):
        raise SchedulingError("Choose days and times from the lists.")
    with transaction.atomic():
        appointment = _own_session(client, pk)
        check_changeable(appointment, now)
        if MoveRequest.objects.filter(appointment=appointment, status=MoveStatus.PENDING).exists():
            raise SchedulingError(
                "You have already asked to move this session; your therapist has the request."
            )
        try:
            with transaction.atomic():
                move = MoveRequest.objects.create(
                    appointment=appointment,
                    client=client,
                    preferred_days=sorted(set(days)),
                    preferred_times=[t for t in TIME_WINDOWS if t in times],
                    created_at=now,
                )
        except IntegrityError:
            raise SchedulingError(
                "You have already asked to move this session; your therapist has the request."
            ) from None
        trail.record(
            ctx,
            Action.CREATE,
            move,
            client_id=client.pk,
            detail={
                "appointment": appointment.pk,
                "days": move.preferred_days,
                "times": move.preferred_times,
            },
        )
        emails.move_requested(move)
    return move


def answer_move(ctx: trail.Context, move: MoveRequest) -> None:
    """The therapist marks a request to move as answered (they moved the session with the
    calendar tools, or agreed otherwise with the client)."""
    user = ctx.user
    if user is None or move.appointment.episode.therapist_id != user.pk:
        raise SchedulingError("Only the client's therapist answers this request.")
    with transaction.atomic():
        changed = MoveRequest.objects.filter(pk=move.pk, status=MoveStatus.PENDING).update(
            status=MoveStatus.DONE, answered_at=timezone.now(), answered_by=user
        )
        if not changed:
            raise SchedulingError("This request was already answered or withdrawn.")
        trail.record(ctx, Action.UPDATE, move, client_id=move.client_id, detail={"status": "done"})


def save_settings(
    ctx: trail.Context, practice: Practice, *, late_cancel_hours: int, offer_hours: int
) -> SchedulingSettings:
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != practice.pk:
        raise SchedulingError("Only a practice admin changes the scheduling settings.")
    if not 0 <= late_cancel_hours <= 168 or not 1 <= offer_hours <= 168:
        raise SchedulingError("Use 0 to 168 hours for the window and 1 to 168 for offers.")
    with transaction.atomic():
        row, created = SchedulingSettings.objects.select_for_update().get_or_create(
            practice=practice
        )
        before = (row.late_cancel_hours, row.offer_hours)
        row.late_cancel_hours, row.offer_hours = late_cancel_hours, offer_hours
        row.updated_at = timezone.now()
        row.save()
        trail.record(
            ctx,
            Action.CREATE if created else Action.UPDATE,
            row,
            detail={
                "late_cancel_hours": [before[0], late_cancel_hours],
                "offer_hours": [before[1], offer_hours],
            },
        )
    return row


def booking_to_session(
    ctx: trail.Context, request: ConsultationRequest, episode: Episode
) -> Appointment | None:
    """When a consultation request becomes a client (directory/hooks.py, in the
    conversion's transaction), its booked consultation becomes the first session of the new
    episode: the same time, the same length, in the client's calendar, portal and reminders.

    Nothing happens when there is no booked consultation, or when the client was given to
    another therapist than the one booked: that consultation still takes place with the
    therapist who was booked, so it stays theirs.
    """
    booking = (
        Booking.objects.select_for_update()
        .filter(request=request, status=BookingStatus.BOOKED)
        .first()
    )
    if booking is None or booking.therapist_id != episode.therapist_id:
        return None
    appointment = Appointment.objects.create(
        episode=episode, starts_at=booking.starts_at, duration_minutes=booking.duration_minutes
    )
    # Conditional, so a second conversion attempt racing this one cannot convert twice.
    moved = Booking.objects.filter(pk=booking.pk, status=BookingStatus.BOOKED).update(
        status=BookingStatus.SESSION, appointment=appointment, released_at=timezone.now()
    )
    if not moved:
        raise SchedulingError("This consultation has just been changed. Please try again.")
    trail.record(
        ctx,
        Action.CREATE,
        appointment,
        client_id=episode.client_id,
        detail={"from_booking": booking.pk, "starts_at": booking.starts_at.isoformat()},
    )
    trail.record(
        ctx,
        Action.UPDATE,
        booking,
        detail={"status": BookingStatus.SESSION, "appointment": appointment.pk},
    )
    return appointment
