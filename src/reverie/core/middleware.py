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

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


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
