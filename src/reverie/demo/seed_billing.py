"""Seeding billing: a fee schedule with a rise from a recent date, the therapists' NPI and
licence, diagnosis codes entered by therapists, charges made from the last four months'
attendance, and payments that leave balances of every age, one agreed sliding-scale fee,
a waived no-show, a write-off and a refund.

All of it is synthetic (every demo page says so): the NPIs are made-up numbers with a
valid check digit, the tax ID and address are invented, the diagnosis codes are chosen
at random from a short list of common codes for the demo only. Everything goes through
billing's actions as the person who would act, so the audit trail reads as in real use.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from reverie.billing import actions, codes
from reverie.billing.models import Charge, ChargeKind, ChargeState
from reverie.care.models import Appointment, Attendance, Client, EpisodeStatus

#: Demo fees in cents, from the start of the demo's history; psychotherapy rises later.
FEES = {
    "initial_consultation": 22000,
    "psychotherapy_30": 10000,
    "psychotherapy_45": 16000,
    "psychotherapy_60": 19000,
    "psychoanalysis": 14000,
    "family_without_client": 18000,
    "family_with_client": 18000,
    "late_cancel": 8000,
    "no_show": 12000,
}
RISE = {"psychotherapy_45": 17000, "psychotherapy_60": 20000}
#: Synthetic diagnosis codes therapists "entered" for the demo.
DEMO_CODES = ("F41.1", "F33.1", "F43.10", "F34.1", "F60.7", "F43.23")
WINDOW_DAYS = 120


def synthetic_npi(n: int) -> str:
    """A made-up ten-digit NPI with a valid check digit (for the demo only)."""
    first9 = f"19{n:07d}"
    return next(first9 + d for d in "0123456789" if codes.npi_is_valid(first9 + d))


def write_billing(seeded: Any, as_of: datetime.datetime) -> None:
    admin = seeded.ctx(seeded.admin)
    practice = seeded.practice
    today = timezone.localtime(as_of).date()
    actions.save_settings(
        admin,
        practice,
        currency="USD",
        tax_id="00-0000042",
        address="12 Harbour Row, Suite 3\nPortsmouth, NH 03801 (synthetic)",
        phone="555-0100",
        telehealth_pos="10",
    )
    start = today - datetime.timedelta(days=3 * 365)
    for service, amount in FEES.items():
        actions.set_fee(admin, practice, service, amount, start)
    rise = (today - datetime.timedelta(days=45)).replace(day=1)
    for service, amount in RISE.items():
        actions.set_fee(admin, practice, service, amount, rise)
    for n, therapist in enumerate(seeded.therapists):
        ctx = seeded.ctx(therapist)
        actions.save_provider(
            ctx, therapist, npi=synthetic_npi(n + 1), licence=f"LICSW NH {4100 + n:06d}"
        )

    rng = random.Random(17)
    clients = list(
        Client.objects.filter(practice=practice, episodes__status__in=[EpisodeStatus.ACTIVE])
        .distinct()
        .order_by("pk")
    )
    for client in clients:
        therapist = client.episodes.filter(status=EpisodeStatus.ACTIVE).first().therapist  # type: ignore[union-attr]
        picked = rng.sample(DEMO_CODES, 2 if rng.random() < 0.4 else 1)
        actions.set_diagnoses(seeded.ctx(therapist), client, ", ".join(picked))

    # A sliding-scale fee for the first client whose therapist offers one.
    for client in clients:
        therapist = client.episodes.filter(status=EpisodeStatus.ACTIVE).first().therapist  # type: ignore[union-attr]
        span = actions.therapist_range(therapist)
        if span and span[0] < span[1]:
            actions.agree_fee(
                seeded.ctx(therapist),
                client,
                therapist,
                span[0] + (span[1] - span[0]) // 3 // 100 * 100,
                start,
            )
            break

    since = as_of - datetime.timedelta(days=WINDOW_DAYS)
    due = (
        Appointment.objects.filter(
            episode__client__in=clients,
            starts_at__gte=since,
            starts_at__lte=as_of,
            attendance__in=[Attendance.ATTENDED, Attendance.NO_SHOW, Attendance.LATE_CANCEL],
        )
        .select_related("episode__client__practice", "episode__therapist", "series")
        .order_by("starts_at")
    )
    for appointment in due:
        actions.charge_attendance(seeded.ctx(appointment.episode.therapist), appointment)

    # Most clients pay at the end of each month; some pay late or not at all, so the
    # ageing report has something in every bucket.
    for n, client in enumerate(clients):
        therapist = client.episodes.filter(status=EpisodeStatus.ACTIVE).first().therapist  # type: ignore[union-attr]
        ctx = seeded.ctx(therapist if n % 3 else seeded.admin)
        charges = list(
            Charge.objects.filter(client=client, state=ChargeState.LIVE).order_by("service_date")
        )
        if not charges:
            continue
        habit = n % 6  # 0–3 pay monthly, 4 pays only the older half, 5 has not paid at all
        months = sorted({c.service_date.replace(day=1) for c in charges})
        for month in months:
            if habit == 5 or (habit == 4 and month >= months[len(months) // 2]):
                continue
            next_month = (month + datetime.timedelta(days=32)).replace(day=1)
            owed = sum(
                c.outstanding
                for c in Charge.objects.filter(
                    client=client,
                    service_date__gte=month,
                    service_date__lt=next_month,
                    state=ChargeState.LIVE,
                )
            )
            if not owed:
                continue
            paid_on = min(today, next_month.replace(day=3))
            if paid_on > today - datetime.timedelta(days=1) and habit == 3:
                continue
            method = ("card", "bank_transfer", "cheque", "cash")[n % 4]
            actions.record_payment(
                ctx, client, owed, method=method, received_on=paid_on, oldest_first=True
            )
    # A waived no-show, a write-off and a refund, so each shows in the demo.
    no_show = Charge.objects.filter(
        practice=practice, kind=ChargeKind.NO_SHOW, state=ChargeState.LIVE
    ).first()
    if no_show is not None:
        actions.waive(seeded.ctx(no_show.therapist), no_show, "illness")
    open_charge = (
        Charge.objects.filter(practice=practice, state=ChargeState.LIVE, outstanding__gt=0)
        .order_by("service_date")
        .first()
    )
    if open_charge is not None:
        actions.write_off(
            seeded.ctx(seeded.admin), open_charge, min(open_charge.outstanding, 4000), "hardship"
        )
    paid = (
        Charge.objects.filter(practice=practice, state=ChargeState.LIVE, outstanding=0, paid__gt=0)
        .order_by("-service_date")
        .first()
    )
    if paid is not None:
        payment = paid.allocations.filter(released_at__isnull=True).first().payment  # type: ignore[union-attr]
        actions.refund(seeded.ctx(seeded.admin), payment, min(payment.amount, 2000), "overpayment")


def summary(practice: Any) -> dict[str, int]:
    from reverie.billing.models import Payment, Refund, Waiver, WriteOff

    charges = Charge.objects.filter(practice=practice)
    return {
        "charges": charges.count(),
        "charges still owed": charges.filter(outstanding__gt=0).count(),
        "payments": Payment.objects.filter(practice=practice).count(),
        "waived fees": Waiver.objects.filter(charge__practice=practice).count(),
        "write-offs": WriteOff.objects.filter(charge__practice=practice).count(),
        "refunds": Refund.objects.filter(payment__practice=practice).count(),
    }
