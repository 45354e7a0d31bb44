"""Where to send someone after a form: a ``next`` from the request only if it stays on this
site. Every view that follows a caller-supplied destination goes through here, so an emailed
or planted link can never turn Reverie's sign-in into a doorway to someone else's site."""

from __future__ import annotations

import unicodedata

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

# Longer than any path Reverie makes; a longer value is not one of ours.
_MAX_LENGTH = 2000


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """``value`` if it is a relative path on this site (``/clients/12/?tab=notes``), else ``None``.

    Absolute URLs are refused even for this host: Reverie only ever puts paths in ``next``.
    Refused too: scheme-relative ``//host``, any backslash (``/\\host`` is ``//host`` to a
    browser), any scheme (``javascript:``), and control characters, which browsers strip
    before parsing (``/\\t/host`` becomes ``//host``).
    """
    if not value or len(value) > _MAX_LENGTH:
        return None
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        return None
    # Browsers read a backslash as a slash; Reverie's own paths never contain one.
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    # Django's own check, with no allowed host: anything with a host or scheme fails.
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts=None, require_https=request.is_secure()
    ):
        return None
    return value


def requested_next(request: HttpRequest) -> str | None:
    """The safe ``next`` of this request, from the form or else the query string."""
    return safe_next(request, request.POST.get("next")) or safe_next(
        request, request.GET.get("next")
    )


def redirect_next(request: HttpRequest, default: str, *args: object) -> HttpResponseRedirect:
    """Redirect to the request's safe ``next``, else to ``default`` (a URL name or path)."""
    target = requested_next(request)
    if target is not None:
        return HttpResponseRedirect(target)
    return redirect(default, *args)
