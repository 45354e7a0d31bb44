"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from reverie.core.nav import items_for


def reverie(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    practice = user.practice if user is not None and user.is_authenticated else None
    nav = []
    if user is not None and user.is_authenticated:
        current = request.resolver_match.view_name if request.resolver_match else ""
        nav = [
            {
                "label": i.label,
                "url": reverse(i.url_name),
                "current": i.url_name == current,
                "badge": i.badge(user) if i.badge is not None else 0,
                "badge_label": i.badge_label,
            }
            for i in items_for(user.role)
            if i.visible is None or i.visible(user)
        ]
    return {
        "nav": nav,
        "practice": practice,
        # The banner appears on every page of a demo install, signed in or not, so that
        # no screenshot of synthetic data can pass for a real practice.
        "is_demo": settings.DEMO or bool(practice and practice.is_demo),
    }
