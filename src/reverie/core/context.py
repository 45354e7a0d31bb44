"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def reverie(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    practice = user.practice if user is not None and user.is_authenticated else None
    return {
        "practice": practice,
        # The banner appears on every page of a demo install, signed in or not, so that
        # no screenshot of synthetic data can pass for a real practice.
        "is_demo": settings.DEMO or bool(practice and practice.is_demo),
    }
