"""Months and sparklines for the practice overview. No Django: tested alone.

A trend is twelve monthly values, oldest first, the last being the month in progress.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def month_starts(today: datetime.date, count: int = 12) -> list[datetime.date]:
    """The first day of each of the ``count`` months up to and including ``today``'s,
    oldest first."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def month_end(start: datetime.date) -> datetime.date:
    """The last day of the month that begins on ``start``."""
    following = datetime.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


def bucket(days: Iterable[datetime.date], months: Sequence[datetime.date]) -> list[int]:
    """How many of ``days`` fall in each month of ``months``; days outside are ignored."""
    index = {(m.year, m.month): i for i, m in enumerate(months)}
    counts = [0] * len(months)
    for day in days:
        i = index.get((day.year, day.month))
        if i is not None:
            counts[i] += 1
    return counts


def rate(numerators: Sequence[int], denominators: Sequence[int]) -> list[float | None]:
    """Per-month proportions; ``None`` for a month with nothing to count (not 0, which
    would read as a month in which everything failed)."""
    return [n / d if d else None for n, d in zip(numerators, denominators, strict=True)]


@dataclass(frozen=True)
class Sparkline:
    """Coordinates for a small SVG line chart, ``width`` by ``height`` user units."""

    points: str
    dots: list[tuple[float, float]]
    width: int
    height: int
    low: float
    high: float


def sparkline(
    values: Sequence[float | None], *, width: int = 240, height: int = 48, pad: int = 4
) -> Sparkline:
    """Scale ``values`` into a polyline; gaps (``None``) are skipped, not drawn as zero.
    The vertical scale starts at 0 so that a small change does not look like a large one."""
    known = [v for v in values if v is not None]
    high = max(known, default=0.0) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    dots = [
        (round(pad + i * step, 1), round(height - pad - (v / high) * (height - 2 * pad), 1))
        for i, v in enumerate(values)
        if v is not None
    ]
    return Sparkline(
        points=" ".join(f"{x},{y}" for x, y in dots),
        dots=dots,
        width=width,
        height=height,
        low=0.0,
        high=float(high),
    )
