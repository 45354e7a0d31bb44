"""Answering a questionnaire never reads the episode's encrypted goals.

The goals are the client's own words, encrypted with their data key. Every route that
answers a request loads the request's episode, and reading its goals meant looking the
client's key up (a statement: the vault's key cache is emptied as each request starts)
and decrypting text no questionnaire shows. Each such load defers them now, as the FHIR
submission's hand-written lookup does (``core.rowsql.read_fields``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from measures.conftest import form_data, phq9_answers
from reverie.measures.models import Administration, MeasureRequest
from reverie.testing import World, bearer, phq9_response
from reverie.vault import envelope
from reverie.vault.models import DataKey

pytestmark = pytest.mark.django_db

GOALS = "To understand why I leave before anyone can leave me."


def _portal_form(world: World, as_user: Any, request: MeasureRequest) -> Any:
    return as_user("client").get(reverse("measures:answer", args=[request.pk]))


def _portal_submit(world: World, as_user: Any, request: MeasureRequest) -> Any:
    data = form_data(phq9_answers(1, 1, 1), action="submit", key="g" * 32)
    return as_user("client").post(reverse("measures:answer", args=[request.pk]), data)


def _api_submit(world: World, as_user: Any, request: MeasureRequest) -> Any:
    return HttpClient().post(
        reverse("api:measure_submit", args=[request.pk]),
        json.dumps({"answers": phq9_answers(1, 1, 1)}),
        content_type="application/json",
        **bearer(world.client_user),
    )


def _fhir_submit(world: World, as_user: Any, request: MeasureRequest) -> Any:
    body = phq9_response(world.client.pk, [1, 1, 1, 0, 0, 0, 0, 0, 0])
    return HttpClient().post(
        "/fhir/QuestionnaireResponse",
        json.dumps(body),
        content_type="application/fhir+json",
        **bearer(world.therapist),
    )


@pytest.mark.parametrize(
    ("route", "answered"),
    [
        (_portal_form, False),
        (_portal_submit, True),
        (_api_submit, True),
        (_fhir_submit, True),
    ],
    ids=["portal form", "portal submit", "api submit", "fhir submit"],
)
def test_answering_a_request_reads_no_encrypted_goals(
    world: World, as_user: Any, make_request: Any, monkeypatch: Any, route: Callable, answered: bool
) -> None:
    world.episode.goals = GOALS
    world.episode.save()
    request = make_request()
    unsealed: list[str] = []
    real_unseal = envelope.unseal
    monkeypatch.setattr(envelope, "unseal", lambda s: unsealed.append(s) or real_unseal(s))
    with CaptureQueriesContext(connection) as queries:
        response = route(world, as_user, request)
    assert response.status_code in (200, 201, 302), response.content[:300]
    assert not [q for q in queries.captured_queries if DataKey._meta.db_table in q["sql"]]
    assert unsealed == []
    stored = Administration.objects.filter(request=request)
    assert stored.count() == (1 if answered else 0)
    if answered:
        request.refresh_from_db()
        assert request.status == "completed"
    world.episode.refresh_from_db()
    assert world.episode.goals == GOALS  # still there, for the pages that show them
