"""Issue 16's walk, end to end in a browser: a person books a first consultation from the
directory on their phone; the practice admin makes them a client; they choose a password
and sign the intake forms on the phone (390x844); the consultation is now their first
session, which they cancel inside the late-cancellation window (the policy is shown first);
they join a video session from the portal; they send a message and the therapist replies.

Every step is done through the pages, with two exceptions said where they happen: the
practice turns messages on before the walk (an admin setting, tested in tests/messaging),
and the video session starting in 8 minutes is put in the calendar directly, because a
series made on the client page cannot start 8 minutes from now. The therapist gives it its
video link on the client page."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.audit import trail
from reverie.care.models import Appointment, Attendance, Client, Episode
from reverie.directory.models import ConsultationRequest, TherapistProfile
from reverie.messaging import actions as messaging_actions
from reverie.messaging.models import Message
from reverie.paperwork.models import FormRequest
from reverie.scheduling.models import Booking, BookingStatus
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)

ROOM = "https://video.example.org/harbour/theo"
NEW_PASSWORD = "river-lantern-copper-51"
#: A long walk on a shared, loaded machine: each step may wait longer than the fixtures' 10 s.
TIMEOUT = 30_000


# The innermost elements running past the phone's right edge, to say what is too wide.
WIDE = """() => Array.from(document.body.querySelectorAll('*'))
  .filter((el) => el.getBoundingClientRect().right > 391)
  .filter((el, _, all) => !all.some((o) => o !== el && el.contains(o)))
  .slice(0, 5).map((el) => el.tagName + '.' + el.className + ' ' + el.outerHTML.slice(0, 120))"""


def _fits_phone(page, where: str) -> None:
    # Measured after the stylesheet has loaded: a layout forced earlier has no CSS yet.
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:
        wide = page.evaluate(WIDE)
        raise AssertionError(f"{where} ({page.url}) is {width}px wide on a 390px phone: {wide}")


def _staff_page(browser, live_server, user):  # type: ignore[no-untyped-def]
    """A desktop page signed in as a staff member, through the two-step sign-in."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.base = live_server.url
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
    page.wait_for_load_state()
    return context, page


