"""Billing's documents: the monthly statement, the superbill with every field an insurer
needs, the Good Faith Estimate with the content 45 CFR 149.610(c) requires (issued at
booking and on request), each downloaded by the people who may, and audited."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.billing import actions
from reverie.billing.models import Charge, GoodFaithEstimate
from reverie.care import actions as care
from reverie.lib import periods
from reverie.outbox.models import Message
from reverie.testing import World

from .conftest import session

pytestmark = pytest.mark.usefixtures("priced")


def text_of(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    document = pdfium.PdfDocument(body)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def _billed_month(world: World) -> str:
    """Three sessions, a no-show and a payment in one past month; returns ``"YYYY-MM"``."""
    ctx = trail.Context(user=world.therapist)
    admin = trail.Context(user=world.admin)
    actions.save_settings(
        admin,
        world.practice,
        currency="USD",
        tax_id="12-3456789",
        address="1 Harbour Street\nPortsmouth NH",
        phone="555-0100",
        telehealth_pos="10",
    )
    actions.save_provider(ctx, world.therapist, npi="1234567893", licence="LICSW NH 004101")
    actions.set_diagnoses(ctx, world.client, "F41.1, F33.1")
    month_start = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    days_ago = (timezone.localdate() - month_start).days
    for offset, attendance in ((1, "attended"), (8, "attended"), (15, "no_show"), (22, "attended")):
        appt = session(
            world, days_ago - offset, video_link="https://v.example/r" if offset == 8 else ""
        )
        care.record_attendance(ctx, appt, attendance)
    actions.record_payment(
        ctx,
        world.client,
        20000,
        method="card",
        received_on=month_start + dt.timedelta(days=20),
        oldest_first=True,
    )
    return month_start.strftime("%Y-%m")


def test_the_client_downloads_the_monthly_statement(world, as_user) -> None:
    period = _billed_month(world)
    portal = as_user("client").get(reverse("billing:mine")).content.decode()
    assert reverse("billing:my_statement", args=[period]) in portal
    assert reverse("billing:my_superbill", args=[period]) in portal
    response = as_user("client").get(reverse("billing:my_statement", args=[period]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    assert "Statement and invoice" in text and "Harbour Psychotherapy" in text
    assert "Balance brought forward" in text and "$0.00" in text
    assert "CPT 90834" in text and "CPT 90834-95" in text  # the video session
    assert "Missed session fee" in text and "-$200.00" in text
    # 3 × $150 + $150 no-show − $200 paid.
    assert "Amount due: $400.00" in text
    assert AuditEntry.objects.filter(
        action="export",
        actor=world.client_user,
        client_id=world.client.pk,
        detail__view="billing.statement",
    ).exists()


def test_the_superbill_has_what_an_insurer_needs(world, as_user) -> None:
    period = _billed_month(world)
    response = as_user("client").get(reverse("billing:my_superbill", args=[period]))
    text = text_of(response.content)
    for needed in (
        "Federal tax ID (EIN): 12-3456789",
        "NPI 1234567893",
        "Licence LICSW NH 004101",
        "A. F41.1",
        "B. F33.1",
        "90834",
        "95",
        "Cleo Client",
    ):
        assert needed in text, needed
    # Sessions only: the missed-session fee is not a medical service.
    assert "Total charges: $450.00" in text and "Total paid: $200.00" in text
    charges = Charge.objects.filter(kind="session")
    for charge in charges:
        assert charge.service_date.strftime("%m/%d/%Y") in text
    # A whole year's superbill too.
    year = as_user("client").get(reverse("billing:my_superbill", args=[period[:4]]))
    assert "Total charges: $450.00" in text_of(year.content)


def test_a_bad_period_is_not_found(world, as_user) -> None:
    for period in ("2026-13", "26-01", "abc"):
        assert (
            as_user("client").get(reverse("billing:my_superbill", args=[period])).status_code == 404
        )


def test_the_therapist_and_admin_download_the_clients_documents_others_do_not(
    world, as_user
) -> None:
    period = _billed_month(world)
    url = reverse("billing:client_superbill", args=[world.client.pk, period])
    assert as_user("therapist").get(url).status_code == 200
    assert as_user("admin").get(url).status_code == 200
    assert as_user("colleague").get(url).status_code == 404
    assert as_user("other_client").get(url).status_code == 403


def test_an_estimate_asked_for_on_a_leap_day_runs_to_the_28th_of_february(world) -> None:
    """Twelve months from 29 February 2028 end on 28 February 2029. The year was added by
    replacing it, which has no 29 February in 2029: asking for an estimate on a leap day
    answered 500 (found by running the suite with the clock at 2028-02-29)."""
    estimate = actions.estimate_for_client(
        trail.Context(user=world.therapist), world.client, today=dt.date(2028, 2, 29)
    )
    assert (estimate.first_date, estimate.last_date) == (dt.date(2028, 2, 29), dt.date(2029, 2, 28))
    later = actions.estimate_for_client(
        trail.Context(user=world.therapist), world.client, today=dt.date(2028, 3, 1)
    )
    assert later.last_date == dt.date(2029, 2, 28)


def test_a_good_faith_estimate_on_request_has_the_required_content(world, as_user) -> None:
    world.client.date_of_birth = dt.date(1990, 4, 2)
    world.client.save(update_fields=["date_of_birth"])
    actions.save_provider(
        trail.Context(user=world.therapist), world.therapist, npi="1234567893", licence="x"
    )
    http = as_user("client")
    assert http.post(reverse("billing:ask_estimate")).status_code == 302
    estimate = GoodFaithEstimate.objects.get()
    # Weekly sessions over the 46 weeks a year the practice expects to meet, at $150.
    assert (estimate.sessions, estimate.fee, estimate.cpt, estimate.trigger) == (
        46,
        15000,
        "90834",
        "request",
    )
    assert estimate.last_date == periods.add_years(estimate.first_date, 1) - dt.timedelta(1)
    text = text_of(http.get(reverse("billing:my_estimate", args=[estimate.pk])).content)
    for needed in (
        "Good Faith Estimate",
        "Cleo Client",
        "1990-04-02",  # (c)(1)(i) name and date of birth
        "Psychotherapy, 45 minutes",  # (ii) the primary service
        "90834",  # (iv) service codes and expected charges
        "$150.00",
        "$6,900.00",
        "NPI 1234567893",  # (v) provider name, NPI, TIN and location
        "TIN",
        "scheduled or requested separately",  # (vii)
        "not include unknown or unexpected costs",  # (viii)
        "$400",  # (ix) dispute resolution
        "not a contract",  # (x)
    ):
        assert needed in " ".join(text.split()), needed
    # Someone else's estimate is not found.
    assert (
        as_user("other_client").get(reverse("billing:my_estimate", args=[estimate.pk])).status_code
        == 404
    )


def test_a_client_billed_through_insurance_is_told_no_estimate_is_due(world, as_user) -> None:
    actions.set_client_billing(
        trail.Context(user=world.therapist), world.client, self_pay=False, session_service=""
    )
    page = as_user("client").post(reverse("billing:ask_estimate"), follow=True).content.decode()
    assert "billed through insurance" in page
    assert not GoodFaithEstimate.objects.exists()


def test_booking_a_consultation_issues_and_emails_a_good_faith_estimate(world, settings) -> None:
    from reverie.directory.models import TherapistProfile
    from reverie.scheduling import actions as scheduling
    from reverie.scheduling import openings

    settings.PUBLIC_PRACTICE = world.practice.slug
    profile = TherapistProfile.objects.create(
        user=world.colleague,
        fee=150,
        weekly_slots=[[d, h] for d in range(7) for h in (9, 18)],
        accepting_new=True,
        published=True,
    )
    start = openings.consultation_times(profile, world.practice)[0]
    booking = scheduling.book_consultation(
        trail.Context(user=None),
        world.practice,
        profile,
        start=start,
        name="Rowan Ash",
        email="rowan@example.org",
    )
    estimate = GoodFaithEstimate.objects.get(booking=booking)
    assert (estimate.trigger, estimate.cpt, estimate.fee, estimate.sessions) == (
        "booking",
        "90791",
        20000,
        1,
    )
    mail = Message.objects.get(template="good_faith_estimate")
    assert mail.recipient == "rowan@example.org"
    assert AuditEntry.objects.filter(
        object_type="billing.goodfaithestimate", action="create"
    ).exists()
