"""Every change to money, each writing its audit entry in the same transaction.

Views and the attendance hook call these and never save billing models themselves. A
refused change raises :class:`BillingError` with a sentence that is safe to show and
changes nothing. Audit entries carry identifiers, amounts in minor units and reason
codes; never diagnosis codes (those are sealed with the client's key).

Running totals on charges and payments move only here, on rows locked for the
transaction, so two people recording money for the same client at once cannot lose an
update; the check constraints in :mod:`reverie.billing.models` are the last line. The
monthly income summary (:mod:`reverie.billing.summary`) moves in the same transaction as
the charge it counts.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import codes, fees, ledger, summary
from reverie.billing.access import may_change_money
from reverie.billing.models import (
    AgreedFee,
    Allocation,
    BillingSettings,
    Charge,
    ChargeKind,
    ChargeState,
    ClientBilling,
    EstimateTrigger,
    Fee,
    GoodFaithEstimate,
    Payment,
    PaymentMethod,
    ProviderBilling,
    Refund,
    RefundReason,
    Waiver,
    WaiverReason,
    WriteOff,
    WriteOffReason,
)
from reverie.care.access import clinical_clients
from reverie.care.models import Appointment, Attendance, Client, Modality, ProgressNote
from reverie.directory.models import TherapistProfile
from reverie.lib import periods
from reverie.scheduling.models import Booking


class BillingError(ValueError):
    """The change cannot be made; the message says why and is safe to show."""


def _actor(ctx: trail.Context) -> User:
    if ctx.user is None:
        raise BillingError("Only a signed-in person can change billing")
    return ctx.user


def _require_admin(ctx: trail.Context, practice_id: int) -> User:
    user = _actor(ctx)
    if user.role != Role.ADMIN or user.practice_id != practice_id:
        raise BillingError("Only an admin of this practice can do this")
    return user


def _require_money(ctx: trail.Context, client: Client) -> User:
    user = _actor(ctx)
    if not may_change_money(user, client):
        raise BillingError("Only the practice admin and this client's therapist can do this")
    return user


def currency_of(practice_id: int) -> str:
    return BillingSettings.for_practice(practice_id).currency


# --- Settings and fees ------------------------------------------------------------------


def save_settings(
    ctx: trail.Context,
    practice: Practice,
    *,
    currency: str,
    tax_id: str,
    address: str,
    phone: str,
    telehealth_pos: str,
) -> BillingSettings:
    _require_admin(ctx, practice.pk)
    if telehealth_pos not in codes.TELEHEALTH_POS:
        raise BillingError("Choose 02 or 10 as the telehealth place of service")
    with transaction.atomic():
        row, _ = BillingSettings.objects.select_for_update().get_or_create(practice=practice)
        if currency != row.currency and (
            Charge.objects.filter(practice=practice).exists()
            or Payment.objects.filter(practice=practice).exists()
        ):
            raise BillingError(
                "The currency cannot change once money has been recorded in it; nothing was changed"
            )
        row.currency, row.tax_id, row.address = currency, tax_id.strip(), address.strip()
        row.phone, row.telehealth_pos = phone.strip(), telehealth_pos
        row.updated_at = timezone.now()
        row.save()
        trail.record(ctx, Action.UPDATE, row, detail={"currency": currency, "pos": telehealth_pos})
    return row


def set_fee(
    ctx: trail.Context,
    practice: Practice,
    service: str,
    amount: int,
    effective_from: datetime.date,
) -> Fee:
    """A new fee for ``service`` from ``effective_from`` on. Charges already made keep their
    amount: only charges made from now on for sessions on or after the date use it."""
    user = _require_admin(ctx, practice.pk)
    if service not in codes.SERVICES:
        raise BillingError("Unknown service")
    if amount < 0:
        raise BillingError("A fee cannot be negative")
    try:
        with transaction.atomic():
            fee = Fee.objects.create(
                practice=practice,
                service=service,
                amount=amount,
                effective_from=effective_from,
                created_by=user,
            )
            trail.record(
                ctx,
                Action.CREATE,
                fee,
                detail={
                    "service": service,
                    "amount": amount,
                    "from": effective_from.isoformat(),
                },
            )
    except IntegrityError:
        raise BillingError(
            "This service already has a fee from that date; choose another date"
        ) from None
    return fee


def save_provider(
    ctx: trail.Context, therapist: User, *, npi: str, licence: str
) -> ProviderBilling:
    """A therapist's NPI and licence (the therapist, or an admin of their practice)."""
    user = _actor(ctx)
    if therapist.role != Role.THERAPIST or not (
        user.pk == therapist.pk
        or (user.role == Role.ADMIN and user.practice_id == therapist.practice_id)
    ):
        raise BillingError("Only the therapist or the practice admin can change this")
    npi = npi.strip()
    if npi and not codes.npi_is_valid(npi):
        raise BillingError("An NPI has ten digits and a valid check digit; this one does not")
    with transaction.atomic():
        row, _ = ProviderBilling.objects.select_for_update().get_or_create(therapist=therapist)
        row.npi, row.licence, row.updated_at = npi, licence.strip()[:100], timezone.now()
        row.save()
        trail.record(ctx, Action.UPDATE, row, detail={"npi": bool(npi)})
    return row


