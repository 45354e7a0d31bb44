"""Session dates of a recurring series, free of Django.

A series meets on chosen weekdays every week or every other week, at a local wall-clock
time. Times are generated in the practice's time zone and converted to UTC, so a 9:00
session stays at 9:00 across daylight-saving changes. Dates inside a break are skipped.

>>> import datetime as dt
>>> days = occurrences(
...     weekdays=[0, 3], every_weeks=1, starts_on=dt.date(2026, 3, 2), ends_on=None,
...     start_time=dt.time(9, 0), time_zone="America/New_York",
...     window=(dt.date(2026, 3, 2), dt.date(2026, 3, 12)),
... )
>>> [d.strftime("%a %d %H:%M") for d in days]  # UTC: 9:00 in New York moves with DST
['Mon 02 14:00', 'Thu 05 14:00', 'Mon 09 13:00', 'Thu 12 13:00']
>>> fortnightly = occurrences(
...     weekdays=[2], every_weeks=2, starts_on=dt.date(2026, 1, 7), ends_on=dt.date(2026, 2, 28),
...     start_time=dt.time(18, 30), time_zone="UTC",
...     window=(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
...     breaks=[(dt.date(2026, 2, 1), dt.date(2026, 2, 7))],
... )
>>> [d.date().isoformat() for d in fortnightly]
['2026-01-07', '2026-01-21', '2026-02-18']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo


def _validate(weekdays: Sequence[int], every_weeks: int) -> None:
    if not weekdays:
        raise ValueError("choose at least one weekday")
    if any(not 0 <= d <= 6 for d in weekdays):
        raise ValueError("weekdays run from 0 (Monday) to 6 (Sunday)")
    if every_weeks not in (1, 2):
        raise ValueError("a series meets every week or every other week")


def occurrences(
    *,
    weekdays: Sequence[int],
    every_weeks: int,
    starts_on: dt.date,
    ends_on: dt.date | None,
    start_time: dt.time,
    time_zone: str,
    window: tuple[dt.date, dt.date],
    breaks: Iterable[tuple[dt.date, dt.date]] = (),
) -> list[dt.datetime]:
    """UTC datetimes of the series' sessions whose local date lies in ``window`` (inclusive).

    Weeks are counted from the Monday of ``starts_on``, so "every other week" keeps the
    same rhythm however the window moves.
    """
    _validate(weekdays, every_weeks)
    tz = ZoneInfo(time_zone)
    first_monday = starts_on - dt.timedelta(days=starts_on.weekday())
    begin = max(window[0], starts_on)
    end = min(window[1], ends_on) if ends_on else window[1]
    blocked = list(breaks)
    wanted = set(weekdays)
    result: list[dt.datetime] = []
    day = begin
    while day <= end:
        week_index = (day - first_monday).days // 7
        if (
            day.weekday() in wanted
            and week_index % every_weeks == 0
            and not any(b0 <= day <= b1 for b0, b1 in blocked)
        ):
            local = dt.datetime.combine(day, start_time, tzinfo=tz)
            result.append(local.astimezone(dt.UTC))
        day += dt.timedelta(days=1)
    return result


def sessions_per_week(weekdays: Sequence[int], every_weeks: int) -> float:
    """The planned frequency a series implies.

    >>> sessions_per_week([1, 4], 1), sessions_per_week([2], 2)
    (2.0, 0.5)
    """
    _validate(weekdays, every_weeks)
    return len(set(weekdays)) / every_weeks
