"""Template helpers for pages of other apps that show a client's erased state."""

from __future__ import annotations

from django import template

from reverie.care.models import Client
from reverie.lifecycle import erasure

register = template.Library()


@register.simple_tag
def client_erased(client: Client) -> bool:
    return erasure.is_erased(client)
