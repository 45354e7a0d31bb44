"""The practice overview: the practice admin's page alone."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only

ROUTES = [
    Route("overview:practice", lambda w: reverse("overview:practice"), only({"admin": 200})),
]
