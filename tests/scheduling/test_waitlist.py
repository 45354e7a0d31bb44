"""The waitlist: joining, offers of freed and new times, accepting, declining, expiry, and
links that no longer count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Appointment, Attendance
from reverie.directory.models import ConsultationRequest, RequestStatus
from reverie.outbox.models import Message
from reverie.scheduling import actions, openings, slots, waitlist
from reverie.scheduling.forms import link_value
from reverie.scheduling.models import (
    Booking,
    BookingStatus,
    OfferStatus,
    SchedulingSettings,
    WaitlistEntry,
    WaitlistOffer,
    WaitStatus,
)
from reverie.testing import World

from .conftest import make_profile

PUBLIC = trail.Context(user=None, label="public:waitlist")


def join_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Wren Hale",
        "email": "wren@example.org",
        "phone": "",
        "times": ["evening"],
        "website": "",
    }
    data.update(overrides)
    return data


def fill_all(profile, world: World) -> list[Booking]:  # type: ignore[no-untyped-def]
    """Book every consultation time of the therapist, so that nothing is open."""
    return [
        Booking.objects.create(practice=world.practice, therapist=profile.user, starts_at=t)
        for t in openings.consultation_times(profile, world.practice)
    ]


def waiting(profile, name: str, email: str, times: list[str]) -> WaitlistEntry:  # type: ignore[no-untyped-def]
    """Someone already waiting (joined while nothing suited them; joining is tested above)."""
    n = WaitlistEntry.objects.count()
    return WaitlistEntry.objects.create(
        practice=profile.user.practice,
        therapist=profile.user,
        name=name,
        email=email,
        times=times,
        created_at=timezone.now() - dt.timedelta(days=10 - n),
    )


def token_from_mail(to: str) -> str:
    body = next(m.body for m in reversed(mail.outbox) if m.to == [to])
    found = re.search(r"/waitlist/offer/([^/\s]+)/", body)
    assert found, body
    return found.group(1)


def offer_link(offer: WaitlistOffer) -> str:
    return reverse("scheduling:offer", args=[waitlist.offer_token(offer)])


def test_a_full_therapist_offers_the_waitlist_and_joining_confirms_by_email(
    public: World, profile, client, django_capture_on_commit_callbacks
) -> None:
    fill_all(profile, public)
    page = client.get(reverse("directory:therapist", args=[profile.pk])).content.decode()
    assert "No time for a first consultation is free" in page
    assert reverse("scheduling:waitlist_join", args=[profile.pk]) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scheduling:waitlist_join", args=[profile.pk]), join_data())
    assert response.status_code == 200
    assert "You are on the waitlist" in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert (entry.therapist, entry.times, entry.status) == (
        public.therapist,
        ["evening"],
        "waiting",
    )
    assert [m.to for m in mail.outbox] == [["wren@example.org"]]
    assert AuditEntry.objects.filter(
        object_type="scheduling.waitlistentry", actor_label="public:waitlist"
    ).exists()


def test_joining_while_a_suitable_time_is_open_or_twice_is_refused(
    public: World, profile, client
) -> None:
    url = reverse("scheduling:waitlist_join", args=[profile.pk])
    open_now = client.post(url, join_data())
    assert open_now.status_code == 400
    assert "is open now" in open_now.content.decode()
    assert not WaitlistEntry.objects.exists()
    fill_all(profile, public)
    assert client.post(url, join_data()).status_code == 200
    again = client.post(url, join_data(email="WREN@example.org"))
    assert again.status_code == 400 and "already on" in again.content.decode()
    assert WaitlistEntry.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [join_data(email="nope"), join_data(name=""), join_data(times=["noon"]), {}],
)
def test_bad_waitlist_input_is_refused_and_stores_nothing(
    public: World, profile, client, data
) -> None:
    fill_all(profile, public)
    response = client.post(reverse("scheduling:waitlist_join", args=[profile.pk]), data)
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_a_cancelled_session_is_offered_to_the_first_person_waiting_for_that_time(
    world: World, profile, django_capture_on_commit_callbacks
) -> None:
    bookings = fill_all(profile, world)
    # The client's regular session takes one evening start; free it up from the bookings.
    evening = next(b for b in bookings if slots.part_of_day(b.starts_at, "UTC") == "evening")
    evening.delete()
    session = Appointment.objects.create(episode=world.episode, starts_at=evening.starts_at)
    first = waiting(profile, "First", "a@example.org", ["evening"])
    morning = waiting(profile, "Morning", "m@example.org", ["morning"])
    waiting(profile, "Second", "b@example.org", [])
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel_session(
            trail.Context(user=world.client_user), world.client, session.pk, accept_late=True
        )
    session.refresh_from_db()
    assert session.attendance in (Attendance.CANCELLED, Attendance.LATE_CANCEL)
    offer = WaitlistOffer.objects.get()
    assert offer.entry == first and offer.status == OfferStatus.OPEN
    assert (
        offer.booking.starts_at == session.starts_at and offer.booking.status == BookingStatus.HELD
    )
    assert offer.expires_at == offer.created_at + dt.timedelta(hours=24)
    first.refresh_from_db()
    morning.refresh_from_db()
    assert (first.status, morning.status) == (WaitStatus.OFFERED, WaitStatus.WAITING)
    # The held time cannot be booked from the directory meanwhile.
    assert session.starts_at not in openings.consultation_times(profile, world.practice)
    assert token_from_mail("a@example.org")


def test_accepting_books_the_held_time_and_files_the_request(
    public: World, profile, client, django_capture_on_commit_callbacks
) -> None:
    bookings = fill_all(profile, public)
    freed = bookings[3]
    freed.delete()
    entry = waiting(profile, "Wren Hale", "wren@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    url = offer_link(offer)
    page = client.get(url)
    assert page.status_code == 200 and "Book this time" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"choice": "accept"})
    assert done.status_code == 200 and "is booked" in done.content.decode()
    booking = Booking.objects.get(pk=offer.booking_id)
    assert booking.status == BookingStatus.BOOKED and booking.starts_at == freed.starts_at
    request = ConsultationRequest.objects.get()
    assert booking.request == request and request.status == RequestStatus.BOOKED
    assert (request.name, request.email) == ("Wren Hale", "wren@example.org")
    entry.refresh_from_db()
    assert entry.status == WaitStatus.BOOKED
    confirmation = next(m for m in mail.outbox if m.to == ["wren@example.org"] and m.attachments)
    assert confirmation.attachments[0][0] == "consultation.ics"
    # The link is used: it changes nothing any more, and says so neutrally.
    for again in (
        client.get(url),
        client.post(url, {"choice": "accept"}),
        client.post(url, {"choice": "decline"}),
    ):
        assert again.status_code == 404
        assert "cannot be used any more" in again.content.decode()
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == len(bookings)
    assert ConsultationRequest.objects.count() == 1


def test_declining_passes_the_time_to_the_next_person_then_releases_it(
    public: World, profile, client
) -> None:
    bookings = fill_all(profile, public)
    freed = bookings[0]
    freed.delete()
    first = waiting(profile, "A", "a@example.org", [])
    second = waiting(profile, "B", "b@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    assert offer.entry == first
    assert client.post(offer_link(offer), {"choice": "decline"}).status_code == 200
    offer.refresh_from_db()
    first.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED and first.status == WaitStatus.WAITING
    nxt = WaitlistOffer.objects.get(status=OfferStatus.OPEN)
    assert nxt.entry == second and nxt.booking_id == offer.booking_id
    assert client.post(offer_link(nxt), {"choice": "decline"}).status_code == 200
    # Nobody else waits for it: the time is released and open to everyone again.
    held = Booking.objects.get(pk=offer.booking_id)
    assert held.status == BookingStatus.RELEASED
    assert freed.starts_at in openings.consultation_times(profile, public.practice)


def test_expired_offers_pass_on_by_the_job_and_the_link_stops_working(
    public: World, profile, client
) -> None:
    SchedulingSettings.objects.create(practice=public.practice, offer_hours=2)
    bookings = fill_all(profile, public)
    bookings[0].delete()
    first = waiting(profile, "A", "a@example.org", [])
    second = waiting(profile, "B", "b@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    assert offer.expires_at == offer.created_at + dt.timedelta(hours=2)
    later = timezone.now() + dt.timedelta(hours=3)
    assert waitlist.expire_offers(now=later) == 1
    assert waitlist.expire_offers(now=later) == 0
    offer.refresh_from_db()
    first.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED and first.status == WaitStatus.LAPSED
    assert WaitlistOffer.objects.get(status=OfferStatus.OPEN).entry == second
    expired = client.post(offer_link(offer), {"choice": "accept"})
    assert expired.status_code == 404
    assert "cannot be used any more" in expired.content.decode()
    assert not ConsultationRequest.objects.exists()
    assert Booking.objects.get(pk=offer.booking_id).status == BookingStatus.HELD


def test_an_offer_past_its_time_is_refused_even_before_the_job_runs(
    public: World, profile, client
) -> None:
    fill_all(profile, public)[0].delete()
    waiting(profile, "A", "a@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    WaitlistOffer.objects.filter(pk=offer.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    response = client.post(offer_link(offer), {"choice": "accept"})
    assert response.status_code == 404
    assert "cannot be used any more" in response.content.decode()
    assert not ConsultationRequest.objects.exists()
    assert Booking.objects.get(pk=offer.booking_id).status == BookingStatus.HELD


@pytest.mark.parametrize("kind", ["garbage", "guessed-nonce", "other-salt", "other-offer"])
def test_a_forged_offer_link_gets_the_neutral_page_and_changes_nothing(
    public: World, profile, client, kind: str
) -> None:
    fill_all(profile, public)[0].delete()
    waiting(profile, "A", "a@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    token = {
        "garbage": "nonsense",
        "guessed-nonce": signing.dumps(
            {"o": offer.pk, "n": "0" * 32}, salt="reverie.scheduling.offer"
        ),
        "other-salt": signing.dumps({"o": offer.pk, "n": offer.nonce}, salt="another.salt"),
        "other-offer": signing.dumps(
            {"o": offer.pk + 1, "n": offer.nonce}, salt="reverie.scheduling.offer"
        ),
    }[kind]
    url = reverse("scheduling:offer", args=[token])
    for response in (client.get(url), client.post(url, {"choice": "accept"})):
        assert response.status_code == 404
        assert "cannot be used any more" in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN and not ConsultationRequest.objects.exists()


def test_an_offer_without_a_choice_asks_for_one(public: World, profile, client) -> None:
    fill_all(profile, public)[0].delete()
    waiting(profile, "A", "a@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    assert client.post(offer_link(offer), {"choice": "maybe"}).status_code == 400
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN


def test_a_new_opening_is_offered_by_the_job_only_to_people_it_suits(world: World, profile) -> None:
    fill_all(profile, world)
    evening = waiting(profile, "E", "e@example.org", ["evening"])
    # The therapist adds a morning hour: it does not suit the evening person.
    profile.weekly_slots = [*profile.weekly_slots, *([d, 10] for d in range(7))]
    profile.save()
    assert waitlist.offer_everywhere() == 0
    evening.refresh_from_db()
    assert evening.status == WaitStatus.WAITING
    profile.weekly_slots = [*profile.weekly_slots, *([d, 20] for d in range(7))]
    profile.save()
    assert waitlist.offer_everywhere() == 1
    offer = WaitlistOffer.objects.get()
    assert offer.booking.starts_at.hour == 20


def test_accepting_a_held_time_twice_at_once_books_it_once(public: World, profile) -> None:
    fill_all(profile, public)[0].delete()
    waiting(profile, "A", "a@example.org", [])
    (offer,) = waitlist.offer_open_times(public.practice)
    token = waitlist.offer_token(offer)
    waitlist.accept(PUBLIC, token)
    with pytest.raises(waitlist.OfferUnavailable):
        waitlist.accept(PUBLIC, token)
    assert ConsultationRequest.objects.count() == 1


def test_the_admin_sees_and_removes_entries_and_an_open_offer_passes_on(
    world: World, profile, as_user
) -> None:
    fill_all(profile, world)[0].delete()
    first = waiting(profile, "Ann Able", "a@example.org", [])
    second = waiting(profile, "Ben Best", "b@example.org", [])
    (offer,) = waitlist.offer_open_times(world.practice)
    admin = as_user("admin")
    page = admin.get(reverse("scheduling:waitlist")).content.decode()
    assert "Ann Able" in page and "Ben Best" in page
    admin.post(reverse("scheduling:waitlist_remove", args=[first.pk]))
    first.refresh_from_db()
    offer.refresh_from_db()
    assert first.status == WaitStatus.REMOVED and offer.status == OfferStatus.WITHDRAWN
    assert WaitlistOffer.objects.get(status=OfferStatus.OPEN).entry == second
    again = admin.post(reverse("scheduling:waitlist_remove", args=[first.pk]), follow=True)
    assert "no longer waiting" in again.content.decode()
    assert not Message.objects.filter(status="failed").exists()


def test_the_held_time_is_not_bookable_from_the_directory(public: World, profile, client) -> None:
    bookings = fill_all(profile, public)
    start = bookings[0].starts_at
    bookings[0].delete()
    waiting(profile, "A", "a@example.org", [])
    waitlist.offer_open_times(public.practice)
    page = client.post(
        reverse("scheduling:book", args=[profile.pk]),
        {"start": link_value(start), "name": "Z", "email": "z@example.org", "website": ""},
    )
    assert page.status_code == 409
    assert "just taken" in page.content.decode()


def test_fixture_colleague_profile_has_no_times(world: World) -> None:
    colleague = make_profile(world.colleague, weekly_slots=[])
    assert openings.consultation_times(colleague, world.practice) == []
