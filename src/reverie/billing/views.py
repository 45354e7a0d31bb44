"""Billing pages of the staff: the accounts a person may see, one client's account with its
forms (payments, waivers, write-offs, refunds, agreed fee, how the client is billed), the
therapist's diagnosis codes for a client and their own provider details.

Who sees what (:mod:`reverie.billing.access`): a therapist the accounts of the clients they
treat, the practice admin every account of the practice; anyone else finds nothing (404).
Clients have their own page in the portal (:mod:`reverie.billing.portal_views`).
Bad input re-renders the page with a clear message and status 400, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.billing import access, actions, document_views, queries
from reverie.billing.forms import (
    AgreedFeeForm,
    ClientSettingsForm,
    DiagnosesForm,
    PaymentForm,
    ProviderForm,
    RefundForm,
    WaiveForm,
    WriteOffForm,
)
from reverie.billing.models import (
    AgreedFee,
    Charge,
    ChargeState,
    ClientBilling,
    GoodFaithEstimate,
    Payment,
    ProviderBilling,
)
from reverie.care.access import get_clinical_client
from reverie.care.models import Client
from reverie.core.decorators import role_required, signed_in_user

STAFF = (Role.ADMIN, Role.THERAPIST)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text if text.endswith(".") else text + "."


def balances(client_ids: list[int]) -> dict[int, tuple[int, int]]:
    """``{client id: (open on charges, credit)}`` in two queries."""
    open_by = dict(
        Charge.objects.filter(client_id__in=client_ids, state=ChargeState.LIVE)
        .values("client_id")
        .annotate(s=Sum("outstanding"))
        .values_list("client_id", "s")
    )
    credit_by = {
        row["client_id"]: (row["a"] or 0) - (row["r"] or 0) - (row["l"] or 0)
        for row in Payment.objects.filter(client_id__in=client_ids)
        .values("client_id")
        .annotate(a=Sum("amount"), r=Sum("refunded"), l=Sum("allocated"))
    }
    return {cid: (open_by.get(cid) or 0, credit_by.get(cid, 0)) for cid in client_ids}


@role_required(*STAFF)
def overview(request: HttpRequest) -> HttpResponse:
    """The accounts the person may see, with what each client owes or holds in credit."""
    user = signed_in_user(request)
    clients = list(access.money_clients(user).order_by("family_name", "given_name"))
    sums = balances([c.pk for c in clients])
    rows = [
        {
            "client": c,
            "open": sums[c.pk][0],
            "credit": sums[c.pk][1],
            "balance": sums[c.pk][0] - sums[c.pk][1],
        }
        for c in clients
    ]
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="billing.charge",
        detail={"view": "billing_overview", "clients": [c.pk for c in clients]},
    )
    currency = actions.currency_of(user.practice_id)
    owed = sum(max(0, sums[c.pk][0] - sums[c.pk][1]) for c in clients)
    return render(
        request,
        "billing/overview.html",
        {"rows": rows, "currency": currency, "owed": owed},
    )


def _account_context(client: Client, user: User) -> dict[str, Any]:
    currency = actions.currency_of(client.practice_id)
    charges = list(
        Charge.objects.filter(client=client)
        .select_related("therapist", "waiver")
        .order_by("-service_date", "-pk")
    )
    payments = list(Payment.objects.filter(client=client).order_by("-received_on", "-pk"))
    billing = ClientBilling.objects.filter(client=client).first()
    therapists = list(User.objects.filter(episodes__client=client, role=Role.THERAPIST).distinct())
    return {
        "client": client,
        "currency": currency,
        "account": queries.account(client),
        "charges": charges,
        "payments": payments,
        "agreed": list(AgreedFee.objects.filter(client=client).select_related("therapist")),
        "billing": billing,
        "therapists": therapists,
        "is_therapist": user.role == Role.THERAPIST,
        "periods": document_views.periods(client),
        "estimates": list(GoodFaithEstimate.objects.filter(client=client)),
        "payment_form": PaymentForm(currency=currency),
        "waive_form": WaiveForm(),
        "write_off_form": WriteOffForm(currency=currency),
        "refund_form": RefundForm(currency=currency),
        "agreed_form": AgreedFeeForm(currency=currency),
        "settings_form": ClientSettingsForm(
            initial={
                "self_pay": billing.self_pay if billing else True,
                "session_service": billing.session_service if billing else "",
            }
        ),
    }


def _account_page(
    request: HttpRequest, client: Client, *, error: str = "", status: int = 200, **forms: Any
) -> HttpResponse:
    user = signed_in_user(request)
    context = _account_context(client, user)
    context.update(forms)
    context["error"] = error
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "billing_account"},
    )
    return render(request, "billing/account.html", context, status=status)


@role_required(*STAFF)
def account(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_money_client(signed_in_user(request), pk)
    return _account_page(request, client)


def _refused(request: HttpRequest, client: Client, error: str, **forms: Any) -> HttpResponse:
    return _account_page(request, client, error=error, status=400, **forms)


@role_required(*STAFF)
@require_POST
def record_payment(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_money_client(signed_in_user(request), pk)
    currency = actions.currency_of(client.practice_id)
    form = PaymentForm(request.POST, currency=currency)
    if not form.is_valid():
        return _refused(request, client, "Please correct the payment below.", payment_form=form)
    data = form.cleaned_data
    try:
        actions.record_payment(
            trail.context(request),
            client,
            data["amount"],
            method=data["method"],
            received_on=data["received_on"],
            reference=data["reference"],
            oldest_first=data["apply"] == "oldest",
        )
    except actions.BillingError as error:
        return _refused(request, client, _sentence(error), payment_form=form)
    messages.success(request, "Payment recorded.")
    return redirect("billing:account", pk=client.pk)


def _own_charge(user: User, pk: int) -> Charge:
    return get_object_or_404(
        Charge.objects.select_related("client"), pk=pk, client__in=access.money_clients(user)
    )


@role_required(*STAFF)
@require_POST
def waive(request: HttpRequest, pk: int) -> HttpResponse:
    charge = _own_charge(signed_in_user(request), pk)
    form = WaiveForm(request.POST)
    if not form.is_valid():
        return _refused(request, charge.client, "Choose the reason for waiving the fee.")
    try:
        actions.waive(trail.context(request), charge, form.cleaned_data["reason"])
    except actions.BillingError as error:
        return _refused(request, charge.client, _sentence(error))
    messages.success(request, "Fee waived.")
    return redirect("billing:account", pk=charge.client_id)


@role_required(*STAFF)
@require_POST
def write_off(request: HttpRequest, pk: int) -> HttpResponse:
    charge = _own_charge(signed_in_user(request), pk)
    form = WriteOffForm(request.POST, currency=charge.currency)
    if not form.is_valid():
        return _refused(
            request, charge.client, "Please give an amount and a reason for the write-off."
        )
    try:
        actions.write_off(
            trail.context(request), charge, form.cleaned_data["amount"], form.cleaned_data["reason"]
        )
    except actions.BillingError as error:
        return _refused(request, charge.client, _sentence(error))
    messages.success(request, "Written off.")
    return redirect("billing:account", pk=charge.client_id)


@role_required(*STAFF)
@require_POST
def refund(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    payment = get_object_or_404(
        Payment.objects.select_related("client"), pk=pk, client__in=access.money_clients(user)
    )
    form = RefundForm(request.POST, currency=payment.currency)
    if not form.is_valid():
        return _refused(
            request, payment.client, "Please give an amount and a reason for the refund."
        )
    try:
        actions.refund(
            trail.context(request),
            payment,
            form.cleaned_data["amount"],
            form.cleaned_data["reason"],
        )
    except actions.BillingError as error:
        return _refused(request, payment.client, _sentence(error))
    messages.success(request, "Refund recorded.")
    return redirect("billing:account", pk=payment.client_id)


@role_required(*STAFF)
@require_POST
def agreed_fee(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_money_client(signed_in_user(request), pk)
    form = AgreedFeeForm(request.POST, currency=actions.currency_of(client.practice_id))
    therapist = User.objects.filter(
        pk=request.POST.get("therapist") or 0, practice_id=client.practice_id, role=Role.THERAPIST
    ).first()
    if not form.is_valid() or therapist is None:
        return _refused(
            request,
            client,
            "Please give the agreed fee, its date and the therapist.",
            agreed_form=form,
        )
    data = form.cleaned_data
    try:
        actions.agree_fee(
            trail.context(request),
            client,
            therapist,
            data["amount"],
            data["effective_from"],
            data["service"],
        )
    except actions.BillingError as error:
        return _refused(request, client, _sentence(error), agreed_form=form)
    messages.success(request, "Agreed fee saved.")
    return redirect("billing:account", pk=client.pk)


@role_required(*STAFF)
@require_POST
def client_settings(request: HttpRequest, pk: int) -> HttpResponse:
    client = access.get_money_client(signed_in_user(request), pk)
    form = ClientSettingsForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, client, "Choose how this client's sessions are billed.", settings_form=form
        )
    try:
        actions.set_client_billing(
            trail.context(request),
            client,
            self_pay=form.cleaned_data["self_pay"],
            session_service=form.cleaned_data["session_service"],
        )
    except actions.BillingError as error:
        return _refused(request, client, _sentence(error), settings_form=form)
    messages.success(request, "Billing settings saved.")
    return redirect("billing:account", pk=client.pk)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def diagnoses(request: HttpRequest, pk: int) -> HttpResponse:
    """The therapist's ICD-10-CM codes for a client's superbills (clinical: therapists of
    the client only)."""
    user = signed_in_user(request)
    client = get_clinical_client(user, pk)
    ctx = trail.context(request)
    status, error = 200, ""
    if request.method == "POST":
        form = DiagnosesForm(request.POST)
        if form.is_valid():
            try:
                actions.set_diagnoses(ctx, client, form.cleaned_data["codes"])
            except actions.BillingError as exc:
                status, error = 400, _sentence(exc)
            else:
                messages.success(request, "Diagnosis codes saved.")
                return redirect("billing:account", pk=client.pk)
        else:
            status, error = 400, "Please correct the codes below."
    else:
        billing = ClientBilling.objects.filter(client=client).first()
        form = DiagnosesForm(
            initial={"codes": ", ".join(billing.diagnosis_codes) if billing else ""}
        )
        trail.record(ctx, Action.VIEW, client, client_id=client.pk, detail={"view": "diagnoses"})
    return render(
        request,
        "billing/diagnoses.html",
        {"client": client, "form": form, "error": error},
        status=status,
    )


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def provider(request: HttpRequest) -> HttpResponse:
    """The therapist's NPI and licence, printed on their clients' superbills."""
    user = signed_in_user(request)
    row = ProviderBilling.objects.filter(therapist=user).first()
    status, error = 200, ""
    if request.method == "POST":
        form = ProviderForm(request.POST)
        if form.is_valid():
            try:
                actions.save_provider(
                    trail.context(request),
                    user,
                    npi=form.cleaned_data["npi"],
                    licence=form.cleaned_data["licence"],
                )
            except actions.BillingError as exc:
                status, error = 400, _sentence(exc)
            else:
                messages.success(request, "Saved.")
                return redirect("billing:provider")
        else:
            status, error = 400, "Please correct the fields below."
    else:
        form = ProviderForm(
            initial={"npi": row.npi if row else "", "licence": row.licence if row else ""}
        )
    return render(request, "billing/provider.html", {"form": form, "error": error}, status=status)
