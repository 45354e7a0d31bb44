"""Routes of the data-lifecycle app: a client's complete record as one download."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only
from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.lifecycle import actions, exports
from reverie.testing import World, make_user


def _therapists_export(w: World, *, built: bool) -> int:
    """An export of the client's record that the treating therapist asked for."""
    export = exports.request_export(trail.Context(user=w.therapist), w.client)
    if built:
        exports.claim(export, "test")
        export.refresh_from_db()
        exports.build(export, trail.system("test"))
    return export.pk


#: Only the person who asked sees an export; everyone else learns nothing (404).
REQUESTER_ONLY = {**only({"therapist": 200}, others=404)}

ROUTES = [
    # Asking leads to the export's page (302). A colleague or a stranger learns nothing
    # (404); clients use their own route.
    Route(
        "lifecycle:client_export",
        lambda w: reverse("lifecycle:client_export", args=[w.client.pk]),
        only({"therapist": 302, "admin": 302, "colleague": 404, "stranger": 404}),
        method="post",
    ),
    Route(
        "lifecycle:my_export",
        lambda w: reverse("lifecycle:my_export"),
        only({"client": 302, "other_client": 302}),
        method="post",
    ),
    Route(
        "lifecycle:export",
        lambda w: reverse("lifecycle:export", args=[_therapists_export(w, built=False)]),
        REQUESTER_ONLY,
    ),
    Route("lifecycle:retention", lambda w: reverse("lifecycle:retention"), only({"admin": 200})),
    Route(
        "lifecycle:export_download",
        lambda w: reverse("lifecycle:export_download", args=[_therapists_export(w, built=True)]),
        REQUESTER_ONLY,
    ),
]


def _erasure_request(w: World) -> int:
    """A waiting request to erase the client, asked for by another admin of the practice,
    so the world's admin may confirm or withdraw it."""
    other = make_user(w.practice, Role.ADMIN, "second-admin@harbour.test", "Sam Second")
    row = actions.request_erasure(
        trail.Context(user=other),
        w.client,
        reason="The client asked in writing for their record to be erased.",
        typed_name=f"{w.client.given_name} {w.client.family_name}",
    )
    return row.pk


ROUTES += [
    Route(
        "lifecycle:client_erasure",
        lambda w: reverse("lifecycle:client_erasure", args=[w.client.pk]),
        only({"admin": 200}),
    ),
    # Confirmed by the second admin: the client is erased and the page follows (302).
    Route(
        "lifecycle:erasure_confirm",
        lambda w: reverse("lifecycle:erasure_confirm", args=[_erasure_request(w)]),
        only({"admin": 302}),
        method="post",
        data={"typed_name": "Cleo Client"},
    ),
    Route(
        "lifecycle:erasure_withdraw",
        lambda w: reverse("lifecycle:erasure_withdraw", args=[_erasure_request(w)]),
        only({"admin": 302}),
        method="post",
    ),
]
