"""A missing or wrong practice key answers with a clear page, not a server error.

It is a configuration problem only the operator can fix, and nothing was stored: the
action's transaction rolled back when the vault refused to seal without a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from reverie.vault.envelope import VaultUnavailable

log = logging.getLogger(__name__)

PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>Encryption key needed</title></head><body><h1>Encryption key needed</h1>"
    "<p>{message}</p><p>Nothing was saved. Please tell the practice's administrator.</p>"
    "</body></html>"
)


class VaultUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, VaultUnavailable):
            return None
        log.error("encryption unavailable: %s", exception)
        return HttpResponse(
            PAGE.format(message=escape(str(exception))), status=503, content_type="text/html"
        )
