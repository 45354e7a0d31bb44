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
from reverie.core import rowsql


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


# One statement, not the ORM's filter-and-join: every API call runs it, and building the
# query through the ORM cost a fifth of a FHIR submission (bench/bench_fhir_submissions.py).
# Table names come from the models' metadata, never from input.
_BEARER_SQL = (
    f"SELECT {rowsql.columns(User, 'u')}, t.id, t.last_used_at "  # noqa: S608
    f"FROM {User._meta.db_table} u JOIN {ApiToken._meta.db_table} t ON t.user_id = u.id "
    "WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active"
)


def bearer_user(request: HttpRequest) -> User | None:
    """The active user behind a live ``Authorization: Bearer`` token, else ``None``.

    Revocation and deactivation take effect on the very next request: nothing is cached.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    rows = rowsql.fetch(_BEARER_SQL, [hash_token(raw.strip())])
    if not rows:
        return None
    user = rowsql.instance(User, rows[0])
    n = rowsql.width(User)
    token_id = rows[0][n]
    last_used = rowsql.convert(ApiToken, "last_used_at", rows[0][n + 1])
    now = timezone.now()
    # Recording every use would turn each API read into a write; a minute's resolution
    # is enough to tell an operator whether a token is still in use.
    if last_used is None or now - last_used > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


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
