"""Where apps above ``care`` join its pages and actions without ``care`` importing them.

``care`` sits below paperwork, scheduling and the rest in Reverie's layering (an app
imports only apps before it), yet its pages are where a therapist looks first. So:

- :data:`portal_account_linked` is sent, inside the linking action's transaction, when a
  client record gets its portal account (a consultation becoming a client, an invitation
  from the client page). Paperwork sends its forms from here, so they go out with the
  portal invitation and roll back with it.
- :func:`provide_flags` registers a function that, for many clients at once, returns a
  short note per client (``{client id: "2 forms unsigned"}``). The Today page and the
  caseload show every registered note beside the client's name.
- :data:`attendance_recorded` is sent, inside the recording action's transaction, when a
  session's attendance changes (attended, no-show, late or ordinary cancellation, by the
  therapist or by the client in the portal). Billing charges the session or the policy
  fee from here, so a charge commits or rolls back with the attendance it bills.
- :data:`episode_ended` is sent, inside the ending action's transaction, when an episode
  ends. Measures starts the follow-up questionnaires (1, 3, 6 and 12 months) from here, so
  they commit or roll back with the ending.
- :func:`provide_agenda` registers a source of a therapist's other appointments that are
  not sessions of a client (first consultations booked from the directory). The Today page
  and the private calendar feed list them beside the sessions.
- :func:`provide_questionnaires` registers the reader of questionnaire results that the
  Today page shows (each client's last scores, what came back since the last session).
  Measures provides it; care's other pages read results through the reverse relations
  measures declares (``client.administrations``), never by importing it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

#: Sent with ``ctx`` (the audit context) and ``client``; receivers write through their
#: own actions, in the caller's transaction.
portal_account_linked = Signal()

#: Sent with ``ctx`` and ``appointment`` (its ``attendance`` already changed).
attendance_recorded = Signal()

#: Sent with ``ctx`` and ``episode`` (already saved as ended, its later sessions cancelled).
episode_ended = Signal()

ClientFlags = Callable[[list[int]], dict[int, str]]

_flag_sources: dict[str, ClientFlags] = {}


def provide_flags(name: str, func: ClientFlags) -> None:
    """Register (or replace, by ``name``) a source of per-client notes."""
    _flag_sources[name] = func


def flags(client_ids: Iterable[int]) -> dict[int, list[str]]:
    """``{client id: [note, …]}`` from every registered source, one call per source."""
    ids = sorted(set(client_ids))
    notes: dict[int, list[str]] = {}
    if not ids:
        return notes
    for _, source in sorted(_flag_sources.items()):
        for client_id, note in source(ids).items():
            notes.setdefault(client_id, []).append(note)
    return notes


@dataclass(frozen=True)
class AgendaItem:
    """Something in a therapist's diary that is not a client's session.

    ``name`` is for signed-in staff pages only; the calendar feed (readable by anyone who
    holds its address) shows ``initials``. ``uid`` is stable, so a calendar app updates the
    event rather than adding a second one.
    """

    uid: str
    kind: str
    starts_at: datetime.datetime
    minutes: int
    name: str
    initials: str
    url: str = ""
    location: str = ""
    #: What the item was read from, for the audit trail of the page that lists it.
    object_type: str = ""
    object_id: int | None = None


Agenda = Callable[[Any, datetime.datetime, datetime.datetime], list[AgendaItem]]

_agenda_sources: dict[str, Agenda] = {}


def provide_agenda(name: str, func: Agenda) -> None:
    """Register (or replace, by ``name``) ``func(therapist, start, end)`` returning the
    therapist's items starting in ``[start, end)``."""
    _agenda_sources[name] = func


def agenda(therapist: Any, start: datetime.datetime, end: datetime.datetime) -> list[AgendaItem]:
    """Every registered source's items for ``therapist``, by start time."""
    items: list[AgendaItem] = []
    for _, source in sorted(_agenda_sources.items()):
        items.extend(source(therapist, start, end))
    return sorted(items, key=lambda item: (item.starts_at, item.uid))


def audit_detail(items: list[AgendaItem]) -> dict[str, list[int]]:
    """``{object type: [ids]}`` of the items, for the listing page's audit entries."""
    found: dict[str, list[int]] = {}
    for item in items:
        if item.object_type and item.object_id is not None:
            found.setdefault(item.object_type, []).append(item.object_id)
    return found


@dataclass(frozen=True)
class Questionnaires:
    """What the Today page shows of questionnaires, read by the app that stores them.

    ``latest(episode_ids, instrument_code, n)`` gives ``{episode id: [result, …]}``, each
    episode's ``n`` newest results of that instrument, newest first.
    ``returned_since_last_session(therapist, now)`` gives the results completed by clients
    in the therapist's current care since that client's last session with them, newest
    first. Results have ``total``, ``band``, ``completed_at``, ``client`` and
    ``instrument``.
    """

    latest: Callable[[Collection[int], str, int], dict[int, list[Any]]]
    returned_since_last_session: Callable[[Any, datetime.datetime], list[Any]]


_questionnaires: dict[str, Questionnaires] = {}


def provide_questionnaires(reader: Questionnaires) -> None:
    """Register (or replace) the reader of questionnaire results."""
    _questionnaires["reader"] = reader


def questionnaires() -> Questionnaires:
    """The registered reader; measures registers it when Django starts."""
    try:
        return _questionnaires["reader"]
    except KeyError:
        raise LookupError(
            "no app provides questionnaire results: reverie.measures registers them in "
            "its AppConfig.ready (provide_questionnaires)"
        ) from None
