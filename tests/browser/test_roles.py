"""Each role signs in through the real pages (password, then the second factor where it
applies), finds its home, and the page is photographed."""

from __future__ import annotations

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.care.models import Client
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


def _password_step(page, email: str) -> None:
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_therapist_enrols_two_factor_and_sees_caseload(page, shot) -> None:
    world = build_world()
    _password_step(page, world.therapist.email)
    page.wait_for_url("**/accounts/2fa/setup/")
    assert page.get_by_alt_text("QR code for your authenticator app").is_visible()
    device = TOTPDevice.objects.get(user=world.therapist, confirmed=False)
    page.get_by_label("Code from your authenticator app").fill(_code(device))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Two-factor sign-in is on").wait_for()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/caseload/")
    row = page.get_by_role("row", name="Cleo Client")
    assert row.is_visible()
    assert "11" in row.inner_text()
    assert "Olly Other" not in page.content()
    shot(page, "therapist-caseload")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_admin_signs_in_with_code_and_browses_people_and_audit(page, shot) -> None:
    world = build_world()
    device = TOTPDevice.objects.create(user=world.admin, name="phone", confirmed=True)
    _password_step(page, world.admin.email)
    page.wait_for_url("**/accounts/2fa/")
    page.get_by_label("Code from your authenticator app").fill(_code(device))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/practice/users/")
    assert page.get_by_role("row", name="Theo Therapist").is_visible()
    shot(page, "admin-people")
    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_url("**/practice/audit/")
    signed_in = page.get_by_role("row").filter(has_text="signed in").filter(has_text="Ada Admin")
    assert signed_in.first.is_visible()
    shot(page, "admin-audit")


def test_client_signs_in_on_a_phone_and_sees_own_scores(phone, shot) -> None:
    world = build_world()
    # Scores are on the home page only when the therapist shares the client's charts.
    Client.objects.filter(pk=world.client.pk).update(progress_visible_to_client=True)
    _password_step(phone, world.client_user.email)
    phone.wait_for_url("**/me/")
    phone.get_by_role("heading", name="Hello, Cleo").wait_for()
    assert phone.get_by_role("cell", name="17").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(phone, "client-home-phone")


def test_anonymous_visitor_sees_landing_and_sign_in(page, shot) -> None:
    page.goto(page.base + "/")
    page.get_by_role("heading", name="Reverie").wait_for()
    page.get_by_role("link", name="Sign in").first.click()
    page.wait_for_url("**/accounts/login/")
    shot(page, "sign-in")


def test_wrong_password_shows_a_clear_message(page) -> None:
    world = build_world()
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(world.client_user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
