"""Routes of the audit trail's pages: the practice admin's alone."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, only

ROUTES = [
    Route("practice:audit_csv", lambda w: reverse("practice:audit_csv"), only({"admin": 200})),
]
