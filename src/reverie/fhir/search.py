"""FHIR R4 search parameters, parsed without touching the database.

The view that searches turns these criteria into a query; keeping the parsing here means
the rules of the FHIR search specification (https://hl7.org/fhir/R4/search.html) are
tested on their own, and every malformed value is refused with a :class:`SearchError`
that the view answers with a 400 OperationOutcome naming the parameter.

Semantics implemented (R4 §3.1.1.4, "Search Parameter Types"):

- **string**: a value matches when the field equals or *starts with* it, ignoring case;
  ``:exact`` asks for exact equality (case included), ``:contains`` for a substring
  anywhere. Accents are not folded (the specification asks for it; SQLite cannot do it in
  an index-friendly way, and Reverie's own data entry keeps names as typed).
- **date**: a partial date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``) stands for the range of
  days it covers, and the prefixes ``eq ne lt gt le ge sa eb`` compare that range with
  the target's (§3.1.1.4.2). ``ap`` (approximately) is refused: its width is left to the
  server and a client cannot know what it would get.
- **token**: ``code``, ``system|code``, ``|code`` (no system) or ``system|`` (any code in
  the system).
- A comma separates alternatives (OR) and a repeated parameter adds a condition (AND);
  ``\\,`` is a literal comma. An empty value is ignored, as the specification says.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Final, Literal

StringMode = Literal["start", "exact", "contains"]

#: ``_count`` when the caller sends none, and the most one page may hold; a larger
#: ``_count`` is lowered to this (the specification lets a server return fewer).
DEFAULT_COUNT: Final = 50
MAX_COUNT: Final = 1000

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DATE = re.compile(r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?")
_PREFIXES: Final = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")


class SearchError(ValueError):
    """A parameter the server cannot honour; ``param`` names it for the OperationOutcome."""

    def __init__(self, param: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def split_values(raw: str) -> list[str]:
    """The comma-separated alternatives of one parameter, with ``\\,`` kept as a comma."""
    parts: list[str] = []
    current = []
    escaped = False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


@dataclass(frozen=True)
class StringCriterion:
    mode: StringMode
    values: tuple[str, ...]


def string_criterion(param: str, modifier: str, raw: str) -> StringCriterion | None:
    modes: dict[str, StringMode] = {"": "start", "exact": "exact", "contains": "contains"}
    if modifier not in modes:
        raise SearchError(
            f"{param}:{modifier}",
            f"The modifier :{modifier} is not supported on {param}; use :exact or :contains.",
            "not-supported",
        )
    values = split_values(raw)
    return StringCriterion(modes[modifier], tuple(values)) if values else None


@dataclass(frozen=True)
class DateCriterion:
    """``prefix`` applied to the days ``[low, high)`` that the searched value covers."""

    prefix: str
    low: datetime.date
    high: datetime.date

    def matches(self, day: datetime.date | None) -> bool:
        """Whether a target that is one whole ``day`` matches (used by the tests and by
        anything filtering in Python; the view asks the database the same question)."""
        if day is None:
            return False
        inside = self.low <= day < self.high
        return {
            "eq": inside,
            "ne": not inside,
            "lt": day < self.low,
            "eb": day < self.low,
            "gt": day >= self.high,
            "sa": day >= self.high,
            "le": day < self.high,
            "ge": day >= self.low,
        }[self.prefix]


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def date_criterion(param: str, modifier: str, raw: str) -> list[DateCriterion]:
    if modifier:
        raise SearchError(
            f"{param}:{modifier}", f"{param} takes no modifier (:{modifier}).", "not-supported"
        )
    criteria = []
    for value in split_values(raw):
        prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        if prefix == "ap":
            raise SearchError(param, "The prefix ap (approximately) is not supported.")
        if prefix not in _PREFIXES:
            raise SearchError(param, f"{value!r} does not start with a known prefix or a date.")
        match = _DATE.fullmatch(text)
        if match is None:
            raise SearchError(
                param, f"{text!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD expected)."
            )
        year = int(match["y"])
        try:
            if match["d"]:
                low = datetime.date(year, int(match["m"]), int(match["d"]))
                high = low + datetime.timedelta(days=1)
            elif match["m"]:
                low = datetime.date(year, int(match["m"]), 1)
                high = _add_months(low, 1)
            else:
                low = datetime.date(year, 1, 1)
                high = datetime.date(year + 1, 1, 1)
        except (ValueError, OverflowError):
            raise SearchError(param, f"{text!r} is not a calendar date.") from None
        criteria.append(DateCriterion(prefix, low, high))
    return criteria


@dataclass(frozen=True)
class Token:
    """``system`` None means any system; ``""`` means none. ``code`` None means any."""

    system: str | None
    code: str | None


def token_criterion(param: str, modifier: str, raw: str) -> list[Token]:
    if modifier:
        raise SearchError(
            f"{param}:{modifier}", f"{param} takes no modifier (:{modifier}).", "not-supported"
        )
    tokens = []
    for value in split_values(raw):
        if "|" in value:
            system, _, code = value.partition("|")
            tokens.append(Token(system, code or None))
        else:
            tokens.append(Token(None, value))
    return tokens


def ids(param: str, raw: str) -> list[str]:
    values = split_values(raw)
    for value in values:
        if not _ID.fullmatch(value):
            raise SearchError(param, f"{value!r} is not a valid resource id.")
    return values


_WHOLE = re.compile(r"[0-9]{1,9}")


def non_negative(param: str, raw: str) -> int:
    # ASCII digits only (``str.isdigit`` accepts "²", which ``int`` refuses), and no more
    # than nine of them, so that an offset always fits the database's integers.
    if not _WHOLE.fullmatch(raw.strip()):
        raise SearchError(param, f"{param} must be a whole number from 0 to 999999999.")
    return int(raw)


def page(count_raw: str | None, offset_raw: str | None) -> tuple[int, int]:
    """``(count, offset)`` from ``_count`` and ``_offset``; ``_count=0`` asks for the total
    alone (R4 §3.1.1.5.7)."""
    count = DEFAULT_COUNT if not count_raw else non_negative("_count", count_raw)
    offset = 0 if not offset_raw else non_negative("_offset", offset_raw)
    return min(count, MAX_COUNT), offset
