"""A client signs the intake forms on a phone-sized page (issue 16). Screenshots land in
test-artifacts/; the one of the signing page is copied to docs/screenshots/."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from reverie.audit import trail
from reverie.paperwork import actions
from reverie.paperwork.models import FormRequest
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _fits_phone(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{where} is {width}px wide on a 390px phone"


def _accessible(page, where: str) -> None:
    # base.html's flash-message list is not this domain's to fix (as in test_portal.py).
    results = Axe().run(page, context={"exclude": [[".messages"]]})
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def test_client_reads_and_signs_the_consent_on_a_phone(phone, shot) -> None:
    world = build_world()
    sent = actions.send_forms(trail.Context(user=world.therapist), world.client)
    phone.goto(phone.base + "/accounts/login/")
    phone.get_by_label("Email").fill(world.client_user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/me/")
    phone.get_by_role("link", name="Forms", exact=True).click()
    phone.wait_for_url("**/paperwork/")
    assert phone.get_by_text("Waiting for signature").count() == len(sent)
    _fits_phone(phone, "my forms")
    _accessible(phone, "my forms")
    shot(phone, "paperwork-forms-phone")

    phone.get_by_role("link", name="Read and sign Consent to treatment").click()
    phone.get_by_role("heading", name="Consent to treatment", level=1).wait_for()
    _fits_phone(phone, "signing page")
    _accessible(phone, "signing page")
    # Without the agreement to electronic records nothing is signed.
    phone.get_by_label("Type your full name to sign").fill("Cleo Client")
    shot(phone, "paperwork-sign-phone")
    phone.get_by_role("button", name="Sign consent to treatment").click()
    phone.get_by_text("agree to use electronic records").first.wait_for()
    consent = next(r for r in sent if r.version.form.kind == "consent_to_treatment")
    assert not FormRequest.objects.get(pk=consent.pk).is_signed
    phone.get_by_label("I agree to use electronic records").check()
    phone.get_by_role("button", name="Sign consent to treatment").click()
    phone.wait_for_url("**/paperwork/")
    phone.get_by_text("Signed: Consent to treatment").wait_for()
    signed = FormRequest.objects.get(pk=consent.pk)
    assert signed.is_signed and signed.signed_from == "127.0.0.1"
    assert signed.document_sha256 == consent.version.sha256
    assert phone.get_by_role("link", name="Download the signed copy").count() == 1
    _fits_phone(phone, "my forms after signing")
    shot(phone, "paperwork-signed-phone")
