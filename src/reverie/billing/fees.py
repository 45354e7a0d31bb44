"""Which fee applies to a session on a given day. Pure: the callers pass the rows.

A fee is a list of ``(effective_from, amount)`` entries; the entry in force on a day is
the latest one that starts on or before it. A change is a new entry from a date, so
charges made before it keep the amount they were made with (charges store their amount;
nothing here is ever applied to a past charge).

>>> import datetime as dt
>>> rows = [(dt.date(2026, 1, 1), 15000), (dt.date(2026, 7, 1), 16500)]
>>> in_force(rows, dt.date(2026, 6, 30)), in_force(rows, dt.date(2026, 7, 1))
(15000, 16500)
>>> in_force(rows, dt.date(2025, 12, 31)) is None
True
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

#: An agreed fee that names no service applies to every session service.
ALL_SESSIONS = ""


@dataclass(frozen=True)
class Agreed:
    service: str  # a service key, or ALL_SESSIONS
    effective_from: datetime.date
    amount: int


@dataclass(frozen=True)
class Resolved:
    amount: int
    source: str  # "schedule" or "agreed"


def in_force(rows: Iterable[tuple[datetime.date, int]], on: datetime.date) -> int | None:
    """The amount of the latest entry starting on or before ``on``; None before the first."""
    best: tuple[datetime.date, int] | None = None
    for start, amount in rows:
        if start <= on and (best is None or start >= best[0]):
            best = (start, amount)
    return None if best is None else best[1]


def resolve(
    schedule: Iterable[tuple[datetime.date, int]],
    agreed: Iterable[Agreed],
    service: str,
    on: datetime.date,
    *,
    is_session: bool,
) -> Resolved | None:
    """The fee for ``service`` on ``on``: the client's agreed fee in force (one naming this
    service wins over one for all sessions from the same date), else the practice's
    schedule. Policy fees (late cancellation, missed session) follow the schedule unless an
    agreed fee names them. None when neither has an entry yet.

    >>> import datetime as dt
    >>> schedule = [(dt.date(2026, 1, 1), 15000)]
    >>> agreed = [Agreed("", dt.date(2026, 3, 1), 9000)]
    >>> resolve(schedule, agreed, "psychotherapy_45", dt.date(2026, 2, 1), is_session=True)
    Resolved(amount=15000, source='schedule')
    >>> resolve(schedule, agreed, "psychotherapy_45", dt.date(2026, 3, 1), is_session=True)
    Resolved(amount=9000, source='agreed')
    >>> resolve(schedule, agreed, "no_show", dt.date(2026, 3, 1), is_session=False)
    Resolved(amount=15000, source='schedule')
    """
    best: Agreed | None = None
    for row in agreed:
        applies = row.service == service or (row.service == ALL_SESSIONS and is_session)
        if not applies or row.effective_from > on:
            continue
        if (
            best is None
            or row.effective_from > best.effective_from
            or (row.effective_from == best.effective_from and row.service == service)
        ):
            best = row
    if best is not None:
        return Resolved(best.amount, "agreed")
    amount = in_force(schedule, on)
    return None if amount is None else Resolved(amount, "schedule")


def published_range(fee: int | None, sliding_min: int | None, sliding: bool) -> tuple[int, int]:
    """A therapist's published range in minor units, from the directory profile's whole
    units: ``(lowest, highest)``. Without a sliding scale the range is the one fee.

    >>> published_range(150, 90, True), published_range(150, 90, False)
    ((9000, 15000), (15000, 15000))
    """
    if fee is None:
        raise ValueError("no published fee")
    high = fee * 100
    low = sliding_min * 100 if sliding and sliding_min is not None else high
    return min(low, high), high
