"""Navigation entries contributed by each domain.

Each app may have a ``nav.py`` with ``ITEMS = [NavItem(...), ...]``; the base template
shows the entries for the signed-in person's role, in ``order``. Apps add their pages
without editing the shared template.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...]
    order: int = 50
    #: A number shown beside the label (open alerts, …), from the signed-in user; 0 hides
    #: it. A function, so that core need not import the app that counts.
    badge: Callable[[Any], int] | None = None
    #: What the badge's number counts, for screen readers ("3 open", "2 unread").
    badge_label: str = "open"
    #: Whether the entry shows for this person (a feature the practice has turned off
    #: hides its entry); ``None`` shows it always.
    visible: Callable[[Any], bool] | None = None


@cache
def all_items() -> tuple[NavItem, ...]:
    items: list[NavItem] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("reverie."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.nav")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.nav":
                raise
            continue
        items.extend(getattr(module, "ITEMS", []))
    return tuple(sorted(items, key=lambda item: (item.order, item.label)))


def items_for(role: str) -> list[NavItem]:
    return [item for item in all_items() if role in item.roles]
