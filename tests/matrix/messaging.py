"""Routes of secure messages (issue 16).

A client reads and writes only their own thread (the other client, treated by the
colleague, has their own). A therapist reads and writes the threads of the clients in
their care now: the colleague and the stranger find nothing for ``world.client`` (404).
The practice admin reads no messages (403 on every thread page) and only turns messaging
on or off for the practice. Messaging is turned on for the world's practice here (it is
off in a new practice), and the client has written once.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from matrix import CLIENTS, THERAPISTS, Route, only
from reverie.audit import trail
from reverie.messaging import actions
from reverie.testing import World


def objects(w: World) -> dict[str, Any]:
    cached = getattr(w, "_messaging_objects", None)
    if cached is not None:
        return cached
    actions.set_practice_messaging(trail.Context(user=w.admin), w.practice, enabled=True)
    message = actions.send(trail.Context(user=w.client_user), w.client, "Can we move Thursday?")
    cached = {"message": message}
    w._messaging_objects = cached  # type: ignore[attr-defined]
    return cached


def _mine(w: World) -> str:
    objects(w)
    return reverse("messaging:mine")


def _thread(w: World) -> str:
    objects(w)
    return reverse("messaging:thread", args=[w.client.pk])


def _switch(w: World) -> str:
    objects(w)
    return reverse("messaging:switch", args=[w.client.pk])


def _settings(w: World) -> str:
    objects(w)
    return reverse("messaging:settings")


def _inbox(w: World) -> str:
    objects(w)
    return reverse("messaging:inbox")


def treating(status: int) -> dict[str, int]:
    """The therapist treating ``world.client``; the colleague and stranger learn nothing."""
    return only({"therapist": status, "colleague": 404, "stranger": 404})


ROUTES = [
    Route("messaging:mine", _mine, only(CLIENTS)),
    Route(
        "messaging:mine",
        _mine,
        only({"client": 302, "other_client": 302}),
        method="post",
        data={"body": "A short question about next week."},
    ),
    Route("messaging:inbox", _inbox, only(THERAPISTS)),
    Route("messaging:thread", _thread, treating(200)),
    Route(
        "messaging:thread",
        _thread,
        treating(302),
        method="post",
        data={"body": "Yes, Thursday at 3 works."},
    ),
    Route("messaging:switch", _switch, treating(302), method="post", data={"enabled": "off"}),
    Route("messaging:settings", _settings, only({"admin": 200})),
    Route(
        "messaging:settings",
        _settings,
        only({"admin": 302}),
        method="post",
        data={"enabled": "off"},
    ),
]
