"""Routes of scheduling (issue 16): booking a first consultation from the directory.

As for the front door, anonymous visitors of the matrix world have no public practice (two
practices, none configured), so the booking pages answer 404; signed-in people see their own
practice's, and the stranger (another practice) finds no profile of ours.
``tests/scheduling/`` covers anonymous visitors of a configured practice.
"""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, everyone, signed_in
from matrix.directory import objects
from reverie.scheduling import openings
from reverie.scheduling.forms import link_value
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
