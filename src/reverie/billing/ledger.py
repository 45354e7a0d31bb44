"""Ledger arithmetic on integers (minor units). Pure: no ORM, so the reports, the
property tests and the benchmark share one definition.

The identity every client account keeps::

    balance = charges − (payments − refunds) − write-offs

where waived and voided charges count as zero. The same balance read charge by charge is
the sum of what is still open on each charge, less the client's credit (money received
and not yet allocated to a charge)::

    balance = Σ open(charge) − credit

>>> balance(charges=30000, payments=20000, refunds=5000, write_offs=2500)
12500
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Ageing buckets: days since the date of service, both ends included.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–30", 0, 30),
    ("31–60", 31, 60),
    ("61–90", 61, 90),
    ("90+", 91, None),
)


def balance(*, charges: int, payments: int, refunds: int, write_offs: int) -> int:
    return charges - (payments - refunds) - write_offs


def open_amount(amount: int, paid: int, written_off: int, *, cancelled: bool = False) -> int:
    """What is still owed on one charge (zero once waived or voided).

    >>> open_amount(15000, 10000, 0), open_amount(15000, 0, 0, cancelled=True)
    (5000, 0)
    """
    return 0 if cancelled else amount - paid - written_off


def bucket_index(days: int) -> int:
    """The ageing bucket of a charge ``days`` old.

    >>> [bucket_index(d) for d in (0, 30, 31, 60, 61, 90, 91, 400)]
    [0, 0, 1, 1, 2, 2, 3, 3]
    """
    if days < 0:
        raise ValueError("a charge dated after the report date is not aged")
    for i, (_, low, high) in enumerate(BUCKETS):
        if days >= low and (high is None or days <= high):
            return i
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class Ageing:
    """Open amounts by age at ``as_of``; ``totals[i]`` belongs to ``BUCKETS[i]``."""

    as_of: datetime.date
    totals: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    @property
    def total(self) -> int:
        return sum(self.totals)


def age(lines: Iterable[tuple[datetime.date, int]], as_of: datetime.date) -> Ageing:
    """Age ``(date of service, open amount)`` lines at ``as_of``. Charges dated after
    ``as_of`` did not exist yet then and are left out.

    >>> import datetime as dt
    >>> day = dt.date(2026, 6, 30)
    >>> lines = [(dt.date(2026, 6, 1), 100), (dt.date(2026, 5, 1), 200),
    ...          (dt.date(2026, 3, 1), 400), (dt.date(2026, 7, 2), 800)]
    >>> age(lines, day).totals
    [100, 200, 0, 400]
    """
    report = Ageing(as_of)
    for day, amount in lines:
        days = (as_of - day).days
        if days < 0 or amount == 0:
            continue
        report.totals[bucket_index(days)] += amount
    return report


def allocate_oldest_first(
    open_charges: Iterable[tuple[int, int]], amount: int
) -> list[tuple[int, int]]:
    """Split ``amount`` over ``(charge id, open amount)`` in the order given (oldest
    first): ``[(charge id, part)]``. What is left over stays unallocated (credit).

    >>> allocate_oldest_first([(1, 5000), (2, 15000), (3, 15000)], 30000)
    [(1, 5000), (2, 15000), (3, 10000)]
    """
    if amount < 0:
        raise ValueError("a negative amount cannot be allocated")
    parts: list[tuple[int, int]] = []
    left = amount
    for charge_id, open_ in open_charges:
        if left == 0:
            break
        part = min(left, open_)
        if part > 0:
            parts.append((charge_id, part))
            left -= part
    return parts
