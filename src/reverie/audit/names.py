"""Client names for the audit pages, supplied by the app that owns clients.

The audit app sits below ``care`` in Reverie's layering (an app imports only apps before
it), yet a practice admin reads the trail by client name. So ``care`` registers, when it
loads, the function that says which clients a person may see by name (its access rules
live there, in ``care.access``), and the audit views ask through here. With nothing
registered, the pages show client numbers instead of names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reverie.accounts.models import User

ClientNames = Callable[["User"], dict[int, str]]

_provider: ClientNames | None = None


def provide(func: ClientNames) -> None:
    global _provider  # set once, when the care app loads
    _provider = func


def clients_visible_to(user: User) -> dict[int, str]:
    """``{client id: name}`` for every client whose name ``user`` may see, in one query."""
    return _provider(user) if _provider is not None else {}
