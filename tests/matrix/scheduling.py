"""Routes of scheduling (issue 16): booking a first consultation from the directory.

As for the front door, anonymous visitors of the matrix world have no public practice (two
practices, none configured), so the booking pages answer 404; signed-in people see their own
practice's, and the stranger (another practice) finds no profile of ours.
``tests/scheduling/`` covers anonymous visitors of a configured practice.
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from matrix import CLIENTS, THERAPISTS, Route, everyone, only, signed_in
from matrix.directory import objects
from reverie.audit import trail
from reverie.care.models import Appointment
from reverie.scheduling import actions, openings, waitlist
from reverie.scheduling.forms import link_value
from reverie.scheduling.models import Booking, BookingStatus, WaitlistEntry, WaitlistOffer
from reverie.testing import World

#: Our practice's people reach our therapist's booking form; the stranger and anonymous do not.
OUR_PRACTICE = {**everyone(200), "stranger": 404, "anonymous": 404}


def book_url(w: World, with_time: bool) -> str:
    profile = objects(w)["profile"]
    url = reverse("scheduling:book", args=[profile.pk])
    if with_time:
        start = openings.consultation_times(profile, w.practice)[0]
        url += f"?at={link_value(start)}"
    return url


ROUTES = [
    Route("scheduling:book", lambda w: book_url(w, True), OUR_PRACTICE),
    # Without a time (or with an unreadable one) the page says so and offers the profile.
    Route(
        "scheduling:book",
        lambda w: book_url(w, False),
        {
            **OUR_PRACTICE,
            **dict.fromkeys(["therapist", "colleague", "admin", "client", "other_client"], 400),
        },
    ),
    Route(
        "scheduling:book",
        lambda w: book_url(w, False),
        {
            **OUR_PRACTICE,
            **dict.fromkeys(["therapist", "colleague", "admin", "client", "other_client"], 400),
        },
        method="post",
    ),
    Route("scheduling:booked", lambda w: reverse("scheduling:booked"), signed_in(200, 404)),
]


def portal(w: World) -> dict[str, object]:
    """An upcoming session of the world's client and a request to move it, once per world."""
    cached = getattr(w, "_scheduling_portal", None)
    if cached is not None:
        return cached
    session = Appointment.objects.create(
        episode=w.episode, starts_at=timezone.now() + datetime.timedelta(days=3)
    )
    other = Appointment.objects.create(
        episode=w.episode, starts_at=timezone.now() + datetime.timedelta(days=10)
    )
    move = actions.ask_to_move(
        trail.Context(user=w.client_user), w.client, other.pk, days=[1], times=[]
    )
    cached = {"session": session, "move": move}
    w._scheduling_portal = cached  # type: ignore[attr-defined]
    return cached


def session_url(name: str):  # type: ignore[no-untyped-def]
    return lambda w: reverse(name, args=[portal(w)["session"].pk])  # type: ignore[attr-defined]


#: The client's own session; the other client finds no such session; staff are not clients.
OWN_SESSION = only({"client": 200, "other_client": 404})

ROUTES += [
    Route("scheduling:my_sessions", lambda w: reverse("scheduling:my_sessions"), only(CLIENTS)),
    Route("scheduling:cancel", session_url("scheduling:cancel"), OWN_SESSION),
    # Three days ahead is outside the window: the cancellation goes through.
    Route(
        "scheduling:cancel",
        session_url("scheduling:cancel"),
        only({"client": 302, "other_client": 404}),
        method="post",
    ),
    Route("scheduling:move", session_url("scheduling:move"), OWN_SESSION),
    # Nothing chosen: the form asks for a day or a time.
    Route(
        "scheduling:move",
        session_url("scheduling:move"),
        only({"client": 400, "other_client": 404}),
        method="post",
    ),
    Route("scheduling:requests", lambda w: reverse("scheduling:requests"), only(THERAPISTS)),
    Route(
        "scheduling:answer",
        lambda w: reverse("scheduling:answer", args=[portal(w)["move"].pk]),  # type: ignore[attr-defined]
        only({"therapist": 302, "colleague": 404, "stranger": 404}),
        method="post",
    ),
    Route("scheduling:settings", lambda w: reverse("scheduling:settings"), only({"admin": 200})),
    Route(
        "scheduling:settings",
        lambda w: reverse("scheduling:settings"),
        only({"admin": 400}),
        method="post",
    ),
]


def waitlist_objects(w: World) -> dict[str, object]:
    """A waiting person with an open offer of a held time, once per world."""
    cached = getattr(w, "_scheduling_waitlist", None)
    if cached is not None:
        return cached
    profile = objects(w)["profile"]
    start = openings.consultation_times(profile, w.practice)[0]
    entry = WaitlistEntry.objects.create(
        practice=w.practice, therapist=w.therapist, name="Matrix Waiting", email="w@example.org"
    )
    booking = Booking.objects.create(
        practice=w.practice, therapist=w.therapist, starts_at=start, status=BookingStatus.HELD
    )
    offer = WaitlistOffer.objects.create(
        entry=entry,
        booking=booking,
        nonce="0" * 32,
        expires_at=timezone.now() + datetime.timedelta(hours=24),
    )
    cached = {"entry": entry, "token": waitlist.offer_token(offer)}
    w._scheduling_waitlist = cached  # type: ignore[attr-defined]
    return cached


def offer_url(w: World) -> str:
    return reverse("scheduling:offer", args=[waitlist_objects(w)["token"]])


OUR_PEOPLE = ["therapist", "colleague", "admin", "client", "other_client"]

ROUTES += [
    # The therapist has open times, so joining is refused with the reason (400); the form
    # itself shows to our practice's people.
    Route(
        "scheduling:waitlist_join",
        lambda w: reverse("scheduling:waitlist_join", args=[objects(w)["profile"].pk]),
        OUR_PRACTICE,
    ),
    Route(
        "scheduling:waitlist_join",
        lambda w: reverse("scheduling:waitlist_join", args=[objects(w)["profile"].pk]),
        {**OUR_PRACTICE, **dict.fromkeys(OUR_PEOPLE, 400)},
        method="post",
    ),
    # Whoever holds the link may answer; another practice's front door does not know it.
    Route("scheduling:offer", offer_url, OUR_PRACTICE),
    Route(
        "scheduling:offer",
        offer_url,
        {**OUR_PRACTICE, **dict.fromkeys(OUR_PEOPLE, 400)},
        method="post",
    ),
    # A forged link: the same neutral page for everyone.
    Route(
        "scheduling:offer",
        lambda w: reverse("scheduling:offer", args=["forged-token"]),
        {**everyone(404)},
    ),
    Route("scheduling:waitlist", lambda w: reverse("scheduling:waitlist"), only({"admin": 200})),
    Route(
        "scheduling:waitlist_remove",
        lambda w: reverse("scheduling:waitlist_remove", args=[waitlist_objects(w)["entry"].pk]),  # type: ignore[attr-defined]
        only({"admin": 302}),
        method="post",
    ),
]
