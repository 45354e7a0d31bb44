"""The monthly income summary (:class:`~reverie.billing.models.IncomeMonth`): kept by the
money actions, rebuilt and checked from the charges.

A row holds, for one practice, month of service, therapist and service, how many charges
are live and the sum of their amounts and of what was written off them. Only
:mod:`reverie.billing.actions` calls :func:`charge_made`, :func:`charge_cancelled` and
:func:`written_off`, inside the transaction that changes the charge, so a summary row can
never disagree with the charges once that transaction commits (or rolls back with it).
Each change adds to the row in one statement (``INSERT … ON CONFLICT DO UPDATE`` for a new
charge, an ``UPDATE`` otherwise), so two transactions changing the same month add up
instead of overwriting each other (SQLite and PostgreSQL both have the upsert).

:func:`rebuild` recomputes the rows from the charges (a migration uses the same SQL for
charges made before the summary existed; the benchmark's bulk builder calls it);
:func:`differences` compares stored and recomputed rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction

from reverie.billing.models import Charge, ChargeState

Key = tuple[int, datetime.date, int, str]  # practice, month, therapist, service
Sums = tuple[int, int, int]  # sessions, charged, written off

TABLE = "billing_incomemonth"
_UPSERT = (
    f"INSERT INTO {TABLE} "  # noqa: S608
    "(practice_id, month, therapist_id, service, sessions, charged, written_off) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (practice_id, month, therapist_id, service) DO UPDATE SET "
    f"sessions = {TABLE}.sessions + excluded.sessions, "
    f"charged = {TABLE}.charged + excluded.charged, "
    f"written_off = {TABLE}.written_off + excluded.written_off"
)


def month_start_sql(column: str) -> str:
    """SQL for the first day of the month of the date ``column``."""
    if connection.vendor == "postgresql":
        return f"({column} - CAST(EXTRACT(DAY FROM {column}) AS integer) + 1)"
    return f"substr({column}, 1, 8) || '01'"


def _key(charge: Charge) -> list[int | str | datetime.date | None]:
    month = connection.ops.adapt_datefield_value(charge.service_date.replace(day=1))
    return [charge.practice_id, month, charge.therapist_id, charge.service]


def charge_made(charge: Charge) -> None:
    """A new live charge."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [*_key(charge), 1, charge.amount, charge.written_off])


def _change(charge: Charge, sessions: int, charged: int, written_off: int) -> None:
    # An UPDATE, not the upsert: the row exists (the charge was counted when it was made),
    # and an insert's proposed row with negative sums would fail the check constraint
    # before the conflict is seen.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET sessions = sessions + %s, charged = charged + %s, "  # noqa: S608
            "written_off = written_off + %s "
            "WHERE practice_id = %s AND month = %s AND therapist_id = %s AND service = %s",
            [sessions, charged, written_off, *_key(charge)],
        )
        if cursor.rowcount != 1:
            raise RuntimeError(
                f"the income summary has no row for charge {charge.pk}; run "
                "`reverie billing summary --rebuild`"
            )


def charge_cancelled(charge: Charge) -> None:
    """A live charge is about to be waived or voided (call before changing its state,
    with the row as it is): it leaves the income, with what was written off it."""
    if charge.state == ChargeState.LIVE:
        _change(charge, -1, -charge.amount, -charge.written_off)


def written_off(charge: Charge, amount: int) -> None:
    """``amount`` more was written off a live charge."""
    _change(charge, 0, 0, amount)


def _recomputed_sql(practice_id: int | None) -> tuple[str, list[int]]:
    where, params = "state = %s", ["live"]
    if practice_id is not None:
        where += " AND practice_id = %s"
        params.append(practice_id)  # type: ignore[arg-type]
    month = month_start_sql("service_date")
    sql = (
        f"SELECT practice_id, {month} AS m, therapist_id, service, "  # noqa: S608
        "COUNT(*), SUM(amount), SUM(written_off) "
        f"FROM billing_charge WHERE {where} GROUP BY practice_id, m, therapist_id, service"
    )
    return sql, params  # type: ignore[return-value]


def rebuild(practice_id: int | None = None) -> int:
    """Recompute the summary rows (of one practice, or all) from the charges; returns how
    many rows there are now."""
    sql, params = _recomputed_sql(practice_id)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Money actions wait until the rebuilt rows are committed, then add to them.
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        if practice_id is None:
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
        else:
            cursor.execute(f"DELETE FROM {TABLE} WHERE practice_id = %s", [practice_id])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {TABLE} "
            "(practice_id, month, therapist_id, service, sessions, charged, written_off) " + sql,
            params,
        )
        return int(cursor.rowcount)


def _as_date(value: datetime.date | str) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def recomputed(practice_id: int | None = None) -> dict[Key, Sums]:
    """The summary as the charges say it should be."""
    sql, params = _recomputed_sql(practice_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (p, _as_date(m), t, s): (int(n), int(c), int(w))
            for p, m, t, s, n, c, w in cursor.fetchall()
        }


def stored(practice_id: int | None = None) -> dict[Key, Sums]:
    """The summary as stored, without rows that have come back to zero."""
    where, params = "NOT (sessions = 0 AND charged = 0 AND written_off = 0)", []
    if practice_id is not None:
        where += " AND practice_id = %s"
        params.append(practice_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT practice_id, month, therapist_id, service, sessions, charged, written_off "  # noqa: S608
            f"FROM {TABLE} WHERE {where}",
            params,
        )
        return {
            (p, _as_date(m), t, s): (int(n), int(c), int(w))
            for p, m, t, s, n, c, w in cursor.fetchall()
        }


@dataclass(frozen=True)
class Difference:
    key: Key
    stored: Sums | None
    recomputed: Sums | None


def differences(practice_id: int | None = None) -> list[Difference]:
    """Every row where the stored summary and the charges disagree (none, always)."""
    have, want = stored(practice_id), recomputed(practice_id)
    return [
        Difference(key, have.get(key), want.get(key))
        for key in sorted(have.keys() | want.keys())
        if have.get(key) != want.get(key)
    ]
