"""Session policy: idle timeout for everyone, two-factor for staff."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Writing the session on every request would cost a database write per page; a minute's
# resolution is plenty for a 15-minute idle limit.
_TOUCH_EVERY = 60


class IdleTimeoutMiddleware:
    """Sign out a person who has been idle too long: 15 minutes for staff by default,
    because an unlocked therapist's screen shows many people's records."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            limit = (
                settings.STAFF_IDLE_TIMEOUT if user.is_staff_role else settings.CLIENT_IDLE_TIMEOUT
            )
            now = time.time()
            last = request.session.get("last_seen")
            if last is not None and now - float(last) > limit:
                logout(request)
                messages.info(
                    request, f"You were signed out after {limit // 60} minutes without activity."
                )
                if request.path.startswith(("/api/", "/fhir/")):
                    return HttpResponse(status=401)
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse('accounts:login')}?{query}")
            if last is None or now - float(last) > _TOUCH_EVERY:
                request.session["last_seen"] = now
        return self.get_response(request)


def two_factor_required(user: object) -> bool:
    """Admins and therapists must use a second factor, except in the demo practice."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff_role", False):
        return False
    if not settings.REQUIRE_2FA:
        return False
    return not user.practice.is_demo  # type: ignore[attr-defined]


class TwoFactorRequiredMiddleware:
    """Keeps a staff member who has only given a password on the two-factor pages."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            two_factor_required(user)
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.path.startswith(self.ALLOWED_PREFIXES)
        ):
            if request.path.startswith(("/api/", "/fhir/")):
                return HttpResponse(status=401)
            url = reverse("accounts:two_factor")
            if request.method == "GET" and request.path != reverse("core:home"):
                # Back to this page after the code; the view checks it is a local path.
                # (Home is where the code page sends people anyway.)
                url = f"{url}?{urlencode({'next': request.get_full_path()})}"
            return HttpResponseRedirect(url)
        return self.get_response(request)
