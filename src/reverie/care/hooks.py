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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.dispatch import Signal

#: Sent with ``ctx`` (the audit context) and ``client``; receivers write through their
#: own actions, in the caller's transaction.
portal_account_linked = Signal()

#: Sent with ``ctx`` and ``appointment`` (its ``attendance`` already changed).
attendance_recorded = Signal()

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
