"""JSON API plumbing: bearer-token authentication and RFC 9457 problem responses."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from reverie.accounts.models import ApiToken, User, hash_token


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JsonResponse:
    """An ``application/problem+json`` body (RFC 9457) that tells the caller what went wrong."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="reverie"'
    return response


def bearer_user(request: HttpRequest) -> User | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    token = (
        ApiToken.objects.select_related("user", "user__practice")
        .filter(digest=hash_token(raw.strip()), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Recording every use would turn each API read into a write; a minute's resolution
    # is enough to tell an operator whether a token is still in use.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


ApiView = Callable[..., HttpResponse]


def api_view(*roles: str) -> Callable[[ApiView], ApiView]:
    """Authenticate by bearer token (or the browser session, for the portal's own pages)
    and gate by role. CSRF does not apply to bearer calls, which carry no cookie."""

    def decorator(view: ApiView) -> ApiView:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = bearer_user(request)
            if user is None and request.user.is_authenticated and request.method in ("GET", "HEAD"):
                user = request.user
            if user is None:
                return problem(
                    401, "Authentication required", "Send 'Authorization: Bearer <token>'."
                )
            if roles and user.role not in roles:
                return problem(403, "Forbidden", "This endpoint is for another role.")
            request.user = user
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
