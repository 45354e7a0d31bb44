"""A client joins a video session from the portal on a phone (issue 16): the "Join" button
appears from 10 minutes before the session and opens the session's own link."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from reverie.care.models import Appointment
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)

ROOM = "https://video.example.org/harbour/theo"


def test_client_sees_join_ten_minutes_before_a_video_session(phone, shot) -> None:
    world = build_world()
    session = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() + datetime.timedelta(minutes=40),
        video_link=ROOM,
    )
    # Nothing may leave the machine: the video service is never contacted by the test.
    phone.context.route("https://video.example.org/**", lambda route: route.fulfill(body="room"))
    phone.goto(phone.base + "/accounts/login/")
    phone.get_by_label("Email").fill(world.client_user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/me/")
    phone.get_by_text("appears here 10 minutes before").wait_for()
    assert phone.get_by_role("link", name="Join the video session").count() == 0

    Appointment.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() + datetime.timedelta(minutes=8)
    )
    phone.reload()
    join = phone.get_by_role("link", name="Join the video session")
    join.wait_for()
    assert join.get_attribute("href") == ROOM
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "telehealth-join-phone")
    with phone.context.expect_page() as opened:
        join.click()
    assert opened.value.url == ROOM
