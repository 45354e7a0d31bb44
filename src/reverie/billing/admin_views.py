"""The practice admin's billing pages: the fee schedule, billing settings, and the money
reports (income by month, therapist and service; ageing at a date; CSV for the
accountant)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import actions, codes, fees, ledger, reports
from reverie.billing.forms import FeeForm, PeriodForm, SettingsForm
from reverie.billing.models import BillingSettings, Fee
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text if text.endswith(".") else text + "."


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def fee_schedule(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    currency = actions.currency_of(user.practice_id)
    status, error = 200, ""
    form = FeeForm(currency=currency)
    if request.method == "POST":
        form = FeeForm(request.POST, currency=currency)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.set_fee(
                    trail.context(request),
                    user.practice,
                    data["service"],
                    data["amount"],
                    data["effective_from"],
                )
            except actions.BillingError as exc:
                status, error = 400, _sentence(exc)
            else:
                messages.success(request, "Fee saved.")
                return redirect("billing:fees")
        else:
            status, error = 400, "Please correct the fee below."
    today = timezone.localdate()
    rows_by_service: dict[str, list[Fee]] = defaultdict(list)
    for fee in Fee.objects.filter(practice_id=user.practice_id):
        rows_by_service[fee.service].append(fee)
    schedule = []
    for key, service in codes.SERVICES.items():
        rows = rows_by_service.get(key, [])
        now = fees.in_force([(f.effective_from, f.amount) for f in rows], today)
        upcoming = [f for f in rows if f.effective_from > today]
        schedule.append({"service": service, "now": now, "upcoming": upcoming, "history": rows})
    return render(
        request,
        "billing/fees.html",
        {"schedule": schedule, "form": form, "error": error, "currency": currency},
        status=status,
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    row = BillingSettings.for_practice(user.practice_id)
    status, error = 200, ""
    if request.method == "POST":
        form = SettingsForm(request.POST, instance=BillingSettings(practice_id=user.practice_id))
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.save_settings(
                    trail.context(request),
                    user.practice,
                    currency=data["currency"],
                    tax_id=data["tax_id"],
                    address=data["address"],
                    phone=data["phone"],
                    telehealth_pos=data["telehealth_pos"],
                )
            except actions.BillingError as exc:
                status, error = 400, _sentence(exc)
            else:
                messages.success(request, "Billing settings saved.")
                return redirect("billing:settings")
        else:
            status, error = 400, "Please correct the fields below."
    else:
        form = SettingsForm(instance=row)
    return render(request, "billing/settings.html", {"form": form, "error": error}, status=status)


def _period(request: HttpRequest) -> tuple[PeriodForm, datetime.date, datetime.date, datetime.date]:
    today = timezone.localdate()
    defaults = {"start": today.replace(month=1, day=1), "end": today, "as_of": today}
    form = PeriodForm(request.GET or None, initial=defaults)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        return form, data["start"], data["end"], data["as_of"] or today
    return form, defaults["start"], defaults["end"], today


#: Clients listed in the ageing table, largest balance first (the totals count them all).
AGEING_ROWS = 200


def _report_data(
    user: User, start: datetime.date, end: datetime.date, as_of: datetime.date
) -> dict[str, Any]:
    practice_id = user.practice_id
    rows = reports.income(practice_id, start, end)
    received = reports.received_by_month(practice_id, start, end)
    ageing, ageing_rows = reports.ageing(practice_id, as_of, limit=AGEING_ROWS)
    therapists = {
        u.pk: u.display_name
        for u in User.objects.filter(practice_id=practice_id, role=Role.THERAPIST)
    }
    names = {
        c.pk: c.display_name
        for c in Client.objects.filter(pk__in=[r.client_id for r in ageing_rows])
    }

    def totals(key: Any) -> list[tuple[str, int, int]]:
        acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            acc[key(r)][0] += r.sessions
            acc[key(r)][1] += r.net
        return [(k, v[0], v[1]) for k, v in sorted(acc.items())]

    return {
        "rows": rows,
        "by_month": totals(lambda r: r.month),
        "by_therapist": totals(lambda r: therapists.get(r.therapist_id, str(r.therapist_id))),
        "by_service": totals(
            lambda r: codes.SERVICES[r.service].label if r.service in codes.SERVICES else r.service
        ),
        "received": received,
        "ageing": ageing,
        "ageing_rows": [(names.get(r.client_id, f"client {r.client_id}"), r) for r in ageing_rows],
        # The page lists at most this many clients; when the list is full it says so, so
        # that a long list is not mistaken for every client who owes.
        "ageing_limit": AGEING_ROWS,
        "buckets": [label for label, _, _ in ledger.BUCKETS],
        "therapists": therapists,
    }


@role_required(Role.ADMIN)
def reports_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form, start, end, as_of = _period(request)
    if request.GET and not form.is_valid():
        return render(request, "billing/reports.html", {"form": form, "invalid": True}, status=400)
    data = _report_data(user, start, end, as_of)
    trail.record(
        trail.context(request),
        Action.VIEW,
        object_type="billing.report",
        detail={"start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat()},
    )
    currency = actions.currency_of(user.practice_id)
    return render(
        request,
        "billing/reports.html",
        {**data, "form": form, "start": start, "end": end, "as_of": as_of, "currency": currency},
    )


@role_required(Role.ADMIN)
def reports_csv(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form, start, end, _ = _period(request)
    if request.GET and not form.is_valid():
        return HttpResponse(
            "Choose a valid period (start before end, at most three years).",
            status=400,
            content_type="text/plain",
        )
    practice_id = user.practice_id
    rows = reports.income(practice_id, start, end)
    received = reports.received_by_month(practice_id, start, end)
    therapists = {
        u.pk: u.display_name
        for u in User.objects.filter(practice_id=practice_id, role=Role.THERAPIST)
    }
    body = reports.income_csv(rows, received, therapists, actions.currency_of(practice_id))
    trail.record(
        trail.context(request),
        Action.EXPORT,
        object_type="billing.report",
        detail={"csv": "income", "start": start.isoformat(), "end": end.isoformat()},
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="income-{start}-{end}.csv"'
    return response