def test_from_directory_booking_to_a_reply_from_the_therapist(
    browser, live_server, phone, shot, mail_sent, settings
) -> None:
    world = build_world()
    settings.PUBLIC_PRACTICE = world.practice.slug
    profile = TherapistProfile.objects.create(
        user=world.therapist,
        credentials="PhD",
        modalities=["psychodynamic"],
        concerns=["relationships"],
        languages=["English"],
        fee=150,
        telehealth=True,
        location="Harbourside",
        # 09:00 and 18:00 every day: the first time offered is 12 to 27 hours away, so
        # inside the 48-hour late-cancellation window once it is a session.
        weekly_slots=[[d, h] for d in range(7) for h in (9, 18)],
        accepting_new=True,
        published=True,
    )
    messaging_actions.set_practice_messaging(
        trail.Context(user=world.admin), world.practice, enabled=True
    )
    phone.set_default_timeout(TIMEOUT)
    phone.context.route("https://video.example.org/**", lambda route: route.fulfill(body="room"))
    staff = []
    try:
        # 1. The person books the first time offered on the therapist's profile.
        phone.goto(phone.base + reverse("directory:therapist", args=[profile.pk]))
        phone.locator(".booking-times").scroll_into_view_if_needed()
        _fits_phone(phone, "the therapist's profile")
        shot(phone, "scheduling-profile-phone")
        phone.locator(".booking-times .time-choices a").first.click()
        phone.get_by_label("Your name").fill("Rowan Ash")
        phone.get_by_label("Email address").fill("rowan@example.org")
        _fits_phone(phone, "the booking form")
        shot(phone, "scheduling-book-phone")
        phone.get_by_role("button", name="Book this time").click()
        phone.wait_for_url("**/consultation/booked/")
        shot(phone, "scheduling-booked-phone")
        booking = Booking.objects.get(status=BookingStatus.BOOKED)
        assert booking.therapist == world.therapist
        confirmation = next(m for m in mail_sent(3) if m.to == ["rowan@example.org"])
        assert [a[0] for a in confirmation.attachments] == ["consultation.ics"]

        # 2. It is in the therapist's diary; the admin makes the person a client.
        context, therapist = _staff_page(browser, live_server, world.therapist)
        staff.append(context)
        day = timezone.localdate(booking.starts_at).isoformat()
        therapist.goto(therapist.base + reverse("care:today") + f"?day={day}")
        therapist.get_by_text("First consultation with Rowan Ash").wait_for()
        shot(therapist, "scheduling-today-desktop")
        therapist.goto(therapist.base + reverse("scheduling:requests"))
        therapist.get_by_text("Rowan Ash").wait_for()
        shot(therapist, "scheduling-therapist-desktop")

        context, admin = _staff_page(browser, live_server, world.admin)
        staff.append(context)
        request = ConsultationRequest.objects.get()
        admin.goto(admin.base + reverse("directory:intake_request", args=[request.pk]))
        admin.get_by_text("Booked consultation").first.wait_for()
        shot(admin, "scheduling-intake-request-desktop")
        admin.get_by_role("link", name="Make Rowan Ash a client").click()
        shot(admin, "scheduling-convert-desktop")
        mail.outbox.clear()
        admin.get_by_role("button", name="Create client and intake episode").click()
        admin.wait_for_url("**/clients/*/")
        client = Client.objects.get(family_name="Ash")
        session = Appointment.objects.get(episode__client=client)
        booking.refresh_from_db()
        assert booking.status == BookingStatus.SESSION and booking.appointment == session
        assert session.starts_at == booking.starts_at

        # 3. The invitation's link: the client chooses a password and signs in.
        invitation = next(m for m in mail_sent(2) if "invited" in m.subject.lower())
        path = re.search(r"/accounts/set-password/[^/\s]+/[^/\s]+/", invitation.body)
        assert path is not None, invitation.body
        phone.goto(phone.base + path.group(0))
        phone.locator("input[name=new_password1]").fill(NEW_PASSWORD)
        phone.locator("input[name=new_password2]").fill(NEW_PASSWORD)
        phone.get_by_role("button", name="Save password").click()
        phone.wait_for_url("**/set-password/done/")
        phone.goto(phone.base + "/accounts/login/")
        phone.get_by_label("Email").fill("rowan@example.org")
        phone.get_by_label("Password").fill(NEW_PASSWORD)
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url("**/me/")

        # 4. Every form sent with the invitation is read and signed on the phone.
        sent = FormRequest.objects.filter(client=client).count()
        assert sent >= 4
        phone.get_by_role("link", name="Forms", exact=True).click()
        phone.wait_for_url("**/paperwork/")
        _fits_phone(phone, "my forms")
        for _ in range(sent):
            phone.get_by_role("link", name=re.compile(r"^Read and sign")).first.click()
            phone.get_by_label("Type your full name to sign").wait_for()
            _fits_phone(phone, "a form to sign")
            phone.get_by_label("I agree to use electronic records").check()
            phone.get_by_label("Type your full name to sign").fill("Rowan Ash")
            form = phone.locator("form.record-form")
            form.get_by_role("button", name=re.compile(r"^Sign ")).click()
            phone.wait_for_url("**/paperwork/")
        assert phone.get_by_role("link", name=re.compile(r"^Read and sign")).count() == 0
        signed = FormRequest.objects.filter(client=client)
        assert all(r.is_signed and r.signed_from == "127.0.0.1" for r in signed)

        # 5. The booked consultation is a session; cancelling it now is a late cancellation.
        phone.get_by_role("link", name="Sessions", exact=True).click()
        phone.get_by_text("Cancelling now would be a late cancellation.").wait_for()
        _fits_phone(phone, "my sessions")
        shot(phone, "scheduling-sessions-phone")
        phone.get_by_role("link", name=re.compile(r"^Cancel")).first.click()
        phone.get_by_text("The cancellation policy applies.").wait_for()
        _fits_phone(phone, "the late-cancellation notice")
        shot(phone, "scheduling-late-cancel-phone")
        phone.get_by_role("button", name="Cancel it as a late cancellation").click()
        phone.get_by_text("recorded as a late cancellation").first.wait_for()
        session.refresh_from_db()
        assert session.attendance == Attendance.LATE_CANCEL
        shot(phone, "scheduling-late-cancelled-phone")

        # 6. A video session in 8 minutes (put in the calendar directly: see the module's
        # docstring); the therapist gives it its link on the client page, the client joins.
        video = Appointment.objects.create(
            episode=Episode.objects.get(client=client),
            starts_at=timezone.now() + datetime.timedelta(minutes=8),
        )
        therapist.goto(therapist.base + reverse("care:client", args=[client.pk]))
        therapist.locator(f"#vl-{video.pk}").locator("xpath=ancestor::details").locator(
            "summary"
        ).click()
        therapist.locator(f"#vl-{video.pk}").fill(ROOM)
        therapist.locator(f"#vl-{video.pk}").locator("xpath=ancestor::form").get_by_role(
            "button", name="Save link"
        ).click()
        therapist.get_by_text("Video link saved.").wait_for()
        phone.goto(phone.base + "/me/")
        join = phone.get_by_role("link", name="Join the video session")
        join.wait_for()
        assert join.get_attribute("href") == ROOM
        _fits_phone(phone, "my space with the join button")
        with phone.context.expect_page() as opened:
            join.click()
        assert opened.value.url == ROOM
        opened.value.close()

        # 7. The client writes; the therapist replies; the client reads the reply.
        phone.get_by_role("link", name="Messages").first.click()
        phone.wait_for_url("**/messages/")
        phone.get_by_label("Your message").fill("Thank you for the forms. See you soon.")
        phone.get_by_role("button", name="Send message").click()
        phone.get_by_text("Message sent.").wait_for()
        _fits_phone(phone, "the client's messages")
        therapist.goto(therapist.base + reverse("care:client", args=[client.pk]))
        therapist.locator(".page-actions").get_by_role("link", name="Messages").click()
        therapist.get_by_text("Thank you for the forms. See you soon.").wait_for()
        therapist.get_by_label("Your message").fill("See you on Thursday, Rowan.")
        therapist.get_by_role("button", name="Send message").click()
        therapist.get_by_text("Message sent.").wait_for()
        phone.reload()
        phone.get_by_text("See you on Thursday, Rowan.").wait_for()
        assert Message.objects.filter(thread__client=client).count() == 2

        # The admin's settings for all of the above (a page the walk did not need).
        admin.goto(admin.base + reverse("scheduling:settings"))
        admin.get_by_label("Late-cancellation window, in hours").wait_for()
        shot(admin, "scheduling-settings-desktop")
    finally:
        for context in staff:
            context.close()
