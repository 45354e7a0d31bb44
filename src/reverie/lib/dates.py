"""How the product writes dates and times: one table of formats per locale.

Every page and email shows dates through the ``rdate``/``rdatetime``/``rtime`` template
filters (``core/templatetags/reverie_tags.py``), which read the formats below for the locale
of the practice the request or email belongs to. One table, so that "6 Dec 2026" on one page
and "12/06/2026" on the next cannot happen, and so a practice in London reads day-month
while one in Boston reads month-day.

The locale is held in a context variable: set per request by
``directory.middleware.PracticeLocaleMiddleware`` and per email by ``outbox.queue``;
:data:`DEFAULT_LOCALE` anywhere else (commands, tests). Format strings are Django's
``date`` format characters (https://docs.djangoproject.com/en/5.2/ref/templates/builtins/#date);
orderings follow each locale's usual written English form (CLDR "medium"/"full" patterns,
https://cldr.unicode.org/, simplified to drop the US comma after a weekday-less day).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Callable, Iterator

from django.utils import dateformat, timezone

DEFAULT_LOCALE = "en-US"

#: Styles of a date. "date" is the everyday one; the others for headings and compact lists,
#: "mon" for chart axes and other places where "December 2026" does not fit.
DATE_STYLES = ("date", "long", "day", "short", "weekday", "wdate", "month", "mon")

FORMATS: dict[str, dict[str, str]] = {
    "en-US": {
        "date": "M j, Y",  # Dec 6, 2026
        "long": "l, F j, Y",  # Sunday, December 6, 2026
        "day": "l, F j",  # Sunday, December 6
        "short": "M j",  # Dec 6
        "weekday": "D M j",  # Sun Dec 6
        "wdate": "D M j, Y",  # Sun Dec 6, 2026
        "month": "F Y",  # December 2026
        "mon": "M Y",  # Dec 2026
        "time": "g:i A",  # 2:30 PM
        "seconds": "g:i:s A",  # 2:30:05 PM
    },
    "en-GB": {
        "date": "j M Y",  # 6 Dec 2026
        "long": "l j F Y",  # Sunday 6 December 2026
        "day": "l j F",  # Sunday 6 December
        "short": "j M",  # 6 Dec
        "weekday": "D j M",  # Sun 6 Dec
        "wdate": "D j M Y",  # Sun 6 Dec 2026
        "month": "F Y",  # December 2026
        "mon": "M Y",  # Dec 2026
        "time": "H:i",  # 14:30
        "seconds": "H:i:s",  # 14:30:05
    },
}

#: The choices a practice can pick from, for the model field and forms.
LOCALE_CHOICES = [
    ("en-US", "English (United States): Dec 6, 2026, 2:30 PM"),
    ("en-GB", "English (United Kingdom): 6 Dec 2026, 14:30"),
]

_current: contextvars.ContextVar[str | Callable[[], str] | None] = contextvars.ContextVar(
    "reverie_date_locale", default=None
)


def current_locale() -> str:
    """The locale of the request or email being rendered (resolved lazily, so a page that
    shows no date never looks the practice up)."""
    value = _current.get()
    if callable(value):
        value = value()
        _current.set(value)
    return value if value in FORMATS else DEFAULT_LOCALE


def set_locale(
    value: str | Callable[[], str] | None,
) -> contextvars.Token[str | Callable[[], str] | None]:
    """Set the locale (or a function giving it) for what is rendered next; returns the token
    for :func:`reset_locale`."""
    return _current.set(value)


def reset_locale(token: contextvars.Token[str | Callable[[], str] | None]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def using_locale(value: str | Callable[[], str] | None) -> Iterator[None]:
    """Render with this locale inside the block."""
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


def pattern(style: str, locale: str | None = None) -> str:
    """The Django date format for a style in a locale; unknown styles read as "date"."""
    table = FORMATS.get(locale or current_locale(), FORMATS[DEFAULT_LOCALE])
    return table.get(style, table["date"])


# --------------------------------------------------------------------------------------------
# Formatting for Python code (views, PDFs, emails, JSON shown on a page). The template filters
# call these too, so a date reads the same wherever it is written.
# --------------------------------------------------------------------------------------------


def _local(value: object, zone: datetime.tzinfo | None = None) -> object:
    """An aware datetime in ``zone``, or in the current time zone (the active one inside a
    request or ``timezone.override``, as templates show it); anything else unchanged."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value, zone)
    return value


def format_raw(value: object, fmt: str) -> str:
    """A date, datetime or time in a Django date format; "" for anything else."""
    if not isinstance(value, (datetime.date, datetime.time)):
        return ""
    try:
        if isinstance(value, datetime.time):
            return dateformat.time_format(value, fmt)
        return dateformat.format(value, fmt)
    except (AttributeError, TypeError, ValueError):
        return ""


def format_date(
    value: object,
    style: str = "date",
    locale: str | None = None,
    *,
    zone: datetime.tzinfo | None = None,
) -> str:
    """A date (or the date of a datetime) for people: "Dec 6, 2026" / "6 Dec 2026". Anything
    that is not a date gives ""."""
    return format_raw(_local(value, zone), pattern(style, locale))


def format_time(
    value: object,
    locale: str | None = None,
    *,
    seconds: bool = False,
    zone: datetime.tzinfo | None = None,
) -> str:
    """A time of day for people: "2:30 PM" / "14:30" (with seconds when asked)."""
    return format_raw(_local(value, zone), pattern("seconds" if seconds else "time", locale))


def format_datetime(
    value: object,
    style: str = "date",
    locale: str | None = None,
    *,
    seconds: bool = False,
    zone: datetime.tzinfo | None = None,
) -> str:
    """A date in the given style, then the time: "Dec 6, 2026, 2:30 PM"."""
    value = _local(value, zone)
    day = format_raw(value, pattern(style, locale))
    if not day:
        return ""
    return f"{day}, {format_raw(value, pattern('seconds' if seconds else 'time', locale))}"
