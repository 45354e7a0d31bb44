"""Caching policy: nothing Reverie answers is stored by a browser or a proxy unless the
page is marked public.

A shared computer's browser cache, its back button and any caching proxy between the
practice and the person would otherwise keep copies of caseloads, scores and notes
beyond the session, where sign-out and the idle timeout cannot reach them. So every
answer gets ``Cache-Control: no-store`` (through Django's ``add_never_cache_headers``,
plus ``Pragma: no-cache`` for HTTP/1.0 proxies) unless all of these hold:

- the view is marked with :func:`reverie.core.decorators.public_page` (the front door's
  explanatory pages, the directory, published outcomes: nothing about a person);
- the request is a GET or HEAD (a posted self-check or search shows the visitor's own
  answers);
- nobody is signed in, by session or by API token.

Private is the default, so a new route, an API or FHIR answer, a one-time questionnaire
link, an error page or a redirect is never cacheable by accident. Static files never
reach this middleware: WhiteNoise, above it, answers them with its own long-lived headers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.module_loading import import_string

from reverie.core import errors

log = logging.getLogger(__name__)


def may_be_cached(request: HttpRequest) -> bool:
    """True only for an anonymous GET or HEAD of a page marked public."""
    if request.method not in ("GET", "HEAD"):
        return False
    match = request.resolver_match
    if match is None or not getattr(match.func, "public_page", False):
        return False
    # Looked at last: reading ``request.user`` may cost a session lookup, and only public
    # pages need the answer. An API view puts its token's user here, too.
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)


class NoStoreMiddleware:
    """Mark every answer ``no-store`` unless :func:`may_be_cached` allows caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not may_be_cached(request):
            # Also turns a view's own "public, max-age" into "private, max-age=0".
            add_never_cache_headers(response)
            response.headers["Pragma"] = "no-cache"
        return response


#: Middleware that serves only the browser session: the signed-in person, their messages,
#: their second factor and idle time, and CSRF (which protects cookie-borne credentials).
#: A bearer-token API call without a session cookie can use none of them, and every view
#: under :data:`API_PREFIXES` is CSRF-exempt (``tests/test_lean_api.py`` checks both).
SESSION_ONLY = frozenset(
    {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "reverie.accounts.middleware.IdleTimeoutMiddleware",
        "reverie.accounts.middleware.TwoFactorRequiredMiddleware",
    }
)
#: Where a bearer call takes the lean path.
API_PREFIXES = ("/fhir/",)


class _LeanHandler(BaseHandler):
    """Django's own request handling (resolving, view and exception middleware, turning
    an exception into the error answer) over a chosen list of middleware."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self._view_middleware: list[Callable[..., Any]] = []
        self._template_response_middleware: list[Callable[..., Any]] = []
        self._exception_middleware: list[Callable[..., Any]] = []
        # As BaseHandler.load_middleware does for synchronous middleware.
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(paths):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


def takes_lean_path(request: HttpRequest) -> bool:
    """A call under :data:`API_PREFIXES` with a bearer token and no session cookie."""
    return (
        request.path_info.startswith(API_PREFIXES)
        and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class LeanApiMiddleware:
    """Send bearer-token API calls past the session-only middleware.

    A FHIR submission spent a fifth of its CPU time in middleware and request handling
    outside its view, much of it loading an empty session, an anonymous user, their
    messages and second factor (bench/bench_fhir_cpu.py). A call under
    :data:`API_PREFIXES` that carries ``Authorization: Bearer`` and no session cookie
    goes instead through every middleware below this one except :data:`SESSION_ONLY`:
    the security headers, CSP, the caching policy above, error answers
    (OperationOutcome) and the views' own token, role and access checks are the same;
    ``request.user`` is anonymous, as the full chain makes it without a cookie. A call
    with a session cookie (a browser) takes the full chain, so nothing a session can do
    changes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        me = f"{__name__}.{type(self).__name__}"
        below = list(settings.MIDDLEWARE)
        below = below[below.index(me) + 1 :]
        self.lean = _LeanHandler([p for p in below if p not in SESSION_ONLY])

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if takes_lean_path(request):
            request.user = AnonymousUser()
            return self.lean._middleware_chain(request)  # type: ignore[return-value]
        return self.get_response(request)


class TryAgainMiddleware:
    """Answer :class:`reverie.core.errors.TryAgain` with 503 and ``Retry-After``: the
    request changed nothing and may be sent again, which a server error would not say.
    Innermost with the vault's, so it sees a view's exception before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, errors.TryAgain):
            return None
        log.warning("answered 503, try again: %s", exception)
        return errors.try_again(request, exception)


#: What a view or decorator may set on a response for django-csp to build its header from
#: (``csp.decorators``); such a response gets django-csp's own handling.
_PER_RESPONSE_POLICY = tuple(
    f"_csp_{part}{ro}" for part in ("config", "update", "replace", "exempt") for ro in ("", "_ro")
)
#: (header, setting, report only) for the two headers django-csp writes.
_POLICIES = (
    (HEADER, "CONTENT_SECURITY_POLICY", False),
    (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
)


@functools.cache
def _settings_policies() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, value, excluded path prefixes) for the policy and the report-only one,
    as django-csp builds them from the settings alone, leaving out an empty one."""
    found = []
    for header, name, report_only in _POLICIES:
        value = build_policy(report_only=report_only)
        if value:
            prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            found.append((header, value, tuple(prefixes)))
    return tuple(found)


@receiver(setting_changed)
def _policy_setting_changed(setting: str, **kwargs: Any) -> None:
    if any(setting == name for _, name, _ in _POLICIES):
        _settings_policies.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the header built once rather than for every answer.

    django-csp builds both headers from the settings anew for every response (copying the
    settings through ``dataclasses.asdict`` twice): 71–78 µs, about 8 % of the CPU a
    ``GET /healthz`` costs and 2–3 % of a FHIR submission's, against 3–17 µs here
    (bench/RESULTS.md, 2026-12-07, the slower machine). Unless a view asked for a policy
    of its own (``csp.decorators``) or used a nonce, the header depends on the settings
    only, so it is built once and again after a setting changes (tests). Anything else
    goes through django-csp unchanged; ``tests/test_pages.py`` checks the two give the same
    headers.
    """

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE_POLICY)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        for header, value, prefixes in _settings_policies():
            if header not in response and not request.path_info.startswith(prefixes):
                response[header] = value
        # As django-csp does: a nonce asked for after the header went out is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
