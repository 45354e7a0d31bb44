"""Where apps above ``directory`` join the front door without ``directory`` importing them.

Booking (``reverie.scheduling``) sits above the directory in Reverie's layering, yet a booked
consultation takes up a therapist's time, and the place to book one is the therapist's public
profile. So:

- :func:`provide_busy` registers a source of extra busy times per therapist (held and booked
  consultations), counted with the booked sessions when openings are worked out.
- :func:`provide_profile_panel` registers a function that gives a therapist's public profile
  page one more section: a template name and its context, or None for nothing to show.
- :data:`request_converted` is sent, inside the conversion's transaction, when a
  consultation request becomes a client. Scheduling turns the booked consultation into the
  new client's first session there, so both commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

#: Sent with ``ctx`` (the audit context), ``request``, ``client`` and ``episode``;
#: receivers write through their own actions, in the caller's transaction.
request_converted = Signal()

BusyTimes = Callable[
    [list[int], dt.datetime, dt.datetime], dict[int, list[tuple[dt.datetime, int]]]
]
ProfilePanel = Callable[[Any, Any, Any], dict[str, Any] | None]

_busy: dict[str, BusyTimes] = {}
_panels: dict[str, ProfilePanel] = {}


def provide_busy(name: str, func: BusyTimes) -> None:
    """Register (or replace, by ``name``) ``func(therapist ids, start, end)`` returning
    ``{therapist id: [(start, minutes), …]}`` of time taken up besides sessions."""
    _busy[name] = func


def busy(
    therapist_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[tuple[dt.datetime, int]]]:
    found: dict[int, list[tuple[dt.datetime, int]]] = {}
    for _, source in sorted(_busy.items()):
        for therapist_id, times in source(therapist_ids, start, end).items():
            found.setdefault(therapist_id, []).extend(times)
    return found


def provide_profile_panel(name: str, func: ProfilePanel) -> None:
    """Register ``func(request, practice, entry)`` giving ``{"template": …, …context}``."""
    _panels[name] = func


def profile_panels(request: Any, practice: Any, entry: Any) -> list[dict[str, Any]]:
    panels = []
    for _, source in sorted(_panels.items()):
        panel = source(request, practice, entry)
        if panel is not None:
            panels.append(panel)
    return panels
