"""Two admins erase a client in a real browser: one asks with a reason and the typed name,
the other (in their own session) confirms, and the client's page then shows the erased
record."""

from __future__ import annotations

import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from lifecycle_data import NOTE_TEXT, build_full_record
from reverie.accounts.models import Role
from reverie.care.models import Client
from reverie.lifecycle import erasure
from reverie.testing import PASSWORD, build_world, make_user

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "The client asked in writing on 1 December for their record to be erased."


def _sign_in(page, user) -> None:
    """Password, then the authenticator code every admin needs (as test_messages.py)."""
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


def test_one_admin_asks_and_another_confirms_the_erasure(
    page, browser, live_server, shot, settings, tmp_path
) -> None:
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "ledger")
    world = build_full_record(build_world()).world
    second = make_user(world.practice, Role.ADMIN, "second@harbour.test", "Sam Second")
    client_url = page.base + reverse("care:client", args=[world.client.pk])

    _sign_in(page, world.admin)
    page.goto(client_url)
    page.get_by_role("link", name="Erasure…").click()
    page.get_by_label("Why is this record being erased?").fill(REASON)
    page.get_by_label("Type the client's full name to confirm").fill("Cleo Client")
    page.get_by_role("button", name="Ask for erasure").click()
    page.get_by_role("heading", name="Waiting for a second admin").wait_for()
    assert page.get_by_role("button", name="Confirm and erase").count() == 0
    shot(page, "erasure-waiting")

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    other = context.new_page()
    other.set_default_timeout(10_000)
    other.base = live_server.url
    try:
        _sign_in(other, second)
        other.goto(other.base + reverse("lifecycle:retention"))
        other.get_by_role("link", name="Cleo Client").first.click()
        other.get_by_text(REASON).wait_for()
        results = Axe().run(other, context={"exclude": [[".messages"]]})
        assert results.violations_count == 0, results.generate_report()
        other.get_by_label("Type the client's full name to confirm").fill("Cleo Client")
        other.get_by_role("button", name="Confirm and erase").click()
        other.get_by_role("heading", name="This record is erased").wait_for()
        other.goto(client_url)
        other.get_by_text("This record is erased.").first.wait_for()
        body = other.content()
        assert "Cleo" not in body and NOTE_TEXT not in body
        assert f"Erased client {world.client.pk}" in body
        shot(other, "erasure-done")
    finally:
        context.close()
    assert erasure.is_erased(Client.objects.get(pk=world.client.pk))
