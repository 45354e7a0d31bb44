"""The date format of the practice a request belongs to."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from reverie.directory.public import public_practice
from reverie.lib import dates


class PracticeLocaleMiddleware:
    """Pages write dates in the locale of the practice the request belongs to: the signed-in
    person's, or for a visitor the practice whose front door this is (``public_practice``,
    one rule for both). Resolved only when a page first writes a date, so pages without
    dates cost no query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        def locale() -> str:
            practice = public_practice(request)
            return practice.date_locale if practice is not None else dates.DEFAULT_LOCALE

        token = dates.set_locale(locale)
        try:
            return self.get_response(request)
        finally:
            dates.reset_locale(token)
