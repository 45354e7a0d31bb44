"""The admin's money reports, computed in the database: income by month, therapist and
service, and outstanding balances aged at a date.

Neither adds up allocation rows. Income reads whole months from the monthly summary
(:class:`~reverie.billing.models.IncomeMonth`, kept by the money actions in the same
transaction as each charge change) and only the days of the period that are not a whole
month from the live charges themselves, through the partial index ``charge_income_live``;
a year's report is therefore a few thousand summary rows whatever the number of charges.
Ageing reads the charges' running totals (``outstanding``) through the partial covering
index ``charge_open_by_client``: only charges with something still owed, a small part of
a mature ledger. Both are plain SQL so that grouping by month is a string slice (SQLite)
or ``to_char`` (PostgreSQL) rather than a Python function called once per row, which is
what Django's ``TruncMonth`` becomes on SQLite. ``bench/bench_billing.py`` measures both
over 5 million charges. :mod:`reverie.billing.ledger` holds the same definitions in pure
Python; the tests hold the two to each other.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection

from reverie.billing import ledger
from reverie.billing.money import plain


@dataclass(frozen=True)
class IncomeRow:
    month: str  # "2026-03"
    therapist_id: int
    service: str
    sessions: int
    charged: int
    written_off: int

    @property
    def net(self) -> int:
        return self.charged - self.written_off


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"substr({column}, 1, 7)"


def _whole_months(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.date, datetime.date] | None:
    """The first days of the first and last whole months inside ``start``–``end``, if any."""
    first = start if start.day == 1 else _next_month(start)
    after_end = end + datetime.timedelta(days=1)
    last_next = after_end if after_end.day == 1 else after_end.replace(day=1)
    if last_next <= first:
        return None
    return first, _previous_month(last_next)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def _previous_month(first: datetime.date) -> datetime.date:
    return (first - datetime.timedelta(days=1)).replace(day=1)


def income(
    practice_id: int,
    start: datetime.date,
    end: datetime.date,
    *,
    therapist_id: int | None = None,
) -> list[IncomeRow]:
    """Charges made for sessions from ``start`` to ``end`` (both included) by month,
    therapist and service: how many, their fees and what was written off of them.
    Waived and voided charges are not income.

    Whole months come from the monthly summary; the days before the first whole month and
    after the last one (or the whole period, when it holds no whole month) from the
    charges."""
    parts: list[str] = []
    params: list[int | str | datetime.date] = []
    by_therapist = " AND therapist_id = %s" if therapist_id is not None else ""
    months = _whole_months(start, end)
    if months is None:
        days = [(start, end)]
    else:
        first, last = months
        days = []
        if start < first:
            days.append((start, first - datetime.timedelta(days=1)))
        if end >= _next_month(last):
            days.append((_next_month(last), end))
        parts.append(
            f"SELECT {_month_sql('month')} AS m, therapist_id, service, "  # noqa: S608
            "sessions AS n, charged AS c, written_off AS w FROM billing_incomemonth "
            f"WHERE practice_id = %s AND month BETWEEN %s AND %s AND sessions > 0{by_therapist}"
        )
        params += [practice_id, first, last]
        if therapist_id is not None:
            params.append(therapist_id)
    for low, high in days:
        parts.append(
            f"SELECT {_month_sql('service_date')} AS m, therapist_id, service, "  # noqa: S608
            "COUNT(*) AS n, SUM(amount) AS c, SUM(written_off) AS w FROM billing_charge "
            "WHERE practice_id = %s AND service_date BETWEEN %s AND %s AND state = 'live'"
            f"{by_therapist} GROUP BY m, therapist_id, service"
        )
        params += [practice_id, low, high]
        if therapist_id is not None:
            params.append(therapist_id)
    sql = (
        "SELECT m, therapist_id, service, SUM(n), SUM(c), SUM(w) "  # noqa: S608
        f"FROM ({' UNION ALL '.join(parts)}) AS parts "
        "GROUP BY m, therapist_id, service ORDER BY m, therapist_id, service"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            IncomeRow(m, t, s, int(n), int(c or 0), int(w or 0))
            for m, t, s, n, c, w in cursor.fetchall()
        ]


def received_by_month(
    practice_id: int, start: datetime.date, end: datetime.date
) -> dict[str, tuple[int, int]]:
    """``{month: (payments received, refunds paid)}`` of the period (cash basis)."""
    pay_month = _month_sql("received_on")
    ref_month = _month_sql("r.refunded_on")
    out: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pay_month} AS m, SUM(amount) FROM billing_payment "  # noqa: S608
            "WHERE practice_id = %s AND received_on BETWEEN %s AND %s GROUP BY m",
            [practice_id, start, end],
        )
        for m, total in cursor.fetchall():
            out.setdefault(m, [0, 0])[0] = int(total)
        cursor.execute(
            f"SELECT {ref_month} AS m, SUM(r.amount) FROM billing_refund r "  # noqa: S608
            "JOIN billing_payment p ON p.id = r.payment_id "
            "WHERE p.practice_id = %s AND r.refunded_on BETWEEN %s AND %s GROUP BY m",
            [practice_id, start, end],
        )
        for m, total in cursor.fetchall():
            out.setdefault(m, [0, 0])[1] = int(total)
    return {m: (v[0], v[1]) for m, v in sorted(out.items())}


class AgeingRow(NamedTuple):
    """One client's open amounts by age. A named tuple rather than a frozen dataclass: the
    full report makes one per client owing (77,797 in the benchmark), and a frozen
    dataclass costs several times more to create."""

    client_id: int
    totals: tuple[int, int, int, int]

    @property
    def total(self) -> int:
        return sum(self.totals)


def _edges(as_of: datetime.date) -> tuple[datetime.date, datetime.date, datetime.date]:
    """The oldest date of service in the 0–30, 31–60 and 61–90 day buckets
    (:data:`ledger.BUCKETS`): a charge ``days`` old has ``as_of − days`` as its date."""
    e30, e60, e90 = (
        as_of - datetime.timedelta(days=high or 0) for _, _, high in ledger.BUCKETS[:3]
    )
    return e30, e60, e90


def _open_where(
    practice_id: int,
    as_of: datetime.date,
    therapist_id: int | None,
    client_ids: list[int] | None,
) -> tuple[str, list[int | datetime.date]]:
    """The open charges dated up to ``as_of``: a WHERE clause that the partial index
    ``charge_open_by_client`` answers (its condition, ``outstanding > 0``, written out)."""
    where = "practice_id = %s AND outstanding > 0 AND service_date <= %s"
    params: list[int | datetime.date] = [practice_id, as_of]
    if therapist_id is not None:
        where += " AND therapist_id = %s"
        params.append(therapist_id)
    if client_ids is not None:
        where += f" AND client_id IN ({', '.join(['%s'] * len(client_ids))})"
        params.extend(client_ids)
    return where, params


def _bucket_sums(as_of: datetime.date) -> tuple[str, list[int | datetime.date]]:
    e30, e60, e90 = _edges(as_of)
    sql = (
        "SUM(CASE WHEN service_date >= %s THEN outstanding ELSE 0 END) AS a, "
        "SUM(CASE WHEN service_date >= %s AND service_date < %s THEN outstanding ELSE 0 END) AS b, "
        "SUM(CASE WHEN service_date >= %s AND service_date < %s THEN outstanding ELSE 0 END) AS c, "
        "SUM(CASE WHEN service_date < %s THEN outstanding ELSE 0 END) AS d"
    )
    return sql, [e30, e60, e30, e90, e60, e90]


def ageing(
    practice_id: int,
    as_of: datetime.date,
    *,
    therapist_id: int | None = None,
    client_ids: Iterable[int] | None = None,
    limit: int | None = None,
) -> tuple[ledger.Ageing, list[AgeingRow]]:
    """What is owed now on charges dated up to ``as_of``, by age at ``as_of``, for the
    practice and per client (largest balance first; with ``limit``, only that many
    clients, while the practice's totals still count every one).

    Every query reads only open charges, through the partial index
    ``charge_open_by_client``, which holds every column they need. Without ``limit``
    one query groups them by client and the database sorts the clients. With ``limit``
    (the admin's page) the work per client is smaller: the practice's totals by age are
    one sum over the open charges, the largest balances come from a plain sum per client
    (sorted and cut by the database), and only those clients are aged."""
    ids = None if client_ids is None else list(client_ids)
    if ids is not None and not ids:
        return ledger.Ageing(as_of), []
    report = ledger.Ageing(as_of)
    sums, sum_params = _bucket_sums(as_of)
    with connection.cursor() as cursor:
        if limit is not None:
            where, params = _open_where(practice_id, as_of, therapist_id, ids)
            cursor.execute(f"SELECT {sums} FROM billing_charge WHERE {where}", sum_params + params)  # noqa: S608
            report.totals = [int(v or 0) for v in cursor.fetchone()]
            cursor.execute(
                "SELECT client_id FROM billing_charge "  # noqa: S608
                f"WHERE {where} GROUP BY client_id "
                "ORDER BY SUM(outstanding) DESC, client_id LIMIT %s",
                [*params, limit],
            )
            ids = [c for (c,) in cursor.fetchall()]
            if not ids:
                return report, []
        where, params = _open_where(practice_id, as_of, therapist_id, ids)
        cursor.execute(
            f"SELECT client_id, a, b, c, d FROM (SELECT client_id, {sums} "  # noqa: S608
            f"FROM billing_charge WHERE {where} GROUP BY client_id) AS owed "
            "ORDER BY a + b + c + d DESC, client_id",
            sum_params + params,
        )
        found = cursor.fetchall()
    if limit is None:
        report.totals = [int(sum(row[i] for row in found)) for i in range(1, 5)]
    # The sums are integers on both engines (SUM over an integer column).
    return report, [AgeingRow(c, (a, b, cc, d)) for c, a, b, cc, d in found]


def income_csv(
    rows: Iterable[IncomeRow],
    received: dict[str, tuple[int, int]],
    therapists: dict[int, str],
    currency: str,
) -> str:
    """The accountant's file: one line per month, therapist and service, then the money
    received per month; amounts with their decimal point, in ``currency``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["month", "therapist", "service", "sessions", "charged", "written_off", "net", "currency"]
    )
    for r in rows:
        writer.writerow(
            [
                r.month,
                therapists.get(r.therapist_id, str(r.therapist_id)),
                r.service,
                r.sessions,
                plain(r.charged, currency),
                plain(r.written_off, currency),
                plain(r.net, currency),
                currency,
            ]
        )
    writer.writerow([])
    writer.writerow(["month", "received", "refunded", "net_received", "currency"])
    for month, (got, back) in received.items():
        writer.writerow(
            [
                month,
                plain(got, currency),
                plain(back, currency),
                plain(got - back, currency),
                currency,
            ]
        )
    return out.getvalue()
