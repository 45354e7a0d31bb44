from __future__ import annotations

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from reverie.audit import trail
from reverie.care import actions
from reverie.care.models import Appointment, Attendance
from reverie.testing import World, build_world


def _monday_after(day: datetime.date) -> datetime.date:
    return day + datetime.timedelta(days=(7 - day.weekday()) % 7 or 7)


def test_twice_weekly_series_creates_twelve_weeks_of_sessions(world: World, as_user) -> None:
    start = _monday_after(timezone.localdate())
    response = as_user("therapist").post(
        reverse("care:series_new", args=[world.episode.pk]),
        {
            "weekdays": ["1", "4"],
            "every_weeks": "1",
            "start_time": "09:00",
            "duration_minutes": "50",
            "starts_on": start.isoformat(),
        },
    )
    assert response.status_code == 302
    series = world.episode.series.get()
    sessions = list(series.appointments.order_by("starts_at"))
    assert {timezone.localtime(s.starts_at).weekday() for s in sessions} == {1, 4}
    assert 22 <= len(sessions) <= 24
    assert all(s.duration_minutes == 50 for s in sessions)


def test_fortnightly_series_with_two_days_is_refused(world: World) -> None:
    with pytest.raises(actions.CareActionError, match="one weekday"):
        actions.create_series(
            trail.Context(user=world.therapist),
            world.episode,
            weekdays=[1, 3],
            every_weeks=2,
            start_time=datetime.time(9),
            starts_on=timezone.localdate(),
        )


def test_changing_a_series_from_a_date_keeps_the_past(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    series = actions.create_series(
        ctx,
        world.episode,
        weekdays=[0],
        every_weeks=1,
        start_time=datetime.time(10),
        starts_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    held = series.appointments.order_by("starts_at").first()
    assert held is not None
    # Pretend the first generated session happened and was noted.
    Appointment.objects.filter(pk=held.pk).update(
        starts_at=timezone.now() - datetime.timedelta(days=2), attendance=Attendance.ATTENDED
    )
    change_from = timezone.localdate() + datetime.timedelta(days=14)
    new = actions.change_series_from(
        ctx,
        series,
        from_date=change_from,
        weekdays=[2, 4],
        every_weeks=1,
        start_time=datetime.time(8),
        duration_minutes=45,
    )
    series.refresh_from_db()
    assert series.ends_on == change_from - datetime.timedelta(days=1)
    held.refresh_from_db()
    assert held.attendance == "attended"
    old_future = series.appointments.filter(starts_at__date__gte=change_from)
    assert not old_future.exists()
    assert {timezone.localtime(a.starts_at).weekday() for a in new.appointments.all()} == {2, 4}


def test_a_break_cancels_sessions_inside_it_with_the_reason(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    series = actions.create_series(
        ctx,
        world.episode,
        weekdays=[0, 1, 2, 3, 4],
        every_weeks=1,
        start_time=datetime.time(12),
        starts_on=timezone.localdate(),
    )
    first = timezone.localdate() + datetime.timedelta(days=7)
    last = first + datetime.timedelta(days=6)
    actions.add_break(ctx, world.episode, starts_on=first, ends_on=last, reason="August holiday")
    inside = series.appointments.filter(starts_at__date__range=(first, last))
    assert inside.count() == 5
    assert set(inside.values_list("attendance", "cancel_reason")) == {
        ("cancelled", "break: August holiday")
    }


def test_attendance_rules(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    future = Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    with pytest.raises(actions.CareActionError, match="once the session has begun"):
        actions.record_attendance(ctx, future, "attended")
    with pytest.raises(actions.CareActionError, match="reason"):
        actions.record_attendance(ctx, future, "cancelled")
    actions.record_attendance(ctx, future, "late_cancel", reason="ill")
    future.refresh_from_db()
    assert (future.attendance, future.cancel_reason) == ("late_cancel", "ill")


def test_calendar_feed_shows_initials_only_and_dies_when_revoked(world: World, client) -> None:
    ctx = trail.Context(user=world.therapist)
    Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(days=1)
    )
    token = actions.create_calendar_feed(ctx, world.therapist)
    response = client.get(reverse("care:calendar_feed", args=[token]))
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "Session CC" in body
    for secret in (world.client.given_name, world.client.family_name, "psychodynamic", "moderate"):
        assert secret.lower() not in body.lower()
    calendar = Calendar.from_ical(response.content)
    assert len(calendar.walk("VEVENT")) == 2  # the new session and the one 14 days ago
    actions.revoke_calendar_feed(ctx, world.therapist)
    assert client.get(reverse("care:calendar_feed", args=[token])).status_code == 404


def test_new_feed_address_replaces_the_old_one(world: World, client) -> None:
    ctx = trail.Context(user=world.therapist)
    old = actions.create_calendar_feed(ctx, world.therapist)
    new = actions.create_calendar_feed(ctx, world.therapist)
    assert client.get(reverse("care:calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("care:calendar_feed", args=[new])).status_code == 200


def _consenting_session(world: World) -> Appointment:
    world.client.consent_email_reminders = True
    world.client.save(update_fields=["consent_email_reminders"])
    return Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(hours=20)
    )


def test_reminder_goes_only_to_consenting_clients_and_names_no_therapist(
    world: World, django_capture_on_commit_callbacks
) -> None:
    Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() + datetime.timedelta(hours=3)
    )
    _consenting_session(world)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_due_reminders() == 1
    assert [m.to for m in mail.outbox] == [[world.client.email]]
    assert world.therapist.full_name not in mail.outbox[0].body
    assert actions.send_due_reminders() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_each_reminder_exactly_once() -> None:
    world = build_world()
    sessions = [_consenting_session(world)]
    for hours in (5, 9, 13):
        sessions.append(
            Appointment.objects.create(
                episode=world.episode, starts_at=timezone.now() + datetime.timedelta(hours=hours)
            )
        )
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(actions.send_due_reminders())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 4
    assert len(mail.outbox) == 4
    assert Appointment.objects.filter(reminder_sent_at__isnull=False).count() == 4
