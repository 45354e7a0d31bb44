"""Money as integers in minor units (cents), with its ISO 4217 currency. No float ever
touches an amount: parsing reads the digits, formatting divides integers.

The number of minor-unit digits per currency is ISO 4217's "minor unit" column (the list
maintained by SIX Group for ISO, https://www.six-group.com/en/products-services/
financial-information/data-standards.html); only the currencies a practice is likely to
bill in are listed.

>>> parse("150", "USD")
15000
>>> parse("1,234.5", "USD")
123450
>>> parse("1500", "JPY")
1500
>>> fmt(123450, "USD")
'$1,234.50'
>>> fmt(-2500, "EUR")
'-€25.00'
>>> fmt(1500, "JPY")
'¥1,500'
"""

from __future__ import annotations

import re

#: ISO 4217 minor units (digits after the decimal point).
MINOR_DIGITS: dict[str, int] = {
    "USD": 2,
    "CAD": 2,
    "EUR": 2,
    "GBP": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "JPY": 0,
    "ISK": 0,
}

CURRENCY_CHOICES = [(code, code) for code in MINOR_DIGITS]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}

_AMOUNT = re.compile(r"^(?P<whole>\d{1,3}(,\d{3})*|\d+)(\.(?P<frac>\d+))?$")

#: The largest amount one entry may hold: ten million in major units, far above any fee,
#: and small enough that sums over millions of rows stay inside a 64-bit integer.
MAX_MAJOR = 10_000_000


class MoneyError(ValueError):
    """An amount that cannot be read; the message is safe to show."""


def digits(currency: str) -> int:
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        raise MoneyError(f"Reverie does not know the currency {currency!r}") from None


def parse(text: str, currency: str) -> int:
    """An amount typed by a person (``"150"``, ``"1,234.50"``) in minor units.

    >>> for text in ("12.345", "-5"):
    ...     try:
    ...         parse(text, "USD")
    ...     except MoneyError as error:
    ...         print(error)
    An amount in USD has at most 2 digits after the point
    Write the amount as a number, like 150 or 150.00
    """
    places = digits(currency)
    match = _AMOUNT.match((text or "").strip().lstrip("$€£¥").strip())
    if not match:
        raise MoneyError("Write the amount as a number, like 150 or 150.00")
    whole = int(match.group("whole").replace(",", ""))
    frac = match.group("frac") or ""
    if len(frac) > places:
        raise MoneyError(f"An amount in {currency} has at most {places} digits after the point")
    if whole > MAX_MAJOR:
        raise MoneyError(f"An amount can be at most {MAX_MAJOR:,} {currency}")
    scale: int = 10**places
    return whole * scale + int(frac.ljust(places, "0") or "0")


def plain(minor: int, currency: str) -> str:
    """The amount with its decimal point and no symbol (for CSV and forms).

    >>> plain(15000, "USD"), plain(-5, "USD"), plain(700, "JPY")
    ('150.00', '-0.05', '700')
    """
    places = digits(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def fmt(minor: int, currency: str) -> str:
    """The amount as a person reads it, with the currency's symbol (or code)."""
    places = digits(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    symbol = _SYMBOLS.get(currency, currency + " ")
    text = f"{whole:,}" + (f".{frac:0{places}d}" if places else "")
    return f"{sign}{symbol}{text}"
