"""Routes of the FHIR R4 API. Bearer tokens; anonymous callers get 401, other roles 403,
objects outside a relationship 404; searches answer with an empty Bundle instead."""

from __future__ import annotations

from django.urls import reverse

from matrix import Route, everyone, only
from reverie.measures.models import Administration
from reverie.testing import World


def _administration(w: World) -> int:
    row = Administration.objects.filter(client=w.client).first()
    assert row is not None
    return row.pk


def fhir(expect: dict[str, int]) -> dict[str, int]:
    return {**only(expect, others=403), "anonymous": 401}


CLINICAL = {"therapist": 200, "client": 200, "colleague": 404, "stranger": 404, "other_client": 404}
SIGNED_IN = {
    p: 200 for p in ("therapist", "colleague", "stranger", "admin", "client", "other_client")
}

ROUTES = [
    Route("fhir:metadata", lambda w: reverse("fhir:metadata"), everyone(200), api=True),
    Route(
        "fhir:questionnaire_search",
        lambda w: reverse("fhir:questionnaire_search"),
        fhir(SIGNED_IN),
        api=True,
    ),
    Route(
        "fhir:questionnaire",
        lambda w: reverse("fhir:questionnaire", args=["phq-9"]),
        fhir(SIGNED_IN),
        api=True,
    ),
    # A form-encoded body is refused (415) before anything is read; admins may not submit.
    Route(
        "fhir:questionnaire_response_create",
        lambda w: reverse("fhir:questionnaire_response_create"),
        fhir({**{p: 415 for p in SIGNED_IN}, "admin": 403}),
        method="post",
        api=True,
    ),
    Route(
        "fhir:questionnaire_response",
        lambda w: reverse("fhir:questionnaire_response", args=[_administration(w)]),
        fhir(CLINICAL),
        api=True,
    ),
    Route(
        "fhir:observation_search",
        lambda w: reverse("fhir:observation_search") + f"?subject=Patient/{w.client.pk}",
        fhir({**{p: 200 for p in CLINICAL}}),
        api=True,
    ),
    Route(
        "fhir:observation",
        lambda w: reverse("fhir:observation", args=[f"{_administration(w)}-total"]),
        fhir(CLINICAL),
        api=True,
    ),
    # The administrative record, as on the client's page: the practice admin sees it.
    Route(
        "fhir:patient",
        lambda w: reverse("fhir:patient", args=[w.client.pk]),
        fhir({**CLINICAL, "admin": 200}),
        api=True,
    ),
    # A search finds what the caller may see; nobody signed in is refused outright.
    Route(
        "fhir:patient_search",
        lambda w: reverse("fhir:patient_search") + f"?_id={w.client.pk}",
        fhir(SIGNED_IN),
        api=True,
    ),
    Route(
        "fhir:patient_everything",
        lambda w: reverse("fhir:patient_everything", args=[w.client.pk]),
        fhir(CLINICAL),
        api=True,
    ),
]
