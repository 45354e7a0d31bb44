"""JSON API plumbing: bearer-token authentication, RFC 9457 problem responses, and
reading a JSON body that may be hostile (:func:`read_json`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from reverie.accounts.models import ApiToken, User, hash_token
from reverie.core import rowsql
from reverie.lib import safejson
from reverie.lib.safejson import Rejected

__all__ = ["Rejected", "api_methods", "api_view", "bearer_user", "problem", "read_json"]


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


ApiView = Callable[..., HttpResponse]


def declared_length(request: HttpRequest) -> int | None:
    """The body length the request's ``Content-Length`` states, or ``None`` when it states
    none or not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def preferences(request: HttpRequest) -> dict[str, str]:
    """The preferences of the request's ``Prefer`` header (RFC 7240): each token, in lower
    case, with its value (``""`` when it has none), parameters after ``;`` dropped; the
    first of a repeated token counts.

    >>> from django.test import RequestFactory
    >>> preferences(RequestFactory().get("/", HTTP_PREFER='respond-async, return="minimal"; x=1'))
    {'respond-async': '', 'return': 'minimal'}
    """
    found: dict[str, str] = {}
    for preference in request.headers.get("Prefer", "").split(","):
        name, _, value = preference.split(";", 1)[0].partition("=")
        if name.strip():
            found.setdefault(name.strip().lower(), value.strip().strip('"'))
    return found


def read_json(request: HttpRequest, *, max_bytes: int = safejson.MAX_BYTES) -> Any:
    """The request's body as a JSON object, or :class:`Rejected` with the status to answer.

    Every view that reads a JSON body (``/api/v1`` and ``/fhir``) comes through here, so the
    limits of :mod:`reverie.lib.safejson` hold everywhere. A declared ``Content-Length``
    over the limit is refused before anything is read; Django's own ceiling
    (``DATA_UPLOAD_MAX_MEMORY_SIZE``, which would otherwise end in an HTML 400) is answered
    with the same 413.
    """
    declared = declared_length(request) or 0
    if declared > max_bytes:
        raise Rejected(413, f"The body has {declared} bytes; at most {max_bytes} are accepted.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise Rejected(413, f"The body is larger than {max_bytes} bytes.") from None
    return safejson.loads(raw, max_bytes=max_bytes)


def api_methods(*allowed: str) -> Callable[[ApiView], ApiView]:
    """Like Django's ``require_http_methods``, but a refused method gets a problem document
    (with ``Allow``) instead of an empty HTML 405."""

    def decorator(view: ApiView) -> ApiView:
        # Exempt like api_view: the refusal must not become CSRF's HTML 403 first.
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = problem(
                    405, "Method not allowed", f"{request.method} is not supported here."
                )
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# One statement, not the ORM's filter-and-join: every API call runs it, and building the
# query through the ORM cost a fifth of a FHIR submission (bench/bench_fhir_submissions.py).
# Table names come from the models' metadata, never from input. The parts are named so a
# statement that authenticates and looks something up at once (fhir.lookup) says the same.
BEARER_COLUMNS = f"{rowsql.columns(User, 'u')}, t.id, t.last_used_at"
BEARER_FROM = f"{User._meta.db_table} u JOIN {ApiToken._meta.db_table} t ON t.user_id = u.id"
BEARER_WHERE = "t.digest = %s AND t.revoked_at IS NULL AND u.is_active"
_BEARER_SQL = f"SELECT {BEARER_COLUMNS} FROM {BEARER_FROM} WHERE {BEARER_WHERE}"  # noqa: S608


def bearer_digest(request: HttpRequest) -> str | None:
    """The digest of the request's ``Authorization: Bearer`` token, if it sends one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return hash_token(raw.strip())


def bearer_row_user(row: Sequence[Any]) -> User | None:
    """The user of a row that begins with :data:`BEARER_COLUMNS`, noting the token's use."""
    user = rowsql.instance(User, row)
    n = rowsql.width(User)
    token_id = row[n]
    last_used = rowsql.convert(ApiToken, "last_used_at", row[n + 1])
    now = timezone.now()
    # Recording every use would turn each API read into a write; a minute's resolution
    # is enough to tell an operator whether a token is still in use.
    if last_used is None or now - last_used > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


def bearer_user(request: HttpRequest) -> User | None:
    """The active user behind a live ``Authorization: Bearer`` token, else ``None``.

    Revocation and deactivation take effect on the very next request: nothing is cached.
    """
    digest = bearer_digest(request)
    if digest is None:
        return None
    rows = rowsql.fetch(_BEARER_SQL, [digest])
    return bearer_row_user(rows[0]) if rows else None


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
