"""The access matrix, one module per domain. Every module in this package that defines
``ROUTES`` is collected automatically, so a domain adds its routes without touching the
others' files."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

from reverie.testing import PERSONAS, World


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[World], str]
    expect: dict[str, int]
    method: str = "get"
    data: dict[str, str] = field(default_factory=dict)
    api: bool = False


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int, anonymous: int = 302) -> dict[str, int]:
    return {**everyone(status), "anonymous": anonymous}


def only(roles: dict[str, int], others: int = 403, anonymous: int = 302) -> dict[str, int]:
    return {**everyone(others), "anonymous": anonymous, **roles}


THERAPISTS = {"therapist": 200, "colleague": 200, "stranger": 200}
CLIENTS = {"client": 200, "other_client": 200}


def all_routes() -> list[Route]:
    routes: list[Route] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes.extend(getattr(module, "ROUTES", []))
    return routes
