"""The client's billing page in the portal: balance, charges and payments (statements and
superbills to download are added by :mod:`reverie.billing.documents`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import actions, queries
from reverie.billing.models import Charge, GoodFaithEstimate, Payment
from reverie.care.access import own_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user


def periods(client: Client) -> list[str]:
    from reverie.billing.document_views import periods as months

    return months(client)


@role_required(Role.CLIENT)
def mine(request: HttpRequest) -> HttpResponse:
    client = own_client(signed_in_user(request))
    context: dict[str, object] = {"client": client}
    if client is not None:
        months = periods(client)
        context.update(
            currency=actions.currency_of(client.practice_id),
            account=queries.account(client),
            charges=list(
                Charge.objects.filter(client=client).order_by("-service_date", "-pk")[:100]
            ),
            payments=list(
                Payment.objects.filter(client=client).order_by("-received_on", "-pk")[:100]
            ),
            periods=months,
            years=sorted({p[:4] for p in months}, reverse=True),
            estimates=list(GoodFaithEstimate.objects.filter(client=client)),
        )
        trail.record(
            trail.context(request),
            Action.VIEW,
            client,
            client_id=client.pk,
            detail={"view": "my_billing"},
        )
    return render(request, "billing/mine.html", context)
