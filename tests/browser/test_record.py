"""The clinical record, walked through in a real browser: create a client, open an
episode, schedule a twice-weekly series, write and sign a progress note, write a process
note, end the episode and see the follow-up schedule appear."""

from __future__ import annotations

import pytest
from django.utils import timezone

from reverie.care.models import Client, ProcessNote
from reverie.testing import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_as_therapist(page, world) -> None:
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from reverie.testing import PASSWORD

    device = TOTPDevice.objects.create(user=world.therapist, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(world.therapist.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/caseload/")


def test_therapist_walks_the_clinical_record(page, shot) -> None:
    world = build_world()
    _sign_in_as_therapist(page, world)

    # Create a client, which opens the first episode.
    page.get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="New client").click()
    page.get_by_label("Given name").fill("Iris")
    page.get_by_label("Family name").fill("Lund")
    page.get_by_label("Pronouns").fill("she/her")
    page.get_by_label("Email", exact=True).fill("iris@example.org")
    page.get_by_label("Consents to appointment reminders by email").check()
    page.get_by_label("Relationships").check()
    page.get_by_label("Modality").select_option("psychodynamic")
    page.get_by_label("Planned frequency").select_option("2")
    page.get_by_label("Goals").fill("To stop repeating the same fight")
    page.get_by_role("button", name="Add client and open episode").click()
    page.get_by_role("heading", name="Iris Lund").wait_for()
    client = Client.objects.get(family_name="Lund")
    page.get_by_role("button", name="Start treatment").click()
    page.get_by_text("The episode is now active").wait_for()

    # Schedule a twice-weekly series.
    page.get_by_role("link", name="Schedule sessions").click()
    page.get_by_label("Tuesday").check()
    page.get_by_label("Friday").check()
    page.get_by_label("At", exact=True).fill("09:00")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("Series scheduled").wait_for()
    assert client.episodes.get().appointments.count() >= 20

    # Write, save and sign a progress note.
    page.get_by_role("link", name="Progress note").click()
    page.get_by_label("Session", exact=True).fill("She spoke about her sister for the first time.")
    page.get_by_label("Plan").fill("Stay with the sister.")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    page.get_by_role("link", name="Sign and lock").click()
    page.get_by_text("Signing is final.").wait_for()
    shot(page, "record-sign-confirm")
    page.get_by_role("button", name="Sign and lock").click()
    page.get_by_text("Signed. The note is now locked").wait_for()
    shot(page, "record-signed-note")

    # Write a process note.
    page.goto(page.base + f"/clients/{client.pk}/")
    page.get_by_role("link", name="Process note").click()
    page.get_by_label("Process note").fill("I felt pulled to rescue her, as her sister did.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert ProcessNote.objects.filter(author=world.therapist).count() == 1
    shot(page, "record-process-note")

    # End the episode and see the follow-up schedule.
    page.goto(page.base + f"/clients/{client.pk}/")
    page.get_by_role("link", name="End episode").click()
    page.get_by_label("Reason").select_option("mutual")
    page.get_by_label("End date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="End episode").click()
    page.get_by_text("Follow-up questionnaires are scheduled").wait_for()
    followups = page.get_by_role("region", name="Follow-up questionnaires")
    text = followups.inner_text()
    for months in (1, 3, 6, 12):
        assert f"{months} month" in text, text
    shot(page, "record-ended-with-followups")
