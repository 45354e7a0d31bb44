"""The admin's money reports, computed in the database: income by month, therapist and
service, and outstanding balances aged at a date.

Both read the charges' running totals (``outstanding``), never the allocation rows, and
are written as plain SQL so that grouping by month is a string slice (SQLite) or
``date_trunc`` (PostgreSQL) rather than a Python function called once per row, which is
what Django's ``TruncMonth`` becomes on SQLite. The ageing query is bounded by the
partial index ``charge_open`` (charges with something still owed), a small part of a
practice's ledger once most charges are paid. ``bench/bench_billing.py`` measures both
over 5 million charges. :mod:`reverie.billing.ledger` holds the same definitions in pure
Python; the tests hold the two to each other.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass

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


def income(
    practice_id: int,
    start: datetime.date,
    end: datetime.date,
    *,
    therapist_id: int | None = None,
) -> list[IncomeRow]:
    """Charges made for sessions from ``start`` to ``end`` (both included) by month,
    therapist and service: how many, their fees and what was written off of them.
    Waived and voided charges are not income."""
    month = _month_sql("service_date")
    where = "practice_id = %s AND service_date BETWEEN %s AND %s AND state = 'live'"
    params: list[int | datetime.date] = [practice_id, start, end]
    if therapist_id is not None:
        where += " AND therapist_id = %s"
        params.append(therapist_id)
    sql = (
        f"SELECT {month} AS m, therapist_id, service, COUNT(*), SUM(amount), SUM(written_off) "  # noqa: S608
        f"FROM billing_charge WHERE {where} "
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


@dataclass(frozen=True)
class AgeingRow:
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


def ageing(
    practice_id: int,
    as_of: datetime.date,
    *,
    therapist_id: int | None = None,
    client_ids: Iterable[int] | None = None,
) -> tuple[ledger.Ageing, list[AgeingRow]]:
    """What is owed now on charges dated up to ``as_of``, by age at ``as_of``, for the
    practice and per client (largest balance first)."""
    e30, e60, e90 = _edges(as_of)
    where = "practice_id = %s AND outstanding > 0 AND service_date <= %s"
    where_params: list[int | datetime.date] = [practice_id, as_of]
    if therapist_id is not None:
        where += " AND therapist_id = %s"
        where_params.append(therapist_id)
    if client_ids is not None:
        ids = list(client_ids)
        if not ids:
            return ledger.Ageing(as_of), []
        where += f" AND client_id IN ({', '.join(['%s'] * len(ids))})"
        where_params.extend(ids)
    sql = (
        "SELECT client_id, "  # noqa: S608
        "SUM(CASE WHEN service_date >= %s THEN outstanding ELSE 0 END), "
        "SUM(CASE WHEN service_date >= %s AND service_date < %s THEN outstanding ELSE 0 END), "
        "SUM(CASE WHEN service_date >= %s AND service_date < %s THEN outstanding ELSE 0 END), "
        "SUM(CASE WHEN service_date < %s THEN outstanding ELSE 0 END) "
        f"FROM billing_charge WHERE {where} GROUP BY client_id"
    )
    params = [e30, e60, e30, e90, e60, e90, *where_params]
    report = ledger.Ageing(as_of)
    rows: list[AgeingRow] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for client_id, *sums in cursor.fetchall():
            a, b, c, d = (int(v or 0) for v in sums)
            rows.append(AgeingRow(client_id, (a, b, c, d)))
            for i, v in enumerate((a, b, c, d)):
                report.totals[i] += v
    rows.sort(key=lambda r: (-r.total, r.client_id))
    return report, rows


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
