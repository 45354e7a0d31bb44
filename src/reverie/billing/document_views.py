"""Downloading billing's documents: statements, superbills and Good Faith Estimates, for
the client in the portal and for the staff who may see the client's money; asking for a
Good Faith Estimate. Each download is audited as an export with the client's id."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import access, actions, documents
from reverie.billing.models import Charge, GoodFaithEstimate, Payment
from reverie.care.access import own_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user

STAFF = (Role.ADMIN, Role.THERAPIST)


def periods(client: Client) -> list[str]:
    """The months with money in them, newest first (``"2026-03"``)."""
    days = set(Charge.objects.filter(client=client).values_list("service_date", flat=True))
    days |= set(Payment.objects.filter(client=client).values_list("received_on", flat=True))
    return sorted({d.strftime("%Y-%m") for d in days}, reverse=True)


def _bounds(period: str) -> tuple[datetime.date, datetime.date]:
    try:
        return documents.month_bounds(period)
    except ValueError:
        raise Http404("No such period") from None


def _pdf(request: HttpRequest, client: Client, body: bytes, name: str, kind: str) -> HttpResponse:
    trail.record(
        trail.context(request),
        Action.EXPORT,
        client,
        client_id=client.pk,
        detail={"view": f"billing.{kind}", "file": name},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _statement(request: HttpRequest, client: Client, period: str) -> HttpResponse:
    start, end = _bounds(period)
    currency = actions.currency_of(client.practice_id)
    body = documents.statement_pdf(documents.statement(client, start, end, currency))
    return _pdf(request, client, body, f"statement-{period}.pdf", "statement")


def _superbill(request: HttpRequest, client: Client, period: str) -> HttpResponse:
    start, end = _bounds(period)
    currency = actions.currency_of(client.practice_id)
    bill = documents.superbill(client, start, end, currency)
    return _pdf(
        request, client, documents.superbill_pdf(bill), f"superbill-{period}.pdf", "superbill"
    )


def _estimate(request: HttpRequest, client: Client, pk: int) -> HttpResponse:
    estimate = get_object_or_404(
        GoodFaithEstimate.objects.select_related("practice", "therapist", "booking"),
        pk=pk,
        client=client,
    )
    body = documents.estimate_pdf(estimate)
    return _pdf(request, client, body, f"good-faith-estimate-{pk}.pdf", "estimate")


def _mine(request: HttpRequest) -> Client:
    client = own_client(signed_in_user(request))
    if client is None:
        raise Http404("No client record")
    return client


@role_required(Role.CLIENT)
def my_statement(request: HttpRequest, period: str) -> HttpResponse:
    return _statement(request, _mine(request), period)


@role_required(Role.CLIENT)
def my_superbill(request: HttpRequest, period: str) -> HttpResponse:
    return _superbill(request, _mine(request), period)


@role_required(Role.CLIENT)
def my_estimate(request: HttpRequest, pk: int) -> HttpResponse:
    return _estimate(request, _mine(request), pk)


@role_required(Role.CLIENT)
@require_POST
def ask_estimate(request: HttpRequest) -> HttpResponse:
    client = _mine(request)
    try:
        actions.estimate_for_client(trail.context(request), client)
    except actions.BillingError as error:
        messages.error(request, str(error).rstrip(".") + ".")
        return redirect("billing:mine")
    messages.success(request, "Your Good Faith Estimate is ready below.")
    return redirect("billing:mine")


@role_required(*STAFF)
def client_statement(request: HttpRequest, pk: int, period: str) -> HttpResponse:
    return _statement(request, access.get_money_client(signed_in_user(request), pk), period)


@role_required(*STAFF)
def client_superbill(request: HttpRequest, pk: int, period: str) -> HttpResponse:
    return _superbill(request, access.get_money_client(signed_in_user(request), pk), period)


@role_required(*STAFF)
def client_estimate(request: HttpRequest, pk: int, estimate: int) -> HttpResponse:
    return _estimate(request, access.get_money_client(signed_in_user(request), pk), estimate)


@role_required(*STAFF)
@require_POST
def issue_estimate(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_money_client(signed_in_user(request), pk)
    raw = (request.POST.get("sessions") or "").strip()
    sessions = int(raw) if raw.isdigit() else None
    if raw and sessions is None:
        messages.error(request, "Give the number of sessions as a whole number.")
        return redirect("billing:account", pk=client.pk)
    try:
        actions.estimate_for_client(trail.context(request), client, sessions=sessions)
    except actions.BillingError as error:
        messages.error(request, str(error).rstrip(".") + ".")
        return redirect("billing:account", pk=client.pk)
    messages.success(
        request, "Good Faith Estimate issued; the client can download it in the portal."
    )
    return redirect("billing:account", pk=client.pk)