def _client_billing(client: Client) -> ClientBilling:
    ClientBilling.objects.get_or_create(client=client)
    return ClientBilling.objects.select_for_update().get(client=client)


def set_client_billing(
    ctx: trail.Context, client: Client, *, self_pay: bool, session_service: str
) -> ClientBilling:
    _require_money(ctx, client)
    if session_service and session_service not in codes.SESSION_SERVICES:
        raise BillingError("Choose a session service")
    with transaction.atomic():
        row = _client_billing(client)
        row.self_pay, row.session_service = self_pay, session_service
        row.updated_at = timezone.now()
        row.save(update_fields=["self_pay", "session_service", "updated_at"])
        trail.record(
            ctx,
            Action.UPDATE,
            row,
            client_id=client.pk,
            detail={"self_pay": self_pay, "session_service": session_service},
        )
    return row


def set_diagnoses(ctx: trail.Context, client: Client, text: str) -> list[str]:
    """The clinician's ICD-10-CM codes for the client's superbills. Only a therapist who
    may read the client's clinical record enters them; Reverie checks their format and
    never proposes one."""
    user = _actor(ctx)
    if user.role != Role.THERAPIST or not clinical_clients(user).filter(pk=client.pk).exists():
        raise BillingError("Only the client's therapist can enter diagnosis codes")
    good, bad = codes.clean_icd10_list(text)
    if bad:
        raise BillingError(
            f"Not in the form of an ICD-10-CM code: {', '.join(bad)} (a letter, two digits, "
            "then optionally a point and up to four letters or digits, like F41.1)"
        )
    if len(good) > 12:
        raise BillingError("A claim carries at most 12 diagnosis codes")
    with transaction.atomic():
        row = _client_billing(client)
        row.diagnoses = ",".join(good)
        row.diagnoses_by, row.updated_at = user, timezone.now()
        row.save(update_fields=["diagnoses", "diagnoses_by", "updated_at"])
        # The codes themselves are clinical: the trail says how many, not which.
        trail.record(ctx, Action.UPDATE, row, client_id=client.pk, detail={"diagnoses": len(good)})
    return good


def therapist_range(therapist: User) -> tuple[int, int] | None:
    """The therapist's published fee range in minor units, or None when they publish none."""
    profile = TherapistProfile.objects.filter(user=therapist).first()
    if profile is None or profile.fee is None:
        return None
    return fees.published_range(profile.fee, profile.sliding_scale_min, profile.sliding_scale)


def agree_fee(
    ctx: trail.Context,
    client: Client,
    therapist: User,
    amount: int,
    effective_from: datetime.date,
    service: str = fees.ALL_SESSIONS,
) -> AgreedFee:
    """A fee agreed with the client from a date, within the therapist's published range
    (their directory fee, down to their sliding-scale minimum)."""
    user = _require_money(ctx, client)
    if service and service not in codes.SERVICES:
        raise BillingError("Unknown service")
    if therapist.practice_id != client.practice_id or therapist.role != Role.THERAPIST:
        raise BillingError("Choose a therapist of this practice")
    span = therapist_range(therapist)
    currency = currency_of(client.practice_id)
    if span is not None and not service.startswith(("late_cancel", "no_show")):
        low, high = span
        if not low <= amount <= high:
            from reverie.billing.money import fmt

            raise BillingError(
                f"{therapist.display_name} publishes fees from {fmt(low, currency)} to "
                f"{fmt(high, currency)}; an agreed fee must be within that range"
            )
    with transaction.atomic():
        row = AgreedFee.objects.create(
            client=client,
            therapist=therapist,
            service=service,
            amount=amount,
            effective_from=effective_from,
            created_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            row,
            client_id=client.pk,
            detail={"amount": amount, "service": service, "from": effective_from.isoformat()},
        )
    return row


