"""FHIR Bulk Data $export routes (lifecycle/bulk_views.py). The kick-offs are asked without
``Prefer: respond-async``, so a caller who may export gets 400 (the header is checked
first after access); the status and file of an export answer its requester only."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, everyone
from reverie.audit import trail
from reverie.lifecycle import bulk
from reverie.lifecycle.models import BulkExport, BulkLevel
from reverie.testing import World


def _export(w: World, build: bool) -> BulkExport:
    params = bulk.Parameters(types=("Patient",), since=None, deidentify=False)
    export = bulk.kick_off(
        trail.Context(user=w.therapist),
        level=BulkLevel.PATIENT,
        params=params,
        request_url="http://testserver/fhir/Patient/$export",
    )
    if build:
        bulk.process_queued("matrix")
    return export


def fhir(expect: dict[str, int], others: int = 403) -> dict[str, int]:
    return {**everyone(others), "anonymous": 401, **expect}


ROUTES = [
    Route("bulk:system", lambda w: reverse("bulk:system"), fhir({"admin": 400}), api=True),
    Route(
        "bulk:patient",
        lambda w: reverse("bulk:patient"),
        fhir(dict.fromkeys(everyone(0), 400) | {"anonymous": 401}),
        api=True,
    ),
    # Group/{therapist id}: the therapist's own caseload, or any in the admin's practice.
    Route(
        "bulk:group",
        lambda w: reverse("bulk:group", args=[w.therapist.pk]),
        fhir({"therapist": 400, "admin": 400, "colleague": 404, "stranger": 404}),
        api=True,
    ),
    Route(
        "bulk:status",
        lambda w: reverse("bulk:status", args=[_export(w, build=False).pk]),
        fhir({"therapist": 202}, others=404),
        api=True,
    ),
    Route(
        "bulk:file",
        lambda w: reverse("bulk:file", args=[_export(w, build=True).pk, "Patient"]),
        fhir({"therapist": 200}, others=404),
        api=True,
    ),
]
