"""Routes of the data-lifecycle app: a client's complete record as one download."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only

ROUTES = [
    # The admin and a therapist with clinical access export; a colleague or a stranger
    # learns nothing (404); clients use their own route.
    Route(
        "lifecycle:client_export",
        lambda w: reverse("lifecycle:client_export", args=[w.client.pk]),
        only({"therapist": 200, "admin": 200, "colleague": 404, "stranger": 404}),
        method="post",
    ),
    Route(
        "lifecycle:my_export",
        lambda w: reverse("lifecycle:my_export"),
        only({"client": 200, "other_client": 200}),
        method="post",
    ),
]
