"""Tags and filters every template may use (a builtin of the template engine, see settings).

Dates and times are written only through ``rdate``, ``rdatetime`` and ``rtime``, in the
practice's locale (``reverie.lib.dates``); machine-readable forms (URLs, ``<time datetime>``,
cache busters) through ``isodate``, ``isodatetime`` and ``epoch``. ``tests/test_dates.py``
fails on a ``|date:`` or ``|time:`` anywhere else in the templates.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from reverie.lib import dates

register = template.Library()


@register.simple_tag
def optional_url(name: str, *args: Any) -> str:
    """A URL if the route exists, else "" — lets one domain link to another's pages
    without failing while that domain is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _format(value: Any, fmt: str) -> str:
    if value in (None, ""):
        return ""
    return dates.format_raw(value, fmt)


# expects_localtime: like Django's own |date, an aware datetime arrives in the current time
# zone (the practice's, inside {% timezone %}), not in UTC. The formatting itself is
# reverie.lib.dates', shared with Python code that writes dates for people.
@register.filter(expects_localtime=True, is_safe=False)
def rdate(value: Any, style: str = "date") -> str:
    """A date in the practice's locale. Styles: date (Dec 6, 2026 / 6 Dec 2026), long (with
    the weekday), day (weekday, no year), short (no year), weekday (Sun Dec 6), month, mon."""
    return dates.format_date(value, style)


@register.filter(expects_localtime=True, is_safe=False)
def rtime(value: Any) -> str:
    """A time of day in the practice's locale (2:30 PM / 14:30)."""
    return dates.format_time(value)


@register.filter(expects_localtime=True, is_safe=False)
def rdatetime(value: Any, style: str = "date") -> str:
    """A date in the given style, then the time: "Dec 6, 2026, 2:30 PM"."""
    return dates.format_datetime(value, style)


@register.filter(expects_localtime=True, is_safe=False)
def isodate(value: Any) -> str:
    """2026-12-06: for URLs and form values, never for people."""
    return _format(value, "Y-m-d")


@register.filter(expects_localtime=True, is_safe=False)
def isodatetime(value: Any) -> str:
    """ISO 8601 with offset, for ``<time datetime="…">``."""
    return _format(value, "c")


@register.filter(expects_localtime=True, is_safe=False)
def epoch(value: Any) -> str:
    """Seconds since 1970: a cache buster or a sort key."""
    return _format(value, "U")


@register.filter(expects_localtime=True, is_safe=False)
def tzname(value: Any) -> str:
    """The time zone's name of an aware datetime, as it is shown ("Europe/London")."""
    return _format(value, "e")
