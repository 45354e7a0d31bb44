"""The waitlist: people waiting for a therapist (perhaps only at some times of day) are
offered a freed or new consultation time, first come first offered, by a signed link that
stays open for the practice's offer time.

An offered time is **held** (a live booking without a request), so nobody can book it from
the directory while the person decides; accepting turns the hold into a booking with the
same race rule as the directory (a conditional UPDATE, one winner). Declining or letting the
offer expire passes the hold to the next person waiting for that time; with nobody left the
hold is released and the time is open to everyone again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.directory import emails as directory_emails
from reverie.directory.matching import TIME_WINDOWS
from reverie.directory.models import ConsultationRequest, RequestStatus, TherapistProfile
from reverie.directory.profiles import published_profiles
from reverie.scheduling import emails, hooks, openings, slots
from reverie.scheduling.actions import SchedulingError
from reverie.scheduling.models import (
    Booking,
    BookingStatus,
    OfferStatus,
    SchedulingSettings,
    WaitlistEntry,
    WaitlistOffer,
    WaitStatus,
)

#: Signed links are refused after this long whatever the row says (the longest offer time a
#: practice may set); the row's ``expires_at`` is the practice's own, shorter limit.
LINK_MAX_AGE = dt.timedelta(hours=168)
_SALT = "reverie.scheduling.offer"
LIVE_WAIT = (WaitStatus.WAITING, WaitStatus.OFFERED)


class OfferUnavailable(SchedulingError):
    """The link is forged, expired, used or withdrawn. One neutral message for all."""

    def __init__(self) -> None:
        super().__init__(
            "This link cannot be used any more. Offers are open for a limited time and only "
            "once; the time may have gone to someone else. Nothing was changed."
        )


def offer_token(offer: WaitlistOffer) -> str:
    return signing.dumps({"o": offer.pk, "n": offer.nonce}, salt=_SALT, compress=False)


def offer_from_token(token: str) -> WaitlistOffer:
    """The open offer this link names, or :class:`OfferUnavailable`."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)
        pk, nonce = int(data["o"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise OfferUnavailable from None
    offer = (
        WaitlistOffer.objects.select_related("entry", "booking__therapist", "booking__practice")
        .filter(pk=pk, nonce=nonce)
        .first()
    )
    if offer is None or offer.status != OfferStatus.OPEN or offer.expires_at <= timezone.now():
        raise OfferUnavailable
    return offer


def _suits(entry: WaitlistEntry, start: dt.datetime, zone: str) -> bool:
    return not entry.times or slots.part_of_day(start, zone) in entry.times


# --- joining ----------------------------------------------------------------------------------


def join(
    ctx: trail.Context,
    practice: Practice,
    profile: TherapistProfile,
    *,
    name: str,
    email: str,
    phone: str = "",
    times: list[str],
    now: dt.datetime | None = None,
) -> WaitlistEntry:
    """Put a person on the waitlist for a therapist; refused while a time that suits them
    is open (they can book it now) and when they are already waiting."""
    now = now or timezone.now()
    name, email = " ".join(name.split()), email.strip().lower()
    if not name or not email:
        raise SchedulingError("Joining the waitlist needs your name and email address.")
    if any(t not in TIME_WINDOWS for t in times):
        raise SchedulingError("Choose times of day from the list.")
    if not openings.bookable(profile, practice):
        raise SchedulingError(
            f"{profile.user.display_name} is not taking new clients, so there is no waitlist."
        )
    zone = practice.zone.key
    open_now = [
        t
        for t in openings.consultation_times(profile, practice, now=now)
        if not times or slots.part_of_day(t, zone) in times
    ]
    if open_now:
        raise SchedulingError(
            "A time that suits you is open now, so you can book it straight away instead of "
            "waiting. Please choose one from the list."
        )
    with transaction.atomic():
        if WaitlistEntry.objects.filter(
            therapist=profile.user, email=email, status__in=LIVE_WAIT
        ).exists():
            raise SchedulingError(
                f"You are already on {profile.user.display_name}'s waitlist; nothing was "
                "changed. We will email you when a time opens."
            )
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    practice=practice,
                    therapist=profile.user,
                    times=[t for t in TIME_WINDOWS if t in times],
                    name=name,
                    email=email,
                    phone=phone.strip(),
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            raise SchedulingError(
                f"You are already on {profile.user.display_name}'s waitlist; nothing was changed."
            ) from None
        trail.record(
            ctx,
            Action.CREATE,
            entry,
            detail={"therapist": profile.user_id, "times": entry.times},
        )
        emails.waitlist_joined(entry)
    return entry


def remove(ctx: trail.Context, entry: WaitlistEntry) -> None:
    """A practice admin takes someone off the waitlist (they found a place, asked to be
    removed). An open offer of theirs is withdrawn and passed on."""
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != entry.practice_id:
        raise SchedulingError("Only a practice admin of the practice removes waitlist entries.")
    now = timezone.now()
    with transaction.atomic():
        changed = WaitlistEntry.objects.filter(pk=entry.pk, status__in=LIVE_WAIT).update(
            status=WaitStatus.REMOVED, updated_at=now
        )
        if not changed:
            raise SchedulingError("This person is no longer waiting; nothing was changed.")
        trail.record(ctx, Action.UPDATE, entry, detail={"status": WaitStatus.REMOVED})
        for offer in WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN):
            _close(ctx, offer, OfferStatus.WITHDRAWN, now)


# --- offering ---------------------------------------------------------------------------------


def _offer(
    ctx: trail.Context, entry: WaitlistEntry, booking: Booking, now: dt.datetime
) -> WaitlistOffer:
    hours = SchedulingSettings.for_practice(entry.practice_id).offer_hours
    offer = WaitlistOffer.objects.create(
        entry=entry,
        booking=booking,
        nonce=secrets.token_hex(16),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitStatus.OFFERED, updated_at=now)
    trail.record(
        ctx,
        Action.CREATE,
        offer,
        detail={
            "entry": entry.pk,
            "booking": booking.pk,
            "starts_at": booking.starts_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
        },
    )
    emails.waitlist_offer(offer, offer_token(offer))
    return offer


def offer_open_times(
    practice: Practice, *, therapist_id: int | None = None, now: dt.datetime | None = None
) -> list[WaitlistOffer]:
    """Offer each waiting person, in the order they joined, the earliest open consultation
    time of their therapist that suits them; the time is held for them at once. Runs after
    a session is cancelled (in that transaction) and as the ``scheduling.offer`` job."""
    now = now or timezone.now()
    ctx = trail.system("scheduling.waitlist", practice=practice)
    zone = practice.zone.key
    waiting = WaitlistEntry.objects.filter(practice=practice, status=WaitStatus.WAITING)
    if therapist_id is not None:
        waiting = waiting.filter(therapist_id=therapist_id)
    profiles = {
        p.user_id: p
        for p in published_profiles(practice).filter(user_id__in=waiting.values("therapist_id"))
    }
    made: list[WaitlistOffer] = []
    with transaction.atomic():
        for entry in waiting.order_by("created_at", "pk"):
            profile = profiles.get(entry.therapist_id)
            if profile is None:
                continue
            tried = set(
                WaitlistOffer.objects.filter(entry=entry).values_list(
                    "booking__starts_at", flat=True
                )
            )
            for start in openings.consultation_times(profile, practice, now=now):
                if start in tried or not _suits(entry, start, zone):
                    continue
                try:
                    with transaction.atomic():
                        booking = Booking.objects.create(
                            practice=practice,
                            therapist_id=entry.therapist_id,
                            starts_at=start,
                            duration_minutes=slots.MINUTES,
                            status=BookingStatus.HELD,
                            created_at=now,
                        )
                except IntegrityError:
                    continue  # booked from the directory a moment ago
                trail.record(
                    ctx,
                    Action.CREATE,
                    booking,
                    detail={"held_for": "waitlist", "starts_at": start.isoformat()},
                )
                made.append(_offer(ctx, entry, booking, now))
                break
    return made


def _pass_on(ctx: trail.Context, booking: Booking, now: dt.datetime) -> WaitlistOffer | None:
    """Offer a held time to the next person waiting for it, or release it."""
    zone = booking.practice.zone.key
    offered = WaitlistOffer.objects.filter(booking=booking).values("entry_id")
    for entry in (
        WaitlistEntry.objects.filter(therapist_id=booking.therapist_id, status=WaitStatus.WAITING)
        .exclude(pk__in=offered)
        .order_by("created_at", "pk")
    ):
        if _suits(entry, booking.starts_at, zone):
            return _offer(ctx, entry, booking, now)
    Booking.objects.filter(pk=booking.pk, status=BookingStatus.HELD).update(
        status=BookingStatus.RELEASED, released_at=now
    )
    trail.record(ctx, Action.UPDATE, booking, detail={"status": BookingStatus.RELEASED})
    return None


def _close(ctx: trail.Context, offer: WaitlistOffer, status: str, now: dt.datetime) -> bool:
    """Close an open offer (declined, expired, withdrawn) and pass its time on. False when
    someone else closed it first."""
    if not WaitlistOffer.objects.filter(pk=offer.pk, status=OfferStatus.OPEN).update(
        status=status, responded_at=now
    ):
        return False
    back: str | None = {
        OfferStatus.DECLINED.value: WaitStatus.WAITING,  # this time did not suit; the next may
        OfferStatus.EXPIRED.value: WaitStatus.LAPSED,  # no answer: not offered again
    }.get(status)
    if back is not None:
        WaitlistEntry.objects.filter(pk=offer.entry_id, status=WaitStatus.OFFERED).update(
            status=back, updated_at=now
        )
    trail.record(ctx, Action.UPDATE, offer, detail={"status": status})
    _pass_on(ctx, Booking.objects.select_related("practice").get(pk=offer.booking_id), now)
    return True


# --- answering an offer ------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    booking: Booking
    request: ConsultationRequest


def accept(ctx: trail.Context, token: str, *, now: dt.datetime | None = None) -> Accepted:
    """Book the offered time. The offer is claimed with a conditional UPDATE (open and not
    expired), so a second click or a second tab books nothing more."""
    now = now or timezone.now()
    offer = offer_from_token(token)
    with transaction.atomic():
        claimed = WaitlistOffer.objects.filter(
            pk=offer.pk, status=OfferStatus.OPEN, expires_at__gt=now
        ).update(status=OfferStatus.ACCEPTED, responded_at=now)
        if not claimed:
            raise OfferUnavailable
        booking = offer.booking
        if not Booking.objects.filter(pk=booking.pk, status=BookingStatus.HELD).update(
            status=BookingStatus.BOOKED
        ):
            raise OfferUnavailable
        entry = offer.entry
        request = ConsultationRequest.objects.create(
            practice=booking.practice,
            name=entry.name,
            email=entry.email,
            phone=entry.phone,
            contact_by="email",
            status=RequestStatus.BOOKED,
            assigned_therapist=booking.therapist,
            availability_times=list(entry.times),
        )
        request.preferred_therapists.set([booking.therapist])
        booking.status, booking.request = BookingStatus.BOOKED, request
        booking.save(update_fields=["request"])
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitStatus.BOOKED, updated_at=now)
        trail.record(ctx, Action.UPDATE, offer, detail={"status": OfferStatus.ACCEPTED})
        trail.record(
            ctx,
            Action.CREATE,
            request,
            detail={
                "therapists": [booking.therapist_id],
                "booking": booking.pk,
                "waitlist": entry.pk,
            },
        )
        trail.record(
            ctx,
            Action.UPDATE,
            booking,
            detail={"status": BookingStatus.BOOKED, "request": request.pk},
        )
        profile = TherapistProfile.objects.filter(user_id=booking.therapist_id).first()
        emails.booking_confirmed(booking, profile)
        emails.booking_for_therapist(booking)
        hooks.consultation_booked.send(sender=Booking, ctx=ctx, booking=booking)
        admins = User.objects.filter(practice=booking.practice, role=Role.ADMIN, is_active=True)
        for admin in admins.order_by("pk"):
            directory_emails.consultation_new(request, admin)
    return Accepted(booking, request)


def decline(ctx: trail.Context, token: str, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    offer = offer_from_token(token)
    with transaction.atomic():
        if not _close(ctx, offer, OfferStatus.DECLINED, now):
            raise OfferUnavailable


def expire_offers(now: dt.datetime | None = None) -> int:
    """Close offers past their time and pass each held time on (the ``scheduling.expire``
    job). Each offer is claimed by its conditional UPDATE, so two workers expire it once."""
    now = now or timezone.now()
    done = 0
    for pk in list(
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            offer = WaitlistOffer.objects.select_related("booking__practice").get(pk=pk)
            ctx = trail.system("scheduling.expire", practice=offer.booking.practice)
            if _close(ctx, offer, OfferStatus.EXPIRED, now):
                done += 1
    return done


def offer_everywhere(now: dt.datetime | None = None) -> int:
    """The ``scheduling.offer`` job: new openings (a therapist adds an hour, a series ends)
    are offered to the waitlist of every practice."""
    made = 0
    for practice in Practice.objects.filter(
        pk__in=WaitlistEntry.objects.filter(status=WaitStatus.WAITING).values("practice_id")
    ):
        made += len(offer_open_times(practice, now=now))
    return made