def fee_for(client: Client, service: str, on: datetime.date) -> fees.Resolved | None:
    schedule = Fee.objects.filter(practice_id=client.practice_id, service=service).values_list(
        "effective_from", "amount"
    )
    agreed = [
        fees.Agreed(a.service, a.effective_from, a.amount)
        for a in AgreedFee.objects.filter(client=client)
    ]
    is_session = service in codes.SESSION_SERVICES
    return fees.resolve(list(schedule), agreed, service, on, is_session=is_session)


# --- Charges from attendance -------------------------------------------------------------


@dataclass(frozen=True)
class SessionCoding:
    service: str
    minutes: int
    telehealth: bool


def code_session(appointment: Appointment, billing: ClientBilling | None) -> SessionCoding | None:
    """The service of an attended session: the therapist's choice for the client, else
    psychoanalysis for an analysis, an initial consultation for the client's first
    attended session, else individual psychotherapy by the CPT time rule on the minutes
    of the signed note (or the booked length). None below 16 minutes."""
    note = ProgressNote.objects.filter(appointment=appointment).first()
    minutes = note.duration_minutes if note else appointment.duration_minutes
    telehealth = (note.place == "telehealth") if note else bool(appointment.join_link)
    episode = appointment.episode
    service: str | None
    if billing and billing.session_service:
        service = billing.session_service
    elif episode.modality == Modality.PSYCHOANALYSIS:
        service = "psychoanalysis"
    elif not Appointment.objects.filter(
        episode__client_id=episode.client_id,
        attendance=Attendance.ATTENDED,
        starts_at__lt=appointment.starts_at,
    ).exists():
        service = "initial_consultation"
    else:
        service = codes.psychotherapy_for(minutes)
    if service is None:
        return None
    return SessionCoding(service, minutes, telehealth)


KIND_OF = {
    Attendance.ATTENDED: ChargeKind.SESSION,
    Attendance.LATE_CANCEL: ChargeKind.LATE_CANCEL,
    Attendance.NO_SHOW: ChargeKind.NO_SHOW,
}


def charge_attendance(ctx: trail.Context, appointment: Appointment) -> Charge | None:
    """Bring the appointment's charge in line with its attendance, in the caller's
    transaction: an attended session is charged its fee with its codes, a late
    cancellation or a no-show the policy fee; a corrected attendance voids the charge it
    replaces (releasing any payment on it to the client's credit). No fee set: no charge."""
    kind = KIND_OF.get(appointment.attendance)  # type: ignore[call-overload]
    episode = appointment.episode
    client = episode.client
    with transaction.atomic():
        current = (
            Charge.objects.select_for_update()
            .filter(appointment=appointment, state__in=[ChargeState.LIVE, ChargeState.WAIVED])
            .first()
        )
        if current is not None:
            if current.kind == kind:
                return current
            _void(ctx, current)
        if kind is None:
            return None
        practice_id = client.practice_id
        zone = client.practice.zone
        day = timezone.localtime(appointment.starts_at, zone).date()
        billing = ClientBilling.objects.filter(client=client).first()
        cpt = modifier = pos = ""
        minutes: int | None = None
        if kind == ChargeKind.SESSION:
            coding = code_session(appointment, billing)
            if coding is None:
                return None
            service, minutes = coding.service, coding.minutes
            cpt = codes.SERVICES[service].cpt
            home = BillingSettings.for_practice(practice_id).telehealth_pos
            pos, modifier = codes.place_and_modifier(coding.telehealth, home)
        else:
            service = str(kind)
        fee = fee_for(client, service, day)
        if fee is None or fee.amount == 0:
            return None
        charge = Charge.objects.create(
            practice_id=practice_id,
            client=client,
            therapist_id=episode.therapist_id,
            appointment=appointment,
            kind=kind,
            service=service,
            cpt=cpt,
            modifier=modifier,
            pos=pos,
            minutes=minutes,
            service_date=day,
            amount=fee.amount,
            currency=currency_of(practice_id),
            fee_source=fee.source,
            outstanding=fee.amount,
            created_by=ctx.user if ctx.user is not None and ctx.user.is_staff_role else None,
        )
        summary.charge_made(charge)
        trail.record(
            ctx,
            Action.CREATE,
            charge,
            client_id=client.pk,
            detail={
                "kind": str(kind),
                "service": service,
                "cpt": cpt,
                "amount": fee.amount,
                "appointment": appointment.pk,
            },
        )
    return charge


