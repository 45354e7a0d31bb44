"""Booking a first consultation from the directory: what is stored, sent and refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape
from icalendar import Calendar

from reverie.audit.models import AuditEntry
from reverie.directory.models import ConsultationAttempt, ConsultationRequest, RequestStatus
from reverie.directory.profiles import directory_entries
from reverie.lib import dates
from reverie.outbox.models import Message
from reverie.scheduling import openings
from reverie.scheduling.forms import link_value
from reverie.scheduling.models import Booking, BookingStatus
from reverie.testing import World


def _clock(when) -> str:
    """The time as pages and emails write it, in the practice's locale."""
    return dateformat.format(when, dates.pattern("time"))


def first_time(profile, world: World) -> dt.datetime:  # type: ignore[no-untyped-def]
    times = openings.consultation_times(profile, world.practice)
    assert times, "the fixture's therapist offers times every day"
    return times[0]


def book_url(profile) -> str:  # type: ignore[no-untyped-def]
    return reverse("scheduling:book", args=[profile.pk])


def form_data(when: dt.datetime, **overrides: str) -> dict[str, str]:
    data = {
        "start": link_value(when),
        "name": "Rowan  Ash",
        "email": "Rowan@Example.org",
        "phone": "555 0100",
        "message": "I would like to talk about work.",
        "website": "",
    }
    data.update(overrides)
    return data


def nothing_stored() -> bool:
    return not Booking.objects.exists() and not ConsultationRequest.objects.exists()


