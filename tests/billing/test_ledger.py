"""The ledger always balances: under random sequences of the money actions (charges from
attendance, payments with and without allocation, allocations, refunds, write-offs,
waivers, corrected attendance), for every client

    charges − (payments − refunds) − write-offs = balance = Σ open charges − credit

and each running total equals the rows it summarises, as does the monthly income summary
(reverie.billing.summary) after every step. Hypothesis draws the sequences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverie.audit import trail
from reverie.billing import actions, ledger, queries, summary
from reverie.billing.models import Allocation, Charge, ChargeState, Payment, Refund, WriteOff
from reverie.care import actions as care
from reverie.care.models import Appointment
from reverie.testing import World, build_world

from .conftest import FROM, SCHEDULE

STEP = st.one_of(
    st.tuples(
        st.just("attend"),
        st.sampled_from(["attended", "no_show", "late_cancel", "cancelled"]),
        st.integers(20, 70),
    ),
    st.tuples(st.just("pay"), st.integers(1, 40000), st.booleans()),
    st.tuples(st.just("allocate"), st.integers(0, 50), st.integers(1, 20000)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 20000)),
    st.tuples(st.just("write_off"), st.integers(0, 50), st.integers(1, 20000)),
    st.tuples(st.just("waive"), st.integers(0, 50), st.sampled_from(["illness", "emergency"])),
    st.tuples(
        st.just("correct"),
        st.integers(0, 50),
        st.sampled_from(["attended", "no_show", "cancelled"]),
    ),
)


def _pick(rows: list, index: int):  # type: ignore[no-untyped-def]
    return rows[index % len(rows)] if rows else None


def _apply(world: World, ctx: trail.Context, step: tuple, day: list[int]) -> None:
    kind = step[0]
    try:
        if kind == "attend":
            day[0] += 1
            starts = dt.datetime.combine(
                timezone.localdate() - dt.timedelta(days=300 - day[0]), dt.time(9), tzinfo=dt.UTC
            )
            appt = Appointment.objects.create(
                episode=world.episode, starts_at=starts, duration_minutes=step[2]
            )
            care.record_attendance(ctx, appt, step[1], reason="r")
        elif kind == "pay":
            actions.record_payment(
                ctx,
                world.client,
                step[1],
                method="cash",
                received_on=timezone.localdate(),
                oldest_first=step[2],
            )
        elif kind == "allocate":
            payment = _pick(list(Payment.objects.order_by("pk")), step[1])
            charge = _pick(list(Charge.objects.order_by("pk")), step[1] // 3)
            if payment and charge:
                actions.allocate_payment(ctx, payment, charge, step[2])
        elif kind == "refund":
            payment = _pick(list(Payment.objects.order_by("pk")), step[1])
            if payment:
                actions.refund(ctx, payment, step[2], "overpayment")
        elif kind == "write_off":
            charge = _pick(list(Charge.objects.order_by("pk")), step[1])
            if charge:
                actions.write_off(ctx, charge, step[2], "hardship")
        elif kind == "waive":
            charge = _pick(list(Charge.objects.order_by("pk")), step[1])
            if charge:
                actions.waive(ctx, charge, step[2])
        elif kind == "correct":
            appt = _pick(
                list(Appointment.objects.filter(charges__isnull=False).distinct().order_by("pk")),
                step[1],
            )
            if appt:
                care.record_attendance(ctx, appt, step[2], reason="corrected")
    except actions.BillingError:
        pass  # a refused step must leave everything as it was: checked below


def _check(world: World) -> None:
    client = world.client
    live = Charge.objects.filter(client=client, state=ChargeState.LIVE)
    charges = live.aggregate(s=Sum("amount"))["s"] or 0
    payments = Payment.objects.filter(client=client).aggregate(s=Sum("amount"))["s"] or 0
    refunds = Refund.objects.filter(payment__client=client).aggregate(s=Sum("amount"))["s"] or 0
    write_offs = WriteOff.objects.filter(charge__in=live).aggregate(s=Sum("amount"))["s"] or 0
    balance = ledger.balance(
        charges=charges, payments=payments, refunds=refunds, write_offs=write_offs
    )
    account = queries.account(client)
    assert account.balance == balance
    # The same balance read charge by charge, from the rows rather than the totals.
    held = Allocation.objects.filter(released_at__isnull=True)
    open_sum = 0
    for charge in Charge.objects.filter(client=client):
        paid = held.filter(charge=charge).aggregate(s=Sum("amount"))["s"] or 0
        written = charge.write_offs.aggregate(s=Sum("amount"))["s"] or 0
        assert charge.paid == paid
        assert charge.written_off == written
        cancelled = charge.state != ChargeState.LIVE
        assert charge.outstanding == ledger.open_amount(
            charge.amount, paid, written, cancelled=cancelled
        )
        assert charge.outstanding >= 0
        open_sum += charge.outstanding
    credit = 0
    for payment in Payment.objects.filter(client=client):
        allocated = held.filter(payment=payment).aggregate(s=Sum("amount"))["s"] or 0
        refunded = payment.refunds.aggregate(s=Sum("amount"))["s"] or 0
        assert (payment.allocated, payment.refunded) == (allocated, refunded)
        assert payment.unallocated >= 0
        credit += payment.unallocated
    assert balance == open_sum - credit == account.open_total - account.credit
    # The monthly income summary the actions keep equals the sum over the charges.
    assert summary.differences(world.practice.pk) == []


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=18))
def test_the_ledger_always_balances(steps) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction

    # Each example runs in its own savepoint, rolled back, so examples do not see each other.
    with transaction.atomic():
        world = build_world()
        admin = trail.Context(user=world.admin)
        for service, amount in SCHEDULE.items():
            actions.set_fee(admin, world.practice, service, amount, FROM)
        ctx = trail.Context(user=world.therapist)
        day = [0]
        for step in steps:
            _apply(world, ctx, step, day)
            _check(world)
        transaction.set_rollback(True)
