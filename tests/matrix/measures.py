"""Routes of measurement: the portal, one-time links, the therapist's pages, instruments and
the measurement JSON API."""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from matrix import CLIENTS, THERAPISTS, Route, everyone, only
from reverie.accounts.models import hash_token
from reverie.audit import trail
from reverie.measures import scheduling
from reverie.measures.models import Administration, Instrument, RequestLink
from reverie.testing import World

LINK_TOKEN = "matrix-link-token-not-secret"


def objects(w: World) -> dict[str, Any]:
    """An open request of the therapist's client with a one-time link, made once per world."""
    cached = getattr(w, "_measure_objects", None)
    if cached is not None:
        return cached
    request = scheduling.create_manual_request(
        trail.system("matrix"),
        episode=w.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=timezone.now() - datetime.timedelta(minutes=1),
    )
    RequestLink.objects.create(request=request, digest=hash_token(LINK_TOKEN))
    administration = Administration.objects.filter(client=w.client).first()
    cached = {"request": request, "administration": administration}
    w._measure_objects = cached  # type: ignore[attr-defined]
    return cached


def _request(w: World) -> int:
    return objects(w)["request"].pk


def _administration(w: World) -> int:
    return objects(w)["administration"].pk


def own(status: int, *, admin: int = 403) -> dict[str, int]:
    """Only the treating therapist; colleagues and strangers learn nothing (404)."""
    return only({"therapist": status, "colleague": 404, "stranger": 404, "admin": admin})


def own_client(status: int, *, therapist: int = 403, anonymous: int = 302) -> dict[str, int]:
    """Only the client whose questionnaire it is; another client gets 404."""
    return only(
        {"client": status, "other_client": 404, "therapist": therapist},
        anonymous=anonymous,
    )


def api(expect: dict[str, int]) -> dict[str, int]:
    return {**expect, "anonymous": 401}


ROUTES = [
    Route("measures:portal", lambda w: reverse("measures:portal"), only(CLIENTS)),
    Route(
        "measures:answer",
        lambda w: reverse("measures:answer", args=[_request(w)]),
        own_client(200),
    ),
    Route(
        "measures:save",
        lambda w: reverse("measures:save", args=[_request(w)]),
        own_client(200),
        method="post",
    ),
    # Nothing submitted yet: the client is sent back to the questions.
    Route("measures:done", lambda w: reverse("measures:done", args=[_request(w)]), own_client(302)),
    # The token is the credential: whoever holds the link may answer, signed in or not.
    Route(
        "measures:link",
        lambda w: objects(w) and reverse("measures:link", args=[LINK_TOKEN]),
        everyone(200),
    ),
    Route(
        "measures:link_save",
        lambda w: objects(w) and reverse("measures:link_save", args=[LINK_TOKEN]),
        everyone(200),
        method="post",
    ),
    Route("measures:client", lambda w: reverse("measures:client", args=[w.client.pk]), own(200)),
    Route("measures:paper", lambda w: reverse("measures:paper", args=[w.client.pk]), own(200)),
    # An empty form is refused with a message on the client's page.
    Route(
        "measures:ask",
        lambda w: reverse("measures:ask", args=[w.client.pk]),
        own(302),
        method="post",
    ),
    Route(
        "measures:schedule", lambda w: reverse("measures:schedule", args=[w.episode.pk]), own(200)
    ),
    Route(
        "measures:send_link",
        lambda w: reverse("measures:send_link", args=[_request(w)]),
        own(302),
        method="post",
    ),
    Route(
        "measures:cancel",
        lambda w: reverse("measures:cancel", args=[_request(w)]),
        own(302),
        method="post",
    ),
    Route(
        "measures:administration",
        lambda w: reverse("measures:administration", args=[_administration(w)]),
        own(200),
    ),
    Route(
        "measures:instruments",
        lambda w: reverse("measures:instruments"),
        only({**THERAPISTS, "admin": 200}),
    ),
    Route(
        "measures:instrument",
        lambda w: reverse("measures:instrument", args=["phq-9"]),
        only({**THERAPISTS, "admin": 200}),
    ),
    Route("measures:import", lambda w: reverse("measures:import"), only({"admin": 200})),
    # --- JSON API -------------------------------------------------------------------------
    Route("api:openapi", lambda w: reverse("api:openapi"), everyone(200), api=True),
    Route(
        "api:instruments",
        lambda w: reverse("api:instruments"),
        api(everyone(200)),
        api=True,
    ),
    Route(
        "api:instrument",
        lambda w: reverse("api:instrument", args=["phq-9"]),
        api(everyone(200)),
        api=True,
    ),
    Route(
        "api:measure_requests",
        lambda w: reverse("api:measure_requests"),
        api(only(CLIENTS)),
        api=True,
    ),
    Route(
        "api:measure_request",
        lambda w: reverse("api:measure_request", args=[_request(w)]),
        api({**own(200), "client": 200, "other_client": 404}),
        api=True,
    ),
    # A form-encoded body is refused (415): the API takes JSON.
    Route(
        "api:measure_draft",
        lambda w: reverse("api:measure_draft", args=[_request(w)]),
        api(own_client(415)),
        method="post",
        api=True,
    ),
    Route(
        "api:measure_submit",
        lambda w: reverse("api:measure_submit", args=[_request(w)]),
        api(own_client(415)),
        method="post",
        api=True,
    ),
    Route(
        "api:client_administrations",
        lambda w: reverse("api:client_administrations", args=[w.client.pk]),
        api({**own(200), "client": 200, "other_client": 404}),
        api=True,
    ),
    Route(
        "api:administration",
        lambda w: reverse("api:administration", args=[_administration(w)]),
        api({**own(200), "client": 200, "other_client": 404}),
        api=True,
    ),
    Route(
        "api:episode_schedule",
        lambda w: reverse("api:episode_schedule", args=[w.episode.pk]),
        api(own(200)),
        api=True,
    ),
]