def test_the_profile_lists_consultation_times_linking_to_the_form(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    text = client.get(reverse("directory:therapist", args=[profile.pk])).content.decode()
    assert "Book a first consultation" in text
    assert f"{book_url(profile)}?at={link_value(start)}" in text
    page = client.get(book_url(profile), {"at": link_value(start)})
    assert page.status_code == 200
    local = timezone.localtime(start, public.practice.zone)
    assert f"at {_clock(local)}" in page.content.decode()


def test_booking_holds_the_time_and_files_a_request_in_the_intake_queue(
    public: World, profile, client, django_capture_on_commit_callbacks
) -> None:
    start = first_time(profile, public)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(book_url(profile), form_data(start))
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:booked")
    booking = Booking.objects.get()
    assert (booking.therapist, booking.starts_at, booking.status) == (
        public.therapist,
        start,
        BookingStatus.BOOKED,
    )
    request = booking.request
    assert request is not None
    assert (request.name, request.email, request.phone) == (
        "Rowan Ash",
        "rowan@example.org",
        "555 0100",
    )
    assert request.status == RequestStatus.BOOKED
    assert request.assigned_therapist == public.therapist
    assert list(request.preferred_therapists.all()) == [public.therapist]
    # The time is no longer offered, to anyone.
    assert start not in openings.consultation_times(profile, public.practice)
    # Audited as the public, with identifiers only.
    entries = AuditEntry.objects.filter(actor_label="public:consultation booking")
    assert {e.object_type for e in entries} == {
        "directory.consultationrequest",
        "scheduling.booking",
    }
    assert "Rowan" not in str([e.detail for e in entries])
    # The admins see it in the intake queue, with the time.
    admin = client.__class__()
    from reverie.testing import sign_in

    sign_in(admin, public.admin)
    page = admin.get(reverse("directory:intake_request", args=[request.pk])).content.decode()
    local = timezone.localtime(start, public.practice.zone)
    assert _clock(local) in page and "Booked consultation" in page
    # Mail: the person's confirmation (with the calendar file), the therapist, the admins.
    to = {m.to[0]: m for m in mail.outbox}
    assert set(to) == {"rowan@example.org", public.therapist.email, public.admin.email}
    confirmation = to["rowan@example.org"]
    assert _clock(local) in confirmation.body
    assert "work" not in to[public.therapist.email].body  # no content in the therapist's notice
    ((name, content, mimetype),) = confirmation.attachments
    assert (name, mimetype) == ("consultation.ics", "text/calendar")
    cal = Calendar.from_ical(content)
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == start
    assert event.decoded("dtend") == start + dt.timedelta(minutes=50)
    assert str(event["uid"]) == f"consultation-{booking.pk}@reverie"
    assert str(cal["method"]) == "PUBLISH"
    assert "Theo Therapist" in str(event["summary"])
    assert not Message.objects.filter(status="failed").exists()


def test_the_booked_time_counts_as_busy_in_the_directory(public: World, profile) -> None:
    start = first_time(profile, public)
    zone = public.practice.zone
    local = timezone.localtime(start, zone)
    slot = (local.weekday(), local.hour)
    (before,) = directory_entries(public.practice, pk=profile.pk)
    assert slot in before.openings.slots
    Booking.objects.create(practice=public.practice, therapist=public.therapist, starts_at=start)
    (after,) = directory_entries(public.practice, pk=profile.pk)
    assert slot not in after.openings.slots


def test_a_forged_time_is_refused_and_changes_nothing(public: World, profile, client) -> None:
    start = first_time(profile, public)
    forged = start + dt.timedelta(hours=3)  # 12:00 or 21:00: never offered
    for page in (
        client.get(book_url(profile), {"at": link_value(forged)}),
        client.post(book_url(profile), form_data(forged)),
    ):
        assert page.status_code == 400
        assert escape("not one of Theo Therapist's open times") in page.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize("at", ["", "yesterday", "2026-13-45T99:00Z", "2026-03-03T18:00", "x" * 80])
def test_an_unreadable_time_is_refused(public: World, profile, client, at: str) -> None:
    page = client.post(book_url(profile), form_data(timezone.now(), start=at))
    assert page.status_code == 400
    assert "could not be read" in page.content.decode()
    assert client.get(book_url(profile), {"at": at}).status_code == 400
    assert nothing_stored()


def test_a_time_in_the_past_or_too_soon_is_refused(public: World, profile, client) -> None:
    start = first_time(profile, public)
    past = start - dt.timedelta(weeks=1)
    while past > timezone.now():
        past -= dt.timedelta(weeks=1)
    page = client.post(book_url(profile), form_data(past))
    assert page.status_code == 400
    assert "already passed" in page.content.decode()
    soon = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    page = client.post(book_url(profile), form_data(soon))
    assert page.status_code == 400
    assert "too soon" in page.content.decode()
    assert nothing_stored()


def test_a_double_submission_books_once_and_says_so(public: World, profile, client) -> None:
    start = first_time(profile, public)
    assert client.post(book_url(profile), form_data(start)).status_code == 302
    again = client.post(book_url(profile), form_data(start), follow=True)
    assert again.status_code == 200
    assert "already booked this time" in again.content.decode()
    assert Booking.objects.count() == 1 and ConsultationRequest.objects.count() == 1


def test_someone_else_taking_the_time_first_is_told_it_was_just_taken(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    assert client.post(book_url(profile), form_data(start)).status_code == 302
    other = client.post(book_url(profile), form_data(start, email="sam@example.org"))
    assert other.status_code == 409
    assert "just taken" in other.content.decode()
    assert client.get(book_url(profile), {"at": link_value(start)}).status_code == 409
    assert Booking.objects.count() == 1 and ConsultationRequest.objects.count() == 1


def test_missing_details_are_asked_for_and_nothing_is_stored(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    page = client.post(book_url(profile), form_data(start, email="not an address", name=""))
    assert page.status_code == 400
    assert "Please look at the fields marked below" in page.content.decode()
    assert nothing_stored()


def test_a_therapist_not_taking_new_clients_cannot_be_booked(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    profile.accepting_new = False
    profile.save()
    page = client.post(book_url(profile), form_data(start))
    assert page.status_code == 400
    assert "not taking bookings" in page.content.decode()
    assert nothing_stored()


def test_an_unpublished_or_other_practice_profile_is_not_found(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    profile.published = False
    profile.save()
    assert client.post(book_url(profile), form_data(start)).status_code == 404
    assert client.get(book_url(profile), {"at": link_value(start)}).status_code == 404
    assert nothing_stored()


def test_the_honeypot_stores_nothing_and_the_form_is_rate_limited(
    public: World, profile, client
) -> None:
    start = first_time(profile, public)
    trap = client.post(book_url(profile), form_data(start, website="http://spam.example"))
    assert trap.status_code == 302 and nothing_stored()
    for _ in range(5):
        ConsultationAttempt.objects.create(ip_digest=ConsultationAttempt.objects.first().ip_digest)
    limited = client.post(book_url(profile), form_data(start))
    assert limited.status_code == 429
    assert nothing_stored()


def test_the_database_allows_one_live_booking_per_therapist_and_start(
    public: World, profile
) -> None:
    start = first_time(profile, public)
    fields = {"practice": public.practice, "therapist": public.therapist, "starts_at": start}
    first = Booking.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(**fields, status=BookingStatus.HELD)
    first.status = BookingStatus.RELEASED
    first.save()
    Booking.objects.create(**fields)  # a released booking no longer holds the time
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 1
