from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag
def optional_url(name: str, *args: Any) -> str:
    """A URL if the route exists, else "" — lets one domain link to another's pages
    without failing while that domain is not installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
