"""Secure messages on a phone (390x844): the client writes, the therapist replies, the
client sees the reply; the not-for-emergencies notice and the crisis card are on each
thread page, the page fits the phone, and nothing trips the Content-Security-Policy."""

from __future__ import annotations

import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.audit import trail
from reverie.messaging import actions
from reverie.messaging.models import Message
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user.is_staff_role:
        page.wait_for_url("**/accounts/2fa/")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
        page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def _phone_checks(page, where: str, csp: list[str]) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{where} is {width}px wide on a 390px phone"
    assert page.get_by_text("Messages are not for emergencies.").is_visible()
    card = page.locator("#crisis")
    assert "988" in card.inner_text()
    page.get_by_role("link", name="If you need help now, see the crisis card").click()
    assert csp == [], csp
    # base.html's flash-message list is not this page's to fix (as in test_portal.py).
    results = Axe().run(page, context={"exclude": [[".messages"]]})
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def test_client_writes_therapist_replies_client_reads_on_a_phone(
    browser, live_server, phone, shot, mail_sent
) -> None:
    world = build_world()
    actions.set_practice_messaging(trail.Context(user=world.admin), world.practice, enabled=True)
    csp: list[str] = []
    phone.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)

    _sign_in(phone, world.client_user)
    phone.get_by_role("link", name="Messages").click()
    phone.wait_for_url("**/messages/")
    phone.get_by_label("Your message").fill("Could we talk about the gap over the holidays?")
    phone.get_by_role("button", name="Send message").click()
    phone.get_by_text("Message sent.").wait_for()
    assert phone.get_by_text("Not read yet").is_visible()
    _phone_checks(phone, "client thread", csp)
    shot(phone, "messages-client-phone")
    # The therapist is told, without the words.
    sent = mail_sent(1)
    assert [m.to for m in sent] == [[world.therapist.email]]
    assert "holidays" not in sent[0].body

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    therapist = context.new_page()
    therapist.set_default_timeout(10_000)
    therapist.base = live_server.url
    therapist.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
    try:
        _sign_in(therapist, world.therapist)
        therapist.goto(therapist.base + "/messages/inbox/")
        assert therapist.locator(".badge").first.inner_text() == "1"
        therapist.get_by_role("link", name="Cleo Client").click()
        therapist.get_by_text("Could we talk about the gap over the holidays?").wait_for()
        therapist.get_by_label("Your message").fill("Yes - let's plan it on Thursday.")
        therapist.get_by_role("button", name="Send message").click()
        therapist.get_by_text("Message sent.").wait_for()
        _phone_checks(therapist, "therapist thread", csp)
        shot(therapist, "messages-therapist-phone")
    finally:
        context.close()

    phone.reload()
    phone.get_by_text("Yes - let's plan it on Thursday.").wait_for()
    # The client's message now carries its read receipt, and the reply is marked read.
    assert phone.locator(".thread li.mine .receipt").inner_text().startswith("Read ")
    assert Message.objects.get(from_client=False).read_at is not None
    _phone_checks(phone, "client thread with the reply", csp)
    shot(phone, "messages-reply-phone")
