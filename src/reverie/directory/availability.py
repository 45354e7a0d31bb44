"""Verified openings: the weekly hours a therapist offers, minus the sessions already booked.

A therapist's profile lists the weekly hours they offer to new clients (``weekly_slots``,
``(weekday, hour)`` pairs in the practice's time zone, weekday 0 = Monday). An hour only counts
as an **opening** when it is free in *every* week of the horizon (four weeks by default): open-
ended therapy needs a regular time, so an hour that is free this week but taken next week is not
something a new client could take up. "Free" means that no booked session of the therapist
overlaps the hour's first ``session_minutes`` minutes; cancelled sessions do not count as booked
(the caller leaves them out). Only occurrences that start after ``now`` are considered.

This module is pure: the database layer (:mod:`reverie.directory.profiles`) fetches the booked
sessions and passes them in, so the rule can be tested on its own.

>>> import datetime as dt
>>> now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)          # a Monday morning
>>> booked = [(dt.datetime(2026, 3, 17, 18, 0, tzinfo=dt.UTC), 50)]  # Tuesday in week three
>>> result = openings([(1, 18), (3, 9)], booked, now=now, time_zone="UTC")
>>> result.slots                      # Tuesday 18:00 is taken in week three, so only Thursday
((3, 9),)
>>> result.next_free.isoformat()
'2026-03-05T09:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["HORIZON_WEEKS", "SESSION_MINUTES", "Openings", "clean_weekly_slots", "openings"]

#: How many weeks ahead an hour must stay free to count as an opening.
HORIZON_WEEKS: Final = 4
#: The length of the session an opening must hold (the clinical record's default length).
SESSION_MINUTES: Final = 50


@dataclass(frozen=True)
class Openings:
    """The verified openings of one therapist."""

    #: Weekly (weekday, hour) slots free in every week of the horizon, in week order.
    slots: tuple[tuple[int, int], ...]
    #: For each open slot, its first free start (aware), in the same order as ``slots``.
    first_free: tuple[dt.datetime, ...]

    @property
    def next_free(self) -> dt.datetime | None:
        """The earliest moment a new client could start, or None without openings."""
        return min(self.first_free) if self.first_free else None


def clean_weekly_slots(raw: object) -> tuple[tuple[int, int], ...]:
    """Validate stored weekly slots: a list of [weekday 0-6, hour 0-23] pairs.

    Returns the distinct pairs in week order. Anything else raises ValueError naming the bad
    entry, so a corrupted profile is reported rather than silently shown as available.

    >>> clean_weekly_slots([[3, 9], [1, 18], [3, 9]])
    ((1, 18), (3, 9))
    >>> clean_weekly_slots([[7, 9]])
    Traceback (most recent call last):
    ...
    ValueError: bad weekly slot [7, 9]: use [weekday 0-6, hour 0-23]
    """
    if not isinstance(raw, list | tuple):
        raise ValueError("weekly slots must be a list of [weekday, hour] pairs")
    pairs: set[tuple[int, int]] = set()
    for entry in raw:
        ok = (
            isinstance(entry, list | tuple)
            and len(entry) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in entry)
            and 0 <= entry[0] <= 6
            and 0 <= entry[1] <= 23
        )
        if not ok:
            raise ValueError(f"bad weekly slot {entry!r}: use [weekday 0-6, hour 0-23]")
        pairs.add((entry[0], entry[1]))
    return tuple(sorted(pairs))


def _occurrences(
    weekday: int, hour: int, *, now: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[dt.datetime]:
    """Each start of a weekly (weekday, hour) slot in [now, end), as aware UTC datetimes."""
    local_today = now.astimezone(tz).date()
    starts = []
    for offset in range((end - now).days + 2):
        day = local_today + dt.timedelta(days=offset)
        if day.weekday() != weekday:
            continue
        # Wall-clock time in the practice's zone; converting to UTC settles daylight-saving
        # gaps and overlaps the way zoneinfo does (fold=0).
        start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.UTC)
        if now < start < end:
            starts.append(start)
    return starts


def openings(
    weekly_slots: Iterable[tuple[int, int]],
    booked: Iterable[tuple[dt.datetime, int]],
    *,
    now: dt.datetime,
    time_zone: str,
    weeks: int = HORIZON_WEEKS,
    session_minutes: int = SESSION_MINUTES,
) -> Openings:
    """Return the weekly slots that are free in every week of the horizon.

    ``booked`` holds (start, duration in minutes) for the therapist's sessions that still
    take up time; starts must be timezone-aware. ``now`` must be aware as well.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if weeks < 1 or session_minutes < 1:
        raise ValueError("weeks and session_minutes must be at least 1")
    tz = ZoneInfo(time_zone)
    end = now + dt.timedelta(weeks=weeks)
    intervals = []
    for start, minutes in booked:
        if start.tzinfo is None:
            raise ValueError("booked session starts must be timezone-aware")
        intervals.append((start, start + dt.timedelta(minutes=minutes)))
    length = dt.timedelta(minutes=session_minutes)

    slots: list[tuple[int, int]] = []
    first: list[dt.datetime] = []
    for weekday, hour in clean_weekly_slots(list(weekly_slots)):
        starts = _occurrences(weekday, hour, now=now, end=end, tz=tz)
        if not starts:
            continue
        clash = any(
            b_start < start + length and start < b_end
            for start in starts
            for b_start, b_end in intervals
        )
        if not clash:
            slots.append((weekday, hour))
            first.append(starts[0])
    return Openings(tuple(slots), tuple(first))
