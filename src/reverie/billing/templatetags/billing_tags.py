"""``{{ amount|money:currency }}``: minor units as a person reads them."""

from __future__ import annotations

from django import template

from reverie.billing import money as moneylib

register = template.Library()


@register.filter
def money(minor: int | None, currency: str = "USD") -> str:
    return moneylib.fmt(int(minor or 0), currency or "USD")
