"""The client's address for a request, the one answer the audit trail and sign-in throttling
share: ``X-Forwarded-For`` is believed only as far as ``REVERIE_TRUSTED_PROXIES`` vouch for it
(see :mod:`reverie.lib.forwarded` for the rule). ``X-Forwarded-Proto`` likewise counts only
from those proxies (:class:`ForwardedProtoMiddleware`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from reverie.lib.forwarded import TrustedProxies, client_address, parse_networks, peer_is_trusted


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


class ForwardedProtoMiddleware:
    """Drop ``X-Forwarded-Proto`` unless the connection comes from a trusted proxy.

    With ``REVERIE_HTTPS`` on, Django reads the scheme from that header
    (``SECURE_PROXY_SSL_HEADER``) whoever sent it. Gunicorn believes it only from
    ``forwarded_allow_ips`` but leaves the header in the request, so without this a client
    reaching the server directly could call plain HTTP "secure" and skip the redirect to
    HTTPS. It runs first, before Django's ``SecurityMiddleware`` reads the header, and is
    not loaded at all when no scheme header is configured.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        if not header:
            raise MiddlewareNotUsed
        self.header = header[0]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.header in request.META and not peer_is_trusted(
            str(request.META.get("REMOTE_ADDR") or ""), trusted_proxies()
        ):
            del request.META[self.header]
        return self.get_response(request)
