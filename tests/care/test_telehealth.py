"""Telehealth: a video link per series or session, in reminders, the calendar feed's
LOCATION and the portal's "Join" button (from 10 minutes before); the progress note
records the place of the session."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions
from reverie.care.models import Appointment, ProgressNote
from reverie.testing import World

ROOM = "https://meet.example.org/harbour/theo"


def _monday_after(day: datetime.date) -> datetime.date:
    return day + datetime.timedelta(days=(7 - day.weekday()) % 7 or 7)


def test_a_series_carries_its_video_link_to_every_session(world: World, as_user) -> None:
    response = as_user("therapist").post(
        reverse("care:series_new", args=[world.episode.pk]),
        {
            "weekdays": ["2"],
            "every_weeks": "1",
            "start_time": "09:00",
            "duration_minutes": "50",
            "starts_on": _monday_after(timezone.localdate()).isoformat(),
            "video_link": ROOM,
        },
    )
    assert response.status_code == 302
    series = world.episode.series.get()
    assert series.video_link == ROOM
    sessions = list(series.appointments.select_related("series"))
    assert sessions and all(s.join_link == ROOM for s in sessions)


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("http://meet.example.org/x", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("https://user:pw@meet.example.org/x", "must not carry a user name"),
        ("https://localhost/x", "needs a host name"),
    ],
)
def test_a_bad_video_link_is_refused_and_nothing_is_scheduled(
    world: World, as_user, link: str, message: str
) -> None:
    before = Appointment.objects.count()
    response = as_user("therapist").post(
        reverse("care:series_new", args=[world.episode.pk]),
        {
            "weekdays": ["2"],
            "every_weeks": "1",
            "start_time": "09:00",
            "duration_minutes": "50",
            "starts_on": _monday_after(timezone.localdate()).isoformat(),
            "video_link": link,
        },
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not world.episode.series.exists() and Appointment.objects.count() == before


def test_one_session_gets_its_own_link_audited_and_a_bad_one_changes_nothing(
    world: World, as_user
) -> None:
    session = Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    http = as_user("therapist")
    url = reverse("care:session_video", args=[session.pk])
    before = AuditEntry.objects.count()
    assert http.post(url, {"video_link": ROOM}).status_code == 302
    session.refresh_from_db()
    assert session.join_link == ROOM
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type, entry.detail) == (
        "update",
        "care.appointment",
        {"fields": ["video_link"], "video": True},
    )
    page = http.post(url, {"video_link": "ftp://x.example.org"}, follow=True)
    assert "must start with https://" in page.content.decode()
    session.refresh_from_db()
    assert session.video_link == ROOM


def test_the_reminder_and_the_calendar_feed_carry_the_link(
    world: World, client, django_capture_on_commit_callbacks
) -> None:
    world.client.consent_email_reminders = True
    world.client.save(update_fields=["consent_email_reminders"])
    session = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() + datetime.timedelta(hours=20),
        video_link=ROOM,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_due_reminders() == 1
    [message] = mail.outbox
    assert ROOM in message.body and "by video" in message.body
    token = actions.create_calendar_feed(trail.Context(user=world.therapist), world.therapist)
    calendar = Calendar.from_ical(client.get(reverse("care:calendar_feed", args=[token])).content)
    located = {str(e["uid"]): str(e.get("location", "")) for e in calendar.walk("VEVENT")}
    assert located[f"session-{session.pk}@reverie"] == ROOM
    assert sum(1 for v in located.values() if v) == 1


def test_the_portal_offers_join_from_ten_minutes_before(world: World, as_user) -> None:
    soon = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() + datetime.timedelta(minutes=30),
        video_link=ROOM,
    )
    http = as_user("client")
    page = http.get(reverse("care:client_home")).content.decode()
    assert "by video" in page and "Join the video session" not in page
    Appointment.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() + datetime.timedelta(minutes=9)
    )
    page = http.get(reverse("care:client_home")).content.decode()
    assert f'href="{ROOM}"' in page and "Join the video session" in page
    # Still there while the session runs.
    Appointment.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=20)
    )
    assert "Join the video session" in http.get(reverse("care:client_home")).content.decode()


def test_the_progress_note_of_a_video_session_records_telehealth(world: World, as_user) -> None:
    session = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        video_link=ROOM,
    )
    http = as_user("therapist")
    url = reverse("care:progress_note_new", args=[world.episode.pk]) + f"?appointment={session.pk}"
    form = http.get(url).content.decode()
    assert '<option value="telehealth" selected>' in form
    response = http.post(
        url,
        {
            "session_date": timezone.localdate().isoformat(),
            "attendance": "attended",
            "duration_minutes": "50",
            "place": "telehealth",
            "content": "",
            "risk_assessment": "",
            "interventions": "",
            "plan": "",
        },
    )
    assert response.status_code == 302
    assert ProgressNote.objects.get(appointment=session).place == "telehealth"


def test_a_therapist_s_own_room_starts_every_new_series(world: World, as_user) -> None:
    http = as_user("therapist")
    before = AuditEntry.objects.count()
    http.post(reverse("care:calendar"), {"action": "room", "video_room": ROOM})
    assert world.therapist.video_room.url == ROOM
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type) == ("create", "care.videoroom")
    form = http.get(reverse("care:series_new", args=[world.episode.pk])).content.decode()
    assert f'value="{ROOM}"' in form
    # A bad room is refused with the reason and the saved one stays.
    page = http.post(
        reverse("care:calendar"),
        {"action": "room", "video_room": "http://x.example.org"},
        follow=True,
    )
    assert "must start with https://" in page.content.decode()
    world.therapist.video_room.refresh_from_db()
    assert world.therapist.video_room.url == ROOM
    http.post(reverse("care:calendar"), {"action": "room", "video_room": ""})
    assert not type(world.therapist.video_room).objects.filter(therapist=world.therapist).exists()
