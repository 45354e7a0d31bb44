"""Issue 17's walk in a real browser: the therapist marks a session attended on the client's
page, which charges it (CPT by the session's length); the client opens Billing in the
portal on a phone, sees what they owe and downloads the month's superbill as a PDF."""

from __future__ import annotations

import datetime
import time

import pypdfium2 as pdfium
import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.billing import actions
from reverie.billing.models import Charge
from reverie.care.models import Appointment
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_staff(page, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def test_attended_session_is_charged_and_the_client_downloads_the_superbill(
    page, phone, shot, tmp_path
) -> None:
    world = build_world()
    admin = trail.Context(user=world.admin)
    for service, amount in (("psychotherapy_45", 15000), ("initial_consultation", 20000)):
        actions.set_fee(admin, world.practice, service, amount, datetime.date(2020, 1, 1))
    actions.save_provider(
        trail.Context(user=world.therapist), world.therapist, npi="1234567893", licence="LICSW"
    )
    session = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() - datetime.timedelta(minutes=55),
        duration_minutes=45,
    )

    page.set_default_timeout(30_000)
    _sign_in_staff(page, world.therapist)
    page.goto(page.base + reverse("care:client", args=[world.client.pk]))
    page.get_by_role("button", name="Attended", exact=True).click()
    page.wait_for_load_state("load")
    charge = Charge.objects.get(appointment=session)
    assert (charge.cpt, charge.amount) == ("90834", 15000)

    phone.set_default_timeout(30_000)
    phone.goto(phone.base + "/accounts/login/")
    phone.get_by_label("Email").fill(world.client_user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/me/")
    phone.goto(phone.base + reverse("billing:mine"))
    phone.get_by_text("You owe").wait_for()
    assert "$150.00" in phone.inner_text("main")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "billing-portal-phone")
    period = charge.service_date.strftime("%Y-%m")
    link = phone.get_by_role("link", name=f"Superbill {period} (PDF)")
    with phone.expect_download() as info:
        link.click()
    saved = tmp_path / "superbill.pdf"
    info.value.save_as(saved)
    document = pdfium.PdfDocument(saved.read_bytes())
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "Superbill" in text and "90834" in text and "NPI 1234567893" in text
    assert charge.service_date.strftime("%m/%d/%Y") in text
    assert "Total charges: $150.00" in text
    assert AuditEntry.objects.filter(
        action="export", actor=world.client_user, detail__view="billing.superbill"
    ).exists()
