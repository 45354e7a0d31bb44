"""Charges from attendance, fee changes from a date, agreed fees, waivers, payments split
over charges, refunds and write-offs, through the actions the pages call; each asserts
the audit rows and that refused changes change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.billing import actions, queries
from reverie.billing.models import (
    Allocation,
    Charge,
    ChargeKind,
    ChargeState,
    ClientBilling,
    Payment,
    Refund,
    Waiver,
)
from reverie.care import actions as care
from reverie.care.models import Appointment, Attendance, ProgressNote
from reverie.scheduling import actions as scheduling
from reverie.testing import World

from .conftest import FROM, session

pytestmark = pytest.mark.usefixtures("priced")


def _audit(kind: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=f"billing.{kind}").order_by("pk"))


def test_an_attended_session_is_charged_its_fee_with_its_codes(world, therapist_ctx) -> None:
    # The world's client already attended earlier sessions: this one is psychotherapy.
    appt = session(world, 2, minutes=50)
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charge = Charge.objects.get(appointment=appt)
    assert (charge.kind, charge.service, charge.cpt, charge.pos, charge.modifier) == (
        ChargeKind.SESSION,
        "psychotherapy_45",
        "90834",
        "11",
        "",
    )
    assert (charge.amount, charge.outstanding, charge.currency) == (15000, 15000, "USD")
    assert charge.therapist_id == world.therapist.pk
    [entry] = _audit("charge")
    assert entry.action == "create" and entry.client_id == world.client.pk
    assert entry.detail["cpt"] == "90834" and entry.detail["amount"] == 15000
    # Recording the same attendance again does not charge twice.
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    assert Charge.objects.filter(appointment=appt).count() == 1


def test_a_long_video_session_is_90837_with_modifier_95(world, therapist_ctx) -> None:
    appt = session(world, 3, minutes=55, video_link="https://video.example/room")
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charge = Charge.objects.get(appointment=appt)
    assert (charge.cpt, charge.pos, charge.modifier, charge.amount) == ("90837", "10", "95", 18000)


def test_the_signed_note_decides_minutes_and_place(world, therapist_ctx) -> None:
    appt = session(world, 3, minutes=50)
    ProgressNote.objects.create(
        episode=world.episode,
        appointment=appt,
        author=world.therapist,
        session_date=appt.starts_at.date(),
        duration_minutes=30,
        place="telehealth",
    )
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charge = Charge.objects.get(appointment=appt)
    assert (charge.cpt, charge.minutes, charge.pos, charge.modifier) == ("90832", 30, "10", "95")


def test_a_first_session_is_an_initial_consultation(world, therapist_ctx) -> None:
    Appointment.objects.filter(episode=world.episode).delete()
    appt = session(world, 1)
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    assert Charge.objects.get(appointment=appt).cpt == "90791"


def test_a_fee_change_from_a_date_never_rewrites_past_charges(
    world, admin_ctx, therapist_ctx
) -> None:
    before = session(world, 10)
    care.record_attendance(therapist_ctx, before, Attendance.ATTENDED)
    change_on = timezone.localdate() - dt.timedelta(days=5)
    actions.set_fee(admin_ctx, world.practice, "psychotherapy_45", 16500, change_on)
    after = session(world, 4)
    care.record_attendance(therapist_ctx, after, Attendance.ATTENDED)
    # A session before the change, recorded only now, still takes the old fee.
    late_recorded = session(world, 7)
    care.record_attendance(therapist_ctx, late_recorded, Attendance.ATTENDED)
    amounts = {c.appointment_id: c.amount for c in Charge.objects.all()}
    assert amounts == {before.pk: 15000, after.pk: 16500, late_recorded.pk: 15000}
    entry = _audit("fee")[-1]
    assert entry.detail == {
        "service": "psychotherapy_45",
        "amount": 16500,
        "from": change_on.isoformat(),
    }


def test_the_same_service_cannot_have_two_fees_from_one_day(world, admin_ctx) -> None:
    with pytest.raises(actions.BillingError, match="already has a fee"):
        actions.set_fee(admin_ctx, world.practice, "psychotherapy_45", 1, FROM)


def test_only_an_admin_sets_the_schedule(world, therapist_ctx) -> None:
    with pytest.raises(actions.BillingError, match="Only an admin"):
        actions.set_fee(therapist_ctx, world.practice, "psychotherapy_45", 1, FROM)


def test_an_agreed_fee_applies_from_its_date_within_the_published_range(
    world, therapist_ctx
) -> None:
    with pytest.raises(actions.BillingError, match=r"from \$90.00 to \$150.00"):
        actions.agree_fee(therapist_ctx, world.client, world.therapist, 8000, FROM)
    assert not world.client.agreed_fees.exists()
    actions.agree_fee(
        therapist_ctx, world.client, world.therapist, 9000, timezone.localdate() - dt.timedelta(3)
    )
    old, new = session(world, 6), session(world, 2)
    for appt in (old, new):
        care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    assert Charge.objects.get(appointment=old).amount == 15000
    charge = Charge.objects.get(appointment=new)
    assert (charge.amount, charge.fee_source) == (9000, "agreed")


def test_a_no_show_is_charged_the_policy_fee_and_the_waiver_is_audited(
    world, therapist_ctx
) -> None:
    appt = session(world, 1)
    care.record_attendance(therapist_ctx, appt, Attendance.NO_SHOW)
    charge = Charge.objects.get(appointment=appt)
    assert (charge.kind, charge.cpt, charge.amount) == (ChargeKind.NO_SHOW, "", 15000)
    assert queries.account(world.client).balance == 15000

    with pytest.raises(actions.BillingError, match="reason"):
        actions.waive(therapist_ctx, charge, "")
    actions.waive(therapist_ctx, charge, "illness")
    charge.refresh_from_db()
    assert (charge.state, charge.outstanding) == (ChargeState.WAIVED, 0)
    assert Waiver.objects.get(charge=charge).created_by == world.therapist
    assert queries.account(world.client).balance == 0
    [entry] = _audit("waiver")
    assert entry.detail == {"charge": charge.pk, "amount": 15000, "reason": "illness"}
    assert entry.actor_id == world.therapist.pk
    # Waiving twice changes nothing more; a colleague not treating the client cannot waive.
    with pytest.raises(actions.BillingError, match="no longer charged"):
        actions.waive(therapist_ctx, charge, "illness")
    with pytest.raises(actions.BillingError, match="Only the practice admin"):
        actions.waive(trail.Context(user=world.colleague), charge, "illness")


def test_a_late_cancellation_in_the_portal_charges_the_policy_fee(world) -> None:
    starts = timezone.now() + dt.timedelta(hours=5)
    appt = Appointment.objects.create(episode=world.episode, starts_at=starts)
    scheduling.cancel_session(
        trail.Context(user=world.client_user), world.client, appt.pk, accept_late=True
    )
    charge = Charge.objects.get(appointment=appt)
    assert (charge.kind, charge.amount, charge.created_by) == (ChargeKind.LATE_CANCEL, 15000, None)


def test_correcting_attendance_voids_the_charge_and_frees_its_payment(world, therapist_ctx) -> None:
    appt = session(world, 2)
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charge = Charge.objects.get(appointment=appt)
    actions.record_payment(
        therapist_ctx,
        world.client,
        15000,
        method="cash",
        received_on=timezone.localdate(),
        allocate=[(charge, 15000)],
    )
    care.record_attendance(therapist_ctx, appt, Attendance.CANCELLED, reason="therapist ill")
    charge.refresh_from_db()
    assert (charge.state, charge.paid, charge.outstanding) == (ChargeState.VOIDED, 0, 0)
    account = queries.account(world.client)
    assert (account.balance, account.credit) == (-15000, 15000)
    assert Allocation.objects.get().released_at is not None


def test_a_payment_split_over_three_charges(world, therapist_ctx) -> None:
    appts = [session(world, d) for d in (20, 13, 6)]
    for appt in appts:
        care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charges = list(Charge.objects.order_by("service_date"))
    assert len(charges) == 3
    payment = actions.record_payment(
        therapist_ctx,
        world.client,
        40000,
        method="cheque",
        received_on=timezone.localdate(),
        reference="1042",
        oldest_first=True,
    )
    parts = [(a.charge_id, a.amount) for a in Allocation.objects.order_by("pk")]
    assert parts == [(charges[0].pk, 15000), (charges[1].pk, 15000), (charges[2].pk, 10000)]
    assert [Charge.objects.get(pk=c.pk).outstanding for c in charges] == [0, 0, 5000]
    assert (payment.allocated, payment.unallocated) == (40000, 0)
    assert queries.account(world.client).balance == 5000
    assert [e.detail["amount"] for e in _audit("allocation")] == [15000, 15000, 10000]
    assert _audit("payment")[0].detail["method"] == "cheque"


def test_an_allocation_beyond_what_is_owed_changes_nothing(world, therapist_ctx) -> None:
    appt = session(world, 2)
    care.record_attendance(therapist_ctx, appt, Attendance.ATTENDED)
    charge = Charge.objects.get()
    with pytest.raises(actions.BillingError, match="more than is still owed"):
        actions.record_payment(
            therapist_ctx,
            world.client,
            20000,
            method="cash",
            received_on=timezone.localdate(),
            allocate=[(charge, 20000)],
        )
    assert not Payment.objects.exists()
    assert Charge.objects.get().outstanding == 15000


def test_a_refund_takes_credit_first_then_reopens_the_newest_charge(world, therapist_ctx) -> None:
    for d in (9, 2):
        care.record_attendance(therapist_ctx, session(world, d), Attendance.ATTENDED)
    payment = actions.record_payment(
        therapist_ctx,
        world.client,
        35000,
        method="bank_transfer",
        received_on=timezone.localdate(),
        oldest_first=True,
    )
    assert payment.unallocated == 5000
    actions.refund(therapist_ctx, payment, 8000, "overpayment")
    payment.refresh_from_db()
    assert (payment.refunded, payment.allocated, payment.unallocated) == (8000, 27000, 0)
    first, second = Charge.objects.order_by("service_date")
    assert (first.outstanding, second.outstanding) == (0, 3000)
    account = queries.account(world.client)
    assert (account.balance, account.credit, account.open_total) == (3000, 0, 3000)
    assert Refund.objects.get().reason == "overpayment"
    assert _audit("refund")[0].detail == {
        "amount": 8000,
        "payment": payment.pk,
        "reason": "overpayment",
    }
    with pytest.raises(actions.BillingError, match="more than is left"):
        actions.refund(therapist_ctx, payment, 27001, "overpayment")


def test_a_write_off_lowers_the_balance_with_its_reason(world, admin_ctx, therapist_ctx) -> None:
    care.record_attendance(therapist_ctx, session(world, 2), Attendance.ATTENDED)
    charge = Charge.objects.get()
    actions.write_off(admin_ctx, charge, 5000, "hardship")
    charge.refresh_from_db()
    assert (charge.written_off, charge.outstanding) == (5000, 10000)
    assert queries.account(world.client).balance == 10000
    with pytest.raises(actions.BillingError, match="reason"):
        actions.write_off(admin_ctx, charge, 1, "because")


def test_diagnoses_are_typed_by_the_therapist_and_checked_for_format(
    world: World, therapist_ctx, admin_ctx
) -> None:
    assert actions.set_diagnoses(therapist_ctx, world.client, "f41.1, F33.1") == ["F41.1", "F33.1"]
    assert ClientBilling.objects.get(client=world.client).diagnosis_codes == ["F41.1", "F33.1"]
    with pytest.raises(actions.BillingError, match="Not in the form"):
        actions.set_diagnoses(therapist_ctx, world.client, "F41.1 anxiety")
    with pytest.raises(actions.BillingError, match="therapist"):
        actions.set_diagnoses(admin_ctx, world.client, "F41.1")
    assert ClientBilling.objects.get(client=world.client).diagnosis_codes == ["F41.1", "F33.1"]
    # The trail counts the codes and never names them.
    assert AuditEntry.objects.filter(object_type="billing.clientbilling").get().detail == {
        "diagnoses": 2
    }


def test_a_client_cannot_record_money(world) -> None:
    with pytest.raises(actions.BillingError):
        actions.record_payment(
            trail.Context(user=world.client_user),
            world.client,
            100,
            method="cash",
            received_on=timezone.localdate(),
        )