def _release(ctx: trail.Context, allocation: Allocation, amount: int) -> None:
    """Take ``amount`` of an allocation back to its payment's unallocated credit."""
    charge = Charge.objects.select_for_update().get(pk=allocation.charge_id)
    payment = Payment.objects.select_for_update().get(pk=allocation.payment_id)
    if amount == allocation.amount:
        allocation.released_at = timezone.now()
        allocation.save(update_fields=["released_at"])
    else:
        allocation.amount -= amount
        allocation.save(update_fields=["amount"])
    charge.paid -= amount
    if charge.state == ChargeState.LIVE:
        charge.outstanding += amount
    charge.save(update_fields=["paid", "outstanding"])
    payment.allocated -= amount
    payment.save(update_fields=["allocated"])
    trail.record(
        ctx,
        Action.UPDATE,
        allocation,
        client_id=charge.client_id,
        detail={"released": amount, "charge": charge.pk, "payment": payment.pk},
    )


def _release_all(ctx: trail.Context, charge: Charge) -> None:
    for allocation in Allocation.objects.filter(charge=charge, released_at__isnull=True):
        _release(ctx, allocation, allocation.amount)


def _void(ctx: trail.Context, charge: Charge) -> None:
    _release_all(ctx, charge)
    charge.refresh_from_db()
    summary.charge_cancelled(charge)
    charge.state, charge.outstanding = ChargeState.VOIDED, 0
    charge.save(update_fields=["state", "outstanding"])
    trail.record(ctx, Action.UPDATE, charge, client_id=charge.client_id, detail={"state": "voided"})


def waive(ctx: trail.Context, charge: Charge, reason: str) -> Waiver:
    """Waive a late-cancellation or missed-session fee, with a reason. Whatever was paid
    on it returns to the client's credit."""
    if reason not in WaiverReason.values:
        raise BillingError("Choose the reason for waiving the fee")
    user = _require_money(ctx, charge.client)
    with transaction.atomic():
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        if charge.kind == ChargeKind.SESSION:
            raise BillingError(
                "Only a late-cancellation or missed-session fee can be waived; write off a "
                "session's fee instead"
            )
        if charge.state != ChargeState.LIVE:
            raise BillingError("This fee is no longer charged; nothing was changed")
        _release_all(ctx, charge)
        charge.refresh_from_db()
        summary.charge_cancelled(charge)
        charge.state, charge.outstanding = ChargeState.WAIVED, 0
        charge.save(update_fields=["state", "outstanding"])
        waiver = Waiver.objects.create(charge=charge, reason=reason, created_by=user)
        trail.record(
            ctx,
            Action.CREATE,
            waiver,
            client_id=charge.client_id,
            detail={"charge": charge.pk, "amount": charge.amount, "reason": reason},
        )
    return waiver


# --- Payments -----------------------------------------------------------------------------


def record_payment(
    ctx: trail.Context,
    client: Client,
    amount: int,
    *,
    method: str,
    received_on: datetime.date,
    reference: str = "",
    allocate: Iterable[tuple[Charge, int]] | None = None,
    oldest_first: bool = False,
) -> Payment:
    """Record money received and apply it: to the given ``(charge, amount)`` parts, or,
    with ``oldest_first``, to the client's open charges from the oldest. What is not
    applied stays as the client's credit."""
    user = _require_money(ctx, client)
    if amount <= 0:
        raise BillingError("A payment must be more than zero")
    if method not in PaymentMethod.values:
        raise BillingError("Choose how the payment was made")
    if received_on > timezone.localdate() + datetime.timedelta(days=1):
        raise BillingError("A payment cannot be received in the future")
    with transaction.atomic():
        payment = Payment.objects.create(
            practice_id=client.practice_id,
            client=client,
            amount=amount,
            currency=currency_of(client.practice_id),
            method=method,
            received_on=received_on,
            reference=reference.strip()[:40],
            recorded_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            payment,
            client_id=client.pk,
            detail={"amount": amount, "method": method, "on": received_on.isoformat()},
        )
        parts = list(allocate or [])
        if oldest_first:
            open_rows = Charge.objects.filter(
                client=client, state=ChargeState.LIVE, outstanding__gt=0
            ).order_by("service_date", "pk")
            by_id = {c.pk: c for c in open_rows}
            split = ledger.allocate_oldest_first(
                ((c.pk, c.outstanding) for c in by_id.values()), amount
            )
            parts = [(by_id[cid], part) for cid, part in split]
        for charge, part in parts:
            allocate_payment(ctx, payment, charge, part)
        payment.refresh_from_db()
    return payment


