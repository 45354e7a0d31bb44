"""The client's address for a request, the one answer the audit trail and sign-in throttling
share: ``X-Forwarded-For`` is believed only as far as ``REVERIE_TRUSTED_PROXIES`` vouch for it
(see :mod:`reverie.lib.forwarded` for the rule)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from reverie.lib.forwarded import TrustedProxies, client_address, parse_networks


@lru_cache(maxsize=4)
def _parsed(entries: tuple[str, ...]) -> TrustedProxies:
    return parse_networks(entries)


def trusted_proxies() -> TrustedProxies:
    """The configured proxies, parsed once per distinct setting (tests override it)."""
    return _parsed(tuple(settings.TRUSTED_PROXIES))


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client behind ``request``, always a valid IP address or ``None``.

    Without trusted proxies this is the connection's peer, whatever headers say; a forged
    ``X-Forwarded-For`` can then neither dodge throttling nor write an invented address
    into the audit trail.
    """
    return client_address(
        str(request.META.get("REMOTE_ADDR") or ""),
        str(request.META.get("HTTP_X_FORWARDED_FOR") or ""),
        trusted_proxies(),
    )
