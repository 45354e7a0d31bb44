"""Which starts a first consultation may be booked into. Pure: no Django here.

A therapist's profile lists the weekly hours they offer to new clients (``weekly_slots``,
``(weekday, hour)`` in the practice's time zone). A **consultation time** is one start of such
an hour, between ``notice`` from now and ``weeks`` ahead, that the therapist's calendar shows
free: no session and no other held or booked consultation overlaps its first ``minutes``.
This is the per-start reading of the directory's verified openings
(:mod:`reverie.directory.availability`): the directory lists the weekly hours free in *every*
week, which a regular client needs; a first consultation is a single meeting, so one free
start is enough — which is also why a single cancelled session can open a time for the
waitlist.

>>> import datetime as dt
>>> now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)                 # Monday morning
>>> taken = [(dt.datetime(2026, 3, 10, 18, 0, tzinfo=dt.UTC), 50)]     # the second Tuesday
>>> [s.isoformat() for s in open_starts([(1, 18)], taken, now=now, time_zone="UTC", weeks=3)]
['2026-03-03T18:00:00+00:00', '2026-03-17T18:00:00+00:00']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final
from zoneinfo import ZoneInfo

#: How far ahead a first consultation can be booked (the directory's horizon).
BOOKING_WEEKS: Final = 4
#: How soon a consultation may start at the earliest: the therapist must be able to see it
#: coming, and the intake team to look at the request first.
NOTICE: Final = dt.timedelta(hours=12)
#: A first consultation lasts as long as a session (the clinical record's default).
MINUTES: Final = 50


def occurrences(
    weekly: Iterable[tuple[int, int]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    time_zone: str,
) -> list[dt.datetime]:
    """Every start of the weekly ``(weekday, hour)`` slots in ``(start, end)``, in UTC."""
    tz = ZoneInfo(time_zone)
    wanted = set(weekly)
    first_day = start.astimezone(tz).date()
    found = []
    for offset in range((end - start).days + 2):
        day = first_day + dt.timedelta(days=offset)
        for weekday, hour in wanted:
            if day.weekday() != weekday:
                continue
            # Wall-clock time in the practice's zone; zoneinfo settles daylight-saving gaps.
            at = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.UTC)
            if start < at < end:
                found.append(at)
    return sorted(found)


def open_starts(
    weekly: Iterable[tuple[int, int]],
    busy: Iterable[tuple[dt.datetime, int]],
    *,
    now: dt.datetime,
    time_zone: str,
    weeks: int = BOOKING_WEEKS,
    notice: dt.timedelta = NOTICE,
    minutes: int = MINUTES,
) -> list[dt.datetime]:
    """The consultation times: starts of the weekly slots that no busy time overlaps."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    length = dt.timedelta(minutes=minutes)
    taken = [(b, b + dt.timedelta(minutes=m)) for b, m in busy]
    starts = occurrences(
        weekly, start=now + notice, end=now + dt.timedelta(weeks=weeks), time_zone=time_zone
    )
    return [s for s in starts if not any(b < s + length and s < e for b, e in taken)]


def part_of_day(start: dt.datetime, time_zone: str) -> str:
    """ "morning", "afternoon" or "evening" (the directory's time windows) of a start.

    >>> part_of_day(dt.datetime(2026, 3, 3, 18, 0, tzinfo=dt.UTC), "UTC")
    'evening'
    """
    hour = start.astimezone(ZoneInfo(time_zone)).hour
    if hour < 12:
        return "morning"
    return "afternoon" if hour < 17 else "evening"