def allocate_payment(
    ctx: trail.Context, payment: Payment, charge: Charge, amount: int
) -> Allocation:
    """Apply ``amount`` of ``payment``'s unallocated money to ``charge`` (same client)."""
    _require_money(ctx, payment.client)
    if amount <= 0:
        raise BillingError("An allocation must be more than zero")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        if charge.client_id != payment.client_id:
            raise BillingError("A payment can only pay the same client's charges")
        if charge.state != ChargeState.LIVE:
            raise BillingError("This charge was waived or voided; nothing is owed on it")
        if amount > payment.unallocated:
            raise BillingError("The payment does not have that much left to allocate")
        if amount > charge.outstanding:
            raise BillingError("That is more than is still owed on the charge")
        allocation = Allocation.objects.create(payment=payment, charge=charge, amount=amount)
        payment.allocated += amount
        payment.save(update_fields=["allocated"])
        charge.paid += amount
        charge.outstanding -= amount
        charge.save(update_fields=["paid", "outstanding"])
        trail.record(
            ctx,
            Action.CREATE,
            allocation,
            client_id=charge.client_id,
            detail={"amount": amount, "charge": charge.pk, "payment": payment.pk},
        )
    return allocation


def refund(
    ctx: trail.Context,
    payment: Payment,
    amount: int,
    reason: str,
    *,
    refunded_on: datetime.date | None = None,
) -> Refund:
    """Return money from a payment. Its unallocated credit goes first; if the refund is
    larger, the newest allocations are released for it (those charges are owed again)."""
    user = _require_money(ctx, payment.client)
    if reason not in RefundReason.values:
        raise BillingError("Choose the reason for the refund")
    if amount <= 0:
        raise BillingError("A refund must be more than zero")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if amount > payment.amount - payment.refunded:
            raise BillingError("That is more than is left of the payment to refund")
        short = amount - payment.unallocated
        if short > 0:
            newest = Allocation.objects.filter(payment=payment, released_at__isnull=True).order_by(
                "-created_at", "-pk"
            )
            for allocation in newest:
                if short <= 0:
                    break
                part = min(short, allocation.amount)
                _release(ctx, allocation, part)
                short -= part
            payment.refresh_from_db()
        payment.refunded += amount
        payment.save(update_fields=["refunded"])
        row = Refund.objects.create(
            payment=payment,
            amount=amount,
            reason=reason,
            refunded_on=refunded_on or timezone.localdate(),
            created_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            row,
            client_id=payment.client_id,
            detail={"amount": amount, "payment": payment.pk, "reason": reason},
        )
    return row


def write_off(
    ctx: trail.Context,
    charge: Charge,
    amount: int,
    reason: str,
    *,
    written_on: datetime.date | None = None,
) -> WriteOff:
    """Stop asking for part or all of what is still owed on a charge, with a reason."""
    user = _require_money(ctx, charge.client)
    if reason not in WriteOffReason.values:
        raise BillingError("Choose the reason for the write-off")
    if amount <= 0:
        raise BillingError("A write-off must be more than zero")
    with transaction.atomic():
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        if charge.state != ChargeState.LIVE:
            raise BillingError("This charge was waived or voided; nothing is owed on it")
        if amount > charge.outstanding:
            raise BillingError("That is more than is still owed on the charge")
        charge.written_off += amount
        charge.outstanding -= amount
        charge.save(update_fields=["written_off", "outstanding"])
        summary.written_off(charge, amount)
        row = WriteOff.objects.create(
            charge=charge,
            amount=amount,
            reason=reason,
            written_on=written_on or timezone.localdate(),
            created_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            row,
            client_id=charge.client_id,
            detail={"amount": amount, "charge": charge.pk, "reason": reason},
        )
    return row


# --- Good Faith Estimates -------------------------------------------------------------------

#: Weeks in a year in which a practice expects to meet (holidays and breaks left out), for
#: an estimate of a year of sessions: a stated assumption, printed nowhere as a promise.
WEEKS_A_YEAR = 46


