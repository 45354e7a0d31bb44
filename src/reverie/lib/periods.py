"""Periods counted in calendar years, free of Django (pure: ``tests/test_architecture.py``).

A period counted from 29 February ends, in a common year, on 1 March: a record kept for
seven years is then never kept a day too short, and an estimate for twelve months from a
leap day runs to 28 February. Replacing the year instead raises on a leap day.
"""

from __future__ import annotations

import datetime


def add_years(day: datetime.date, years: int) -> datetime.date:
    """``day`` moved ``years`` on; 29 February becomes 1 March in a common year.

    >>> add_years(datetime.date(2016, 2, 29), 7)
    datetime.date(2023, 3, 1)
    >>> add_years(datetime.date(2028, 2, 29), 4)
    datetime.date(2032, 2, 29)
    >>> add_years(datetime.date(2028, 2, 29), 1) - datetime.timedelta(days=1)
    datetime.date(2029, 2, 28)
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return datetime.date(day.year + years, 3, 1)
