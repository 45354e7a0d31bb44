"""The one lookup every FHIR submission makes, in one hand-written query.

A submission needs the subject (if the caller may submit for them), the episode it belongs
to and the open request it answers. Built with the ORM this took three queries whose
compilation cost more than everything else in a submission (profiled in
``bench/bench_fhir_submissions.py``), so it is one SQL statement here, read back with
:mod:`reverie.core.rowsql`.

The access rule must stay exactly that of :func:`reverie.care.access.clinical_clients`
(a therapist: clients they treat or were granted; a client: themselves; nothing across
practices). ``tests/fhir/test_lookup.py`` checks the two agree for every persona, for
granted and revoked access.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection

from reverie.accounts.models import Role, User
from reverie.care.models import CareGrant, Client, Episode
from reverie.core import rowsql
from reverie.core.http import BEARER_COLUMNS, BEARER_FROM, BEARER_WHERE, bearer_row_user
from reverie.measures.models import Instrument, MeasureRequest, RequestStatus
from reverie.vault.fields import unread

_CLIENT = Client._meta.db_table
_EPISODE = Episode._meta.db_table
_GRANT = CareGrant._meta.db_table
_REQUEST = MeasureRequest._meta.db_table

# The episode a submission belongs to: a running one before an ended one, the caller's
# own before a colleague's, the newest first (as actions.find_episode). It is joined in,
# so client and episode come back in one row. On PostgreSQL it is joined laterally, so it
# is found among this client's episodes only (through the client_id index): joined on a
# correlated subquery, PostgreSQL planned a hash join over every episode in the table.
# SQLite has no LATERAL, and looks the subquery up by primary key for the one client row.
# Table names come from the models' metadata, never from input; values are parameters.
_ORDER = f"""SELECT {{picked}} FROM {_EPISODE} e WHERE e.client_id = c.id
  ORDER BY CASE WHEN e.status = 'ended' THEN 0 ELSE 1 END DESC,
           CASE WHEN e.therapist_id = {{{{me}}}} THEN 1 ELSE 0 END DESC,
           e.start_date DESC, e.id DESC
  LIMIT 1"""  # noqa: S608
_EPISODE_JOIN = {
    "postgresql": f"LEFT JOIN LATERAL ({_ORDER.format(picked='e.*')}) ep ON TRUE",
    "sqlite": f"LEFT JOIN {_EPISODE} ep ON ep.id = ({_ORDER.format(picked='e.id')})",
}
_SQL = f"""
SELECT {rowsql.columns(Client, "c")}, {rowsql.columns(Episode, "ep")},
  (SELECT r.id FROM {_REQUEST} r WHERE r.client_id = c.id AND r.instrument_id = %s
     AND r.status = '{RequestStatus.OPEN}' AND r.opens_at <= %s AND r.expires_at > %s
   ORDER BY r.expires_at LIMIT 1) AS target_request
FROM {_CLIENT} c
{{episode}}
WHERE c.id = %s AND c.practice_id = {{{{practice}}}} AND ({{access}})
"""  # noqa: S608
_THERAPIST_ACCESS = f"""EXISTS (SELECT 1 FROM {_EPISODE} te
  WHERE te.client_id = c.id AND te.therapist_id = {{me}})
OR EXISTS (SELECT 1 FROM {_GRANT} g
  WHERE g.client_id = c.id AND g.therapist_id = {{me}} AND g.revoked_at IS NULL)"""  # noqa: S608
_CLIENT_ACCESS = "c.user_id = {me}"


@functools.cache
def _statement(vendor: str, access: str) -> str:
    """The lookup for a caller given as parameters (``me``, the practice, in that order)."""
    sql = _SQL.format(episode=_EPISODE_JOIN.get(vendor, _EPISODE_JOIN["sqlite"]), access=access)
    return sql.format(me="%s", practice="%s")


# The same lookup joined laterally to the bearer-token lookup (PostgreSQL only: SQLite has
# no LATERAL), so a submission authenticates and finds its subject in one statement: the
# caller's id, role and practice come from the token's row instead of parameters, and the
# access rule is the therapist's or the client's by the role in that row. A live token
# gives a row whatever the subject; the target's columns are NULL when there is none.
# Saves one round trip per submission (bench/RESULTS.md, 2026-12-07).
_BY_TOKEN = f"""
SELECT {BEARER_COLUMNS}, target.*
FROM {BEARER_FROM}
LEFT JOIN LATERAL ({
    _SQL.format(
        episode=_EPISODE_JOIN["postgresql"],
        access=f"(u.role = '{Role.THERAPIST}' AND ({_THERAPIST_ACCESS}))"
        f" OR (u.role = '{Role.CLIENT}' AND {_CLIENT_ACCESS})",
    ).format(me="u.id", practice="u.practice_id")
}) target ON TRUE
WHERE {BEARER_WHERE}
"""  # noqa: S608


def submission_target(
    user: User, client_id: int, instrument: Instrument, now: datetime.datetime
) -> tuple[Client, Episode | None, MeasureRequest | None] | None:
    """(client, episode, open request) if ``user`` may submit for client ``client_id``."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    head = [instrument.pk, stamp, stamp, user.pk, client_id, user.practice_id]
    if user.role == Role.THERAPIST:
        sql, params = _statement(connection.vendor, _THERAPIST_ACCESS), [*head, user.pk, user.pk]
    elif user.role == Role.CLIENT:
        sql, params = _statement(connection.vendor, _CLIENT_ACCESS), [*head, user.pk]
    else:
        return None
    rows = rowsql.fetch(sql, params)
    return _target(rows[0]) if rows else None


Target = tuple[Client, Episode | None, MeasureRequest | None]


def can_look_up_by_token() -> bool:
    """Whether :func:`submission_target_by_token` is available (PostgreSQL)."""
    return connection.vendor == "postgresql"


def submission_target_by_token(
    digest: str, client_id: int, instrument: Instrument, now: datetime.datetime
) -> tuple[User, Target | None] | None:
    """The active user behind live token ``digest`` and what :func:`submission_target`
    gives that user for client ``client_id``, in one statement; ``None`` when the token
    is not live (a 401). PostgreSQL only (:func:`can_look_up_by_token`)."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = rowsql.fetch(_BY_TOKEN, [instrument.pk, stamp, stamp, client_id, digest])
    if not rows:
        return None
    user = bearer_row_user(rows[0])
    if user is None:
        return None
    # Another role matches neither access rule, so its target columns are NULL.
    return user, _target(rows[0][rowsql.width(User) + 2 :])


def _target(row: Sequence[Any]) -> Target | None:
    client = rowsql.instance(Client, row)
    if client is None:
        return None
    episode = rowsql.instance(Episode, row, rowsql.width(Client))
    request_id = row[-1]
    if request_id:
        request = (
            MeasureRequest.objects.select_related("episode")
            .defer(*unread(Episode, "episode"))  # encrypted, not used here (core.rowsql)
            .get(pk=request_id)
        )
        return client, request.episode, request
    return client, episode, None
