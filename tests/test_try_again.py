"""A request that met a passing refusal (``core.errors.TryAgain``, such as the audit
chain's ``ChainBusy``) is answered 503 with ``Retry-After`` in its API's words, or a short
page, and stores nothing: never a server error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.measures.models import Administration
from reverie.testing import World, phq9_response


def _token(world: World) -> dict[str, str]:
    _, raw = account_actions.create_token(trail.system("test"), world.therapist)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _phq9(world: World) -> str:
    return json.dumps(phq9_response(world.client.pk, [1] * 9))


def _busy_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every append finds the chain busy, on either database."""

    def busy(cursor: Any) -> tuple[int, str]:
        raise trail.ChainBusy("the audit trail's next entry was taken by another writer")

    monkeypatch.setattr(trail, "_read_head", busy)


def _assert_try_again(answer: Any) -> None:
    assert answer.status_code == 503
    assert answer["Retry-After"] == "1"
    assert "no-store" in answer["Cache-Control"]


def test_a_page_answers_a_short_503_page(
    world: World, as_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = as_user("therapist")
    _busy_chain(monkeypatch)
    answer = http.get(reverse("care:caseload"))
    _assert_try_again(answer)
    assert answer["Content-Type"].startswith("text/html")
    assert b"Nothing was saved" in answer.content


def test_the_json_api_answers_a_problem(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    headers, row = _token(world), _stored(world)
    _busy_chain(monkeypatch)
    answer = Client(raise_request_exception=False).get(
        f"/api/v1/administrations/{row.pk}", **headers
    )
    _assert_try_again(answer)
    body = answer.json()
    assert answer["Content-Type"] == "application/problem+json"
    assert (body["status"], body["title"]) == (503, "Busy")
    assert "send the same request again" in body["detail"]


def _stored(world: World) -> Administration:
    answer = Client().post(
        "/fhir/QuestionnaireResponse",
        _phq9(world),
        content_type="application/fhir+json",
        **_token(world),
    )
    assert answer.status_code == 201
    return Administration.objects.get(pk=answer.json()["id"])


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="races for the next link happen on PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_a_fhir_submission_that_loses_every_race_is_a_503_outcome_and_stores_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real path: the one-statement write and then the transaction both give up at
    once (no attempts), as after losing every race."""
    headers = _token(world)
    monkeypatch.setattr(trail, "LATE_ATTEMPTS", 0)
    monkeypatch.setattr(trail, "APPEND_ATTEMPTS", 0)
    administrations, entries = Administration.objects.count(), AuditEntry.objects.count()
    answer = Client(raise_request_exception=False).post(
        "/fhir/QuestionnaireResponse",
        _phq9(world),
        content_type="application/fhir+json",
        **headers,
    )
    _assert_try_again(answer)
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Nothing was stored" in json.dumps(outcome)
    assert Administration.objects.count() == administrations
    assert AuditEntry.objects.count() == entries
