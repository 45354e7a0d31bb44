"""Routes of billing (issue 17).

A therapist sees the money of the clients they treat: the colleague and the stranger find
nothing of ``world.client``'s (404). The practice admin sees every account of the
practice and alone sets fees, settings and reads the reports. A client sees only their
own account, in the portal (403 on every staff page). The world's client has a no-show
fee (charged from attendance) and a payment kept as credit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from matrix import CLIENTS, THERAPISTS, Route, only
from reverie.audit import trail
from reverie.billing import actions
from reverie.billing.models import Charge
from reverie.care import actions as care
from reverie.care.models import Appointment
from reverie.testing import World


def objects(w: World) -> dict[str, Any]:
    cached = getattr(w, "_billing_objects", None)
    if cached is not None:
        return cached
    admin = trail.Context(user=w.admin)
    actions.set_fee(admin, w.practice, "no_show", 15000, dt.date(2020, 1, 1))
    actions.set_fee(admin, w.practice, "psychotherapy_45", 15000, dt.date(2020, 1, 1))
    appt = Appointment.objects.create(
        episode=w.episode, starts_at=timezone.now() - dt.timedelta(days=1)
    )
    therapist = trail.Context(user=w.therapist)
    care.record_attendance(therapist, appt, "no_show")
    payment = actions.record_payment(
        therapist, w.client, 5000, method="cash", received_on=timezone.localdate()
    )
    estimate = actions.estimate_for_client(therapist, w.client, sessions=10)
    cached = {
        "charge": Charge.objects.get(appointment=appt),
        "payment": payment,
        "estimate": estimate,
    }
    w._billing_objects = cached  # type: ignore[attr-defined]
    return cached


def _client_url(name: str):  # type: ignore[no-untyped-def]
    def url(w: World) -> str:
        objects(w)
        return reverse(name, args=[w.client.pk])

    return url


def _charge_url(name: str):  # type: ignore[no-untyped-def]
    def url(w: World) -> str:
        return reverse(name, args=[objects(w)["charge"].pk])

    return url


def _payment_url(w: World) -> str:
    return reverse("billing:refund", args=[objects(w)["payment"].pk])


def _plain(name: str):  # type: ignore[no-untyped-def]
    def url(w: World) -> str:
        objects(w)
        return reverse(name)

    return url


STAFF = {**THERAPISTS, "admin": 200}
PERIOD = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m")


def _document(name: str):  # type: ignore[no-untyped-def]
    def url(w: World) -> str:
        objects(w)
        return reverse(name, args=[w.client.pk, PERIOD])

    return url


def _client_estimate(w: World) -> str:
    return reverse("billing:client_estimate", args=[w.client.pk, objects(w)["estimate"].pk])


def _mine(name: str):  # type: ignore[no-untyped-def]
    def url(w: World) -> str:
        objects(w)
        return reverse(name, args=[PERIOD])

    return url


def _my_estimate(w: World) -> str:
    return reverse("billing:my_estimate", args=[objects(w)["estimate"].pk])


def money_of_client(status: int) -> dict[str, int]:
    """The client's therapist and the admin; the colleague and stranger learn nothing."""
    return only({"therapist": status, "admin": status, "colleague": 404, "stranger": 404})


TODAY = dt.datetime.now(tz=dt.UTC).date().isoformat()

ROUTES = [
    Route("billing:overview", _plain("billing:overview"), only(STAFF)),
    Route("billing:account", _client_url("billing:account"), money_of_client(200)),
    Route(
        "billing:payment",
        _client_url("billing:payment"),
        money_of_client(302),
        method="post",
        data={
            "pay-amount": "20",
            "pay-method": "cash",
            "pay-received_on": TODAY,
            "pay-apply": "none",
        },
    ),
    # Without a therapist named the agreed fee is refused with a message (400).
    Route(
        "billing:agreed_fee",
        _client_url("billing:agreed_fee"),
        money_of_client(400),
        method="post",
        data={"agreed-amount": "120", "agreed-effective_from": TODAY},
    ),
    Route(
        "billing:client_settings",
        _client_url("billing:client_settings"),
        money_of_client(302),
        method="post",
        data={"billing-self_pay": "on", "billing-session_service": ""},
    ),
    # Diagnosis codes are clinical: the client's therapist only; the admin is refused.
    Route(
        "billing:diagnoses",
        _client_url("billing:diagnoses"),
        only({"therapist": 200, "colleague": 404, "stranger": 404}),
    ),
    Route(
        "billing:diagnoses",
        _client_url("billing:diagnoses"),
        only({"therapist": 302, "colleague": 404, "stranger": 404}),
        method="post",
        data={"codes": "F41.1"},
    ),
    Route(
        "billing:waive",
        _charge_url("billing:waive"),
        money_of_client(302),
        method="post",
        data={"reason": "illness"},
    ),
    Route(
        "billing:write_off",
        _charge_url("billing:write_off"),
        money_of_client(302),
        method="post",
        data={"amount": "1", "reason": "hardship"},
    ),
    Route(
        "billing:refund",
        _payment_url,
        money_of_client(302),
        method="post",
        data={"amount": "1", "reason": "overpayment"},
    ),
    Route("billing:provider", _plain("billing:provider"), only(THERAPISTS)),
    Route(
        "billing:provider",
        _plain("billing:provider"),
        only({"therapist": 302, "colleague": 302, "stranger": 302}),
        method="post",
        data={"npi": "1234567893", "licence": "LCSW NY 012345"},
    ),
    Route("billing:settings", _plain("billing:settings"), only({"admin": 200})),
    Route(
        "billing:settings",
        _plain("billing:settings"),
        only({"admin": 302}),
        method="post",
        data={
            "currency": "USD",
            "tax_id": "12-3456789",
            "address": "1 Harbour St",
            "phone": "",
            "telehealth_pos": "10",
        },
    ),
    Route("billing:fees", _plain("billing:fees"), only({"admin": 200})),
    Route(
        "billing:fees",
        _plain("billing:fees"),
        only({"admin": 302}),
        method="post",
        data={"service": "psychotherapy_45", "amount": "160", "effective_from": "2030-01-01"},
    ),
    Route("billing:reports", _plain("billing:reports"), only({"admin": 200})),
    Route("billing:reports_csv", _plain("billing:reports_csv"), only({"admin": 200})),
    Route("billing:mine", _plain("billing:mine"), only(CLIENTS)),
    # Documents: PDFs of the client's own money, for the client and the staff who may see it.
    Route("billing:client_statement", _document("billing:client_statement"), money_of_client(200)),
    Route("billing:client_superbill", _document("billing:client_superbill"), money_of_client(200)),
    Route("billing:client_estimate", _client_estimate, money_of_client(200)),
    Route(
        "billing:issue_estimate",
        _client_url("billing:issue_estimate"),
        money_of_client(302),
        method="post",
        data={"sessions": "12"},
    ),
    Route("billing:my_statement", _mine("billing:my_statement"), only(CLIENTS)),
    Route("billing:my_superbill", _mine("billing:my_superbill"), only(CLIENTS)),
    # The estimate is the world client's: the other client finds nothing.
    Route("billing:my_estimate", _my_estimate, only({"client": 200, "other_client": 404})),
    Route(
        "billing:ask_estimate",
        _plain("billing:ask_estimate"),
        only({"client": 302, "other_client": 302}),
        method="post",
    ),
]