def _estimate_service(client: Client | None) -> str:
    if client is not None:
        billing = ClientBilling.objects.filter(client=client).first()
        if billing and billing.session_service:
            return billing.session_service
        episode = client.episodes.exclude(status="ended").order_by("-start_date").first()
        if episode is not None and episode.modality == Modality.PSYCHOANALYSIS:
            return "psychoanalysis"
    return "psychotherapy_45"


def estimate_for_booking(ctx: trail.Context, booking: Booking) -> GoodFaithEstimate | None:
    """At booking a first consultation: an estimate for that consultation (90791) at the
    practice's fee on its date, emailed to the person with the PDF, in the booking's
    transaction. Without a fee for consultations no estimate can be made (None)."""
    from reverie.billing import emails

    request = booking.request
    if request is None:
        return None
    day = timezone.localtime(booking.starts_at, booking.practice.zone).date()
    fee = fees.in_force(
        Fee.objects.filter(
            practice_id=booking.practice_id, service="initial_consultation"
        ).values_list("effective_from", "amount"),
        day,
    )
    if fee is None:
        return None
    with transaction.atomic():
        estimate = GoodFaithEstimate.objects.create(
            practice_id=booking.practice_id,
            booking=booking,
            therapist_id=booking.therapist_id,
            trigger=EstimateTrigger.BOOKING,
            name=request.name,
            email=request.email,
            service="initial_consultation",
            cpt=codes.SERVICES["initial_consultation"].cpt,
            fee=fee,
            sessions=1,
            currency=currency_of(booking.practice_id),
            first_date=day,
            last_date=day,
        )
        trail.record(
            ctx,
            Action.CREATE,
            estimate,
            detail={"trigger": "booking", "booking": booking.pk, "total": estimate.total},
        )
        emails.good_faith_estimate(estimate)
    return estimate


def estimate_for_client(
    ctx: trail.Context,
    client: Client,
    *,
    sessions: int | None = None,
    therapist: User | None = None,
    today: datetime.date | None = None,
) -> GoodFaithEstimate:
    """An estimate on request (by the client in the portal, or by their therapist or the
    admin): the client's sessions for the next 12 months at the fee in force today (their
    agreed fee, else the schedule). Without ``sessions``, the episode's planned frequency
    over :data:`WEEKS_A_YEAR` weeks."""
    user = _actor(ctx)
    if not (
        (user.role == Role.CLIENT and client.user_id == user.pk) or may_change_money(user, client)
    ):
        raise BillingError("Only the client, their therapist or the practice admin can ask")
    billing = ClientBilling.objects.filter(client=client).first()
    if billing is not None and not billing.self_pay:
        raise BillingError(
            "A Good Faith Estimate is for clients who pay the practice themselves; this "
            "client is billed through insurance"
        )
    episode = client.episodes.exclude(status="ended").order_by("-start_date").first()
    if therapist is None:
        if episode is None:
            raise BillingError("This client has no current episode of care to estimate")
        therapist = episode.therapist
    if sessions is None:
        per_week = float(episode.sessions_per_week) if episode else 1.0
        sessions = max(1, round(per_week * WEEKS_A_YEAR))
    if not 1 <= sessions <= 400:
        raise BillingError("Give between 1 and 400 sessions")
    first = today or timezone.localdate()
    service = _estimate_service(client)
    fee = fee_for(client, service, first)
    if fee is None:
        raise BillingError("The practice has not set a fee for this service yet")
    # Twelve months of sessions; from a leap day, to the 28 February after it.
    last = periods.add_years(first, 1) - datetime.timedelta(days=1)
    with transaction.atomic():
        estimate = GoodFaithEstimate.objects.create(
            practice_id=client.practice_id,
            client=client,
            therapist=therapist,
            trigger=EstimateTrigger.REQUEST,
            name=f"{client.given_name} {client.family_name}",
            date_of_birth=client.date_of_birth,
            email=client.email,
            service=service,
            cpt=codes.SERVICES[service].cpt,
            fee=fee.amount,
            sessions=sessions,
            currency=currency_of(client.practice_id),
            first_date=first,
            last_date=last,
            issued_by=user,
        )
        trail.record(
            ctx,
            Action.CREATE,
            estimate,
            client_id=client.pk,
            detail={"trigger": "request", "sessions": sessions, "total": estimate.total},
        )
    return estimate
