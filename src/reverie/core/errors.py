"""Error answers for paths that match no view, and for requests Django refuses itself.

Django answers these with its HTML templates (``404.html``, ``400.html``…). Under the
JSON APIs a program is reading, so each API registers how it words an error for its path
prefix: ``/api/`` answers an RFC 9457 problem (here) and ``/fhir/`` an OperationOutcome
(``fhir.apps`` registers it, since core sits below fhir). ``reverie.urls`` points Django's
``handler400``/``handler404``/``handler500`` here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views import defaults

from reverie.core.http import problem

#: (status, title, detail) -> the answer an API gives for an error under its prefix.
Responder = Callable[[int, str, str], HttpResponse]

_RESPONDERS: dict[str, Responder] = {}


def register(prefix: str, responder: Responder) -> None:
    _RESPONDERS[prefix] = responder


def _api_problem(status: int, title: str, detail: str) -> HttpResponse:
    return problem(status, title, detail)


register("/api/", _api_problem)


def _responder(request: HttpRequest) -> Responder | None:
    path = request.path_info
    for prefix, responder in _RESPONDERS.items():
        if path.startswith(prefix):
            return responder
    return None


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    responder = _responder(request)
    if responder is None:
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    if isinstance(exception, RequestDataTooBig):
        return responder(413, "Body too large", "The request body is larger than accepted.")
    return responder(400, "Bad request", "The request could not be read.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    responder = _responder(request)
    if responder is None:
        return defaults.page_not_found(request, exception)
    return responder(404, "Not found", "Nothing is at this address.")


class TryAgain(Exception):
    """A refusal that passes: nothing was stored, and the same request may well succeed
    in a moment (for example :class:`reverie.audit.trail.ChainBusy`). Raised anywhere,
    it is answered 503 with ``Retry-After`` (:class:`reverie.core.middleware.TryAgainMiddleware`),
    never as a server error."""


_TRY_AGAIN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>Busy: please try again</title></head><body><h1>Busy: please try again</h1>"
    "<p>{message}</p><p>Nothing was saved. Go back and send it again in a moment.</p>"
    "</body></html>"
)


def try_again(request: HttpRequest, exception: TryAgain) -> HttpResponse:
    """503 in the words of the path's API, or a short page, with ``Retry-After: 1``."""
    responder = _responder(request)
    detail = f"{exception}. Nothing was stored; send the same request again in a moment."
    if responder is None:
        response = HttpResponse(
            _TRY_AGAIN_PAGE.format(message=escape(str(exception))),
            status=503,
            content_type="text/html",
        )
    else:
        response = responder(503, "Busy", detail)
    response["Retry-After"] = "1"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    responder = _responder(request)
    if responder is None:
        return defaults.server_error(request)
    return responder(500, "Server error", "The server failed; the error has been logged.")
