"""Every route at the calendar's edges: a leap day, the turn of a year, the end of a month.

Dates are where code that works on most days fails on a few: a year added by replacing it
has no 29 February to land on, "this year" holds nothing on 1 January, "next month" from
31 January is not a date. Running the whole suite under a moved clock (libfaketime, at
2028-02-29 23:20 and 2027-01-01 00:10 UTC) found a good-faith estimate asked for on a leap
day answering 500, and a CCRT test that failed when run in early December; both are fixed.
This keeps the cheap part of that sweep in every run: each route of the access matrix
(``tests/matrix``), opened once by a person the matrix lets in, with the clock moved by
``time-machine`` to each edge, the test world built there too. No answer may be a server
error.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.test import Client as HttpClient

from matrix import Route, all_routes
from reverie.testing import World, bearer, build_world, sign_in

ROUTES = all_routes()

#: Late on a leap day, just after the year turns, late on the 31st of a month.
EDGES = (
    dt.datetime(2028, 2, 29, 23, 20, tzinfo=dt.UTC),
    dt.datetime(2027, 1, 1, 0, 10, tzinfo=dt.UTC),
    dt.datetime(2027, 3, 31, 23, 50, tzinfo=dt.UTC),
)


def _persona(route: Route) -> str:
    """Someone the route serves (the matrix expects 200 or a redirect past the form), so the
    request reaches the code behind it; the therapist otherwise."""
    for persona in ("therapist", "admin", "client", "anonymous"):
        if route.expect[persona] in (200, 201, 302):
            return persona
    return "therapist"


def _open(route: Route, persona: str, world: World) -> int:
    user = world.user(persona)
    headers = bearer(user) if route.api and user is not None else {}
    http = HttpClient()
    if not route.api and user is not None:
        sign_in(http, user)
    response = getattr(http, route.method)(route.url(world), route.data, **headers)
    return response.status_code


@pytest.mark.parametrize("moment", EDGES, ids=[m.strftime("%Y-%m-%dT%H:%M") for m in EDGES])
def test_every_route_answers_without_a_server_error_at_a_calendar_edge(
    moment: dt.datetime, db: None
) -> None:
    with time_machine.travel(moment, tick=True):
        world = build_world()
        errors = []
        for route in ROUTES:
            persona = _persona(route)
            # Each route in the world as built, as the matrix runs it: what one route
            # creates or deletes is rolled back before the next.
            with transaction.atomic():
                status = _open(route, persona, world)
                transaction.set_rollback(True)
            if status >= 500:
                errors.append(f"{route.method.upper()} {route.name} as {persona}: {status}")
    assert not errors, f"server errors at {moment.isoformat()}:\n" + "\n".join(errors)
