"""Two transactions count charges of the same practice, month, therapist and service at the
same moment, each in its own thread with its own connection and real commits: the summary
row ends with both (the upsert adds to the row; neither overwrites the other), on SQLite
and PostgreSQL, for a row that did not exist yet and for one that did."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import transaction

from reverie.billing import summary
from reverie.billing.models import Charge, IncomeMonth
from reverie.testing import build_world


def _count_together(charges: list[Charge]) -> None:
    errors: list[BaseException] = []
    start_together = threading.Barrier(len(charges))

    def count(charge: Charge) -> None:
        from django.db import connection as own

        try:
            start_together.wait(timeout=30)
            with transaction.atomic():
                summary.charge_made(charge)
                time.sleep(0.3)  # hold the transaction open while the other one writes
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=count, args=(c,)) for c in charges]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_of_one_month_are_both_counted() -> None:
    world = build_world()

    def charge(amount: int) -> Charge:
        # Unsaved: only the fields the summary reads.
        return Charge(
            practice_id=world.practice.pk,
            therapist_id=world.therapist.pk,
            service="psychotherapy_45",
            service_date=dt.date(2026, 3, 9),
            amount=amount,
        )

    _count_together([charge(15000), charge(12000)])  # the row is new to both
    row = IncomeMonth.objects.get()
    assert (row.month, row.sessions, row.charged) == (dt.date(2026, 3, 1), 2, 27000)
    _count_together([charge(100), charge(200)])  # the row exists
    row.refresh_from_db()
    assert (row.sessions, row.charged, row.written_off) == (4, 27300, 0)
