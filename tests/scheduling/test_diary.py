"""A booked first consultation in the therapist's diary and what becomes of it: the Today
page and the calendar feed list it (initials only in the feed), and making the person a
client turns it into their first session. Also: the client page's Messages button follows
the care relationship now (issue 16's known gaps)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Appointment, Attendance, Episode
from reverie.directory import actions as directory_actions
from reverie.scheduling import actions, openings
from reverie.scheduling.agenda import initials
from reverie.scheduling.models import Booking, BookingStatus
from reverie.testing import World


def _book(world: World, profile, name: str = "Rowan Ash") -> Booking:  # type: ignore[no-untyped-def]
    start = openings.consultation_times(profile, world.practice)[0]
    return actions.book_consultation(
        trail.Context(user=None, label="test"),
        world.practice,
        profile,
        start=start,
        name=name,
        email="rowan@example.org",
    )


def _day(booking: Booking) -> str:
    return timezone.localdate(booking.starts_at).isoformat()


def _convert(world: World, booking: Booking, therapist=None):  # type: ignore[no-untyped-def]
    assert booking.request is not None
    return directory_actions.convert_to_client(
        trail.Context(user=world.admin),
        booking.request,
        given_name="Rowan",
        family_name="Ash",
        email="rowan@example.org",
        phone="",
        therapist=therapist or world.therapist,
        modality="psychodynamic",
        sessions_per_week=Decimal("1"),
        start_date=timezone.localdate(),
        invite=True,
    )


def test_initials_keep_first_and_last_names_only() -> None:
    assert initials("Ada M.  Lovelace") == "A.L."
    assert initials("rowan") == "R."
    assert initials("") == "?"


def test_the_today_page_lists_a_booked_consultation_on_its_day_and_week(
    world: World, profile, as_user
) -> None:
    booking = _book(world, profile)
    therapist = as_user("therapist")
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    page = therapist.get(reverse("care:today"), {"day": _day(booking)}).content.decode()
    assert "First consultations" in page and "First consultation with Rowan Ash" in page
    # The read of the consultation request's name is audited with its id.
    [entry] = AuditEntry.objects.filter(
        pk__gt=before, object_type="directory.consultationrequest"
    ).values_list("detail", flat=True)
    assert entry["ids"] == [booking.request_id] and entry["view"] == "today"
    week = therapist.get(reverse("care:today"), {"day": _day(booking), "view": "week"})
    assert "Rowan Ash" in week.content.decode()
    assert "No sessions this week" not in week.content.decode()
    # A colleague's diary does not show it.
    other = as_user("colleague").get(reverse("care:today"), {"day": _day(booking)})
    assert "Rowan Ash" not in other.content.decode()


def test_a_released_or_held_time_is_not_on_the_today_page(world: World, profile, as_user) -> None:
    booking = _book(world, profile)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.RELEASED)
    page = as_user("therapist").get(reverse("care:today"), {"day": _day(booking)})
    assert "Rowan Ash" not in page.content.decode()
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.HELD)
    page = as_user("therapist").get(reverse("care:today"), {"day": _day(booking)})
    assert "First consultations" not in page.content.decode()


def test_the_calendar_feed_carries_the_consultation_with_initials_only(
    world: World, profile, client
) -> None:
    booking = _book(world, profile, name="Rowan Q. Ash")
    raw = care_actions.create_calendar_feed(trail.Context(user=world.therapist), world.therapist)
    response = client.get(reverse("care:calendar_feed", args=[raw]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rowan" not in body and "Ash" not in body
    events = {str(e["uid"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}
    event = events[f"consultation-{booking.pk}@reverie"]
    assert str(event["summary"]) == "First consultation R.A."
    assert event.decoded("dtstart") == booking.starts_at
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=50)
    assert AuditEntry.objects.filter(
        object_type="directory.consultationrequest", detail__view="ics"
    ).exists()
    # The colleague's feed does not have it.
    other = care_actions.create_calendar_feed(trail.Context(user=world.colleague), world.colleague)
    assert b"consultation-" not in client.get(reverse("care:calendar_feed", args=[other])).content


def test_making_the_person_a_client_turns_the_booking_into_their_first_session(
    world: World, profile, as_user
) -> None:
    booking = _book(world, profile)
    done = _convert(world, booking)
    booking.refresh_from_db()
    session = Appointment.objects.get(episode=done.episode)
    assert (session.starts_at, session.duration_minutes, session.attendance) == (
        booking.starts_at,
        50,
        Attendance.SCHEDULED,
    )
    assert (booking.status, booking.appointment) == (BookingStatus.SESSION, session)
    assert AuditEntry.objects.filter(
        action="create", object_type="care.appointment", object_id=str(session.pk)
    ).exists()
    # The diary shows it once, as the client's session, and the time stays busy for the
    # directory (as a session now, not a booking).
    page = as_user("therapist").get(reverse("care:today"), {"day": _day(booking)}).content.decode()
    assert "First consultations" not in page and "Rowan Ash" in page
    assert booking.starts_at not in openings.consultation_times(profile, world.practice)


def test_a_client_given_to_another_therapist_keeps_the_booked_consultation(
    world: World, profile
) -> None:
    booking = _book(world, profile)
    done = _convert(world, booking, therapist=world.colleague)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED and booking.appointment is None
    assert not Appointment.objects.filter(episode=done.episode).exists()


def test_a_refused_conversion_leaves_the_booking_as_it_was(world: World, profile) -> None:
    booking = _book(world, profile)
    assert booking.request is not None
    try:
        directory_actions.convert_to_client(
            trail.Context(user=world.admin),
            booking.request,
            given_name="Rowan",
            family_name="Ash",
            email=world.client_user.email,  # already has an account: refused
            phone="",
            therapist=world.therapist,
            modality="psychodynamic",
            sessions_per_week=Decimal("1"),
            start_date=timezone.localdate(),
            invite=True,
        )
    except directory_actions.DirectoryActionError:
        pass
    else:
        raise AssertionError("the conversion should have been refused")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED and booking.appointment is None
    assert not Appointment.objects.filter(starts_at=booking.starts_at).exists()


def test_the_messages_button_follows_the_care_relationship(world: World, as_user) -> None:
    from reverie.messaging.models import PracticeMessaging

    PracticeMessaging.objects.create(practice=world.practice, enabled=True)
    url = reverse("care:client", args=[world.client.pk])
    thread = reverse("messaging:thread", args=[world.client.pk])
    therapist = as_user("therapist")
    assert f'href="{thread}"' in therapist.get(url).content.decode()
    # Treatment ends: the former therapist still reads the record but has no thread.
    Episode.objects.filter(client=world.client).update(status="ended")
    page = therapist.get(url)
    assert page.status_code == 200 and f'href="{thread}"' not in page.content.decode()
    assert therapist.get(thread).status_code == 404
