"""Object ids read from URLs and references, bounded to what the database can hold.

Primary keys are 64-bit signed integers on PostgreSQL and SQLite alike. A longer run of
digits used to reach the database and fail there (PostgreSQL: "value out of range";
SQLite: ``OverflowError``), a server error instead of "not found". ``str.isdigit`` was no
guard either: it accepts digits such as "²" that ``int()`` refuses.
"""

from __future__ import annotations

import re

__all__ = ["ID_PATTERN", "MAX_ID", "parse_id"]

#: The largest value of a signed 64-bit integer, PostgreSQL's ``bigint`` and SQLite's INTEGER.
MAX_ID = 2**63 - 1
#: ASCII digits only, at most 19 of them (``MAX_ID`` has 19).
ID_PATTERN = "[0-9]{1,19}"
_ID = re.compile(ID_PATTERN)


def parse_id(text: str) -> int | None:
    """The id written in ``text``, or ``None`` when it is not one a row could have.

    >>> parse_id("42"), parse_id(str(2**63 - 1)) == 2**63 - 1
    (42, True)
    >>> parse_id(str(2**63)), parse_id("²"), parse_id("-1"), parse_id("")
    (None, None, None, None)
    """
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
