"""Routes of the data-lifecycle app: a client's complete record as one download."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only
from reverie.audit import trail
from reverie.lifecycle import exports
from reverie.testing import World


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
    Route(
        "lifecycle:export_download",
        lambda w: reverse("lifecycle:export_download", args=[_therapists_export(w, built=True)]),
        REQUESTER_ONLY,
    ),
]
