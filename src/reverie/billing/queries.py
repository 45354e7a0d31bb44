"""Reading a client's account: totals, open charges and credit, in a constant number of
queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from reverie.billing import ledger
from reverie.billing.models import Charge, ChargeState, Payment, WriteOff
from reverie.care.models import Client


@dataclass(frozen=True)
class Account:
    charges: int
    payments: int
    refunds: int
    write_offs: int
    open_total: int
    credit: int

    @property
    def balance(self) -> int:
        return ledger.balance(
            charges=self.charges,
            payments=self.payments,
            refunds=self.refunds,
            write_offs=self.write_offs,
        )


def account(client: Client | int) -> Account:
    client_id = client if isinstance(client, int) else client.pk
    c = Charge.objects.filter(client_id=client_id, state=ChargeState.LIVE).aggregate(
        amount=Sum("amount"), open=Sum("outstanding")
    )
    p = Payment.objects.filter(client_id=client_id).aggregate(
        amount=Sum("amount"), refunded=Sum("refunded"), allocated=Sum("allocated")
    )
    w = WriteOff.objects.filter(charge__client_id=client_id, charge__state=ChargeState.LIVE)
    written = w.aggregate(s=Sum("amount"))["s"] or 0
    paid, refunded = p["amount"] or 0, p["refunded"] or 0
    return Account(
        charges=c["amount"] or 0,
        payments=paid,
        refunds=refunded,
        write_offs=written,
        open_total=c["open"] or 0,
        credit=paid - refunded - (p["allocated"] or 0),
    )
