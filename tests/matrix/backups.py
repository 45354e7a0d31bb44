"""Routes of backups: the admin's page of backup history and status."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only

ROUTES = [
    Route("practice:backups", lambda w: reverse("practice:backups"), only({"admin": 200})),
]
