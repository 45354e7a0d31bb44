"""The JSON API for the portal and UI, and its OpenAPI document."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from measures.conftest import mean_scored_instrument, phq9_answers
from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.measures import openapi
from reverie.measures.models import Administration, Draft, RequestStatus
from reverie.testing import World


def _auth(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client, url: str, body: object, **headers: str):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_openapi_documents_every_api_route_and_nothing_else(client, world: World) -> None:
    doc = client.get(reverse("api:openapi")).json()
    assert doc["openapi"] == "3.1.0"
    routes = dict(openapi.api_routes())
    assert set(doc["paths"]) == set(routes.values())
    assert {"api:me", "api:caseload", "api:measure_submit"} <= set(routes)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["responses"], (path, method)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    name = media["schema"]["$ref"].rsplit("/", 1)[1]
                    assert name in doc["components"]["schemas"]


def test_a_route_without_an_openapi_entry_fails_the_build(monkeypatch) -> None:
    monkeypatch.delitem(openapi.OPERATIONS, "api:administration")
    with pytest.raises(openapi.UndocumentedRoute, match="api:administration"):
        openapi.document()


def test_client_lists_and_reads_a_request_with_its_questionnaire(
    client, world: World, make_request
) -> None:
    request = make_request()
    headers = _auth(world, "client")
    listing = client.get(reverse("api:measure_requests"), **headers).json()
    assert [r["id"] for r in listing["results"]] == [request.pk]
    body = client.get(reverse("api:measure_request", args=[request.pk]), **headers).json()
    assert body["questionnaire"]["code"] == "phq-9"
    assert len(body["questionnaire"]["questions"]) == 10
    other = _auth(world, "other_client")
    assert client.get(reverse("api:measure_request", args=[request.pk]), **other).status_code == 404


def test_draft_then_submit_with_an_idempotency_key(client, world: World, make_request) -> None:
    request = make_request()
    headers = _auth(world, "client")
    draft = _post(
        client,
        reverse("api:measure_draft", args=[request.pk]),
        {"answers": {"phq9-1": 1}},
        **headers,
    )
    assert draft.status_code == 200 and draft.json()["draft"]["answers"] == {"phq9-1": 1}
    url = reverse("api:measure_submit", args=[request.pk])
    body = {"answers": phq9_answers(1, 1)}
    first = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="retry-1", **headers)
    assert (
        first.status_code == 201 and first.json()["total"] == 2 and first.json()["crisis"] is None
    )
    again = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="retry-1", **headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Administration.objects.filter(request=request).count() == 1
    assert not Draft.objects.filter(request=request).exists()


def test_submit_with_bad_answers_names_them_and_stores_nothing(
    client, world: World, make_request
) -> None:
    request = make_request()
    headers = _auth(world, "client")
    before = (Administration.objects.count(), AuditEntry.objects.count())
    url = reverse("api:measure_submit", args=[request.pk])
    response = _post(client, url, {"answers": {"phq9-1": 5, "phq9-2": "1", "zz": 1}}, **headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors == {
        "phq9-2": "Question 2: the answer must be a whole number.",
        "zz": "There is no question 'zz' in this questionnaire.",
    }
    out_of_range = _post(client, url, {"answers": {"phq9-1": 5}}, **headers)
    errors = out_of_range.json()["errors"]
    assert out_of_range.status_code == 400
    assert errors["phq9-1"] == "Question 1: that answer is not one of the choices."
    assert errors["phq9-9"] == "Question 9 has no answer yet. Choose the answer that fits best."
    malformed = client.post(url, "{", content_type="application/json", **headers)
    assert malformed.status_code == 400 and malformed.json()["title"] == "Malformed JSON"
    wrong_type = client.post(url, "answers=1", content_type="text/plain", **headers)
    assert wrong_type.status_code == 415
    # The token creation above wrote audit rows; the refused submissions wrote none.
    assert Administration.objects.count() == before[0]
    assert AuditEntry.objects.count() == before[1]


def test_a_crisis_answer_comes_back_with_the_practice_crisis_text(
    client, world: World, make_request, django_capture_on_commit_callbacks
) -> None:
    request = make_request()
    headers = _auth(world, "client")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        draft = _post(
            client,
            reverse("api:measure_draft", args=[request.pk]),
            {"answers": {"phq9-9": 1}},
            **headers,
        )
    assert draft.json()["crisis"]["message"] == world.practice.crisis_info
    assert len(mail.outbox) == 1


def test_therapist_reads_results_and_changes_the_schedule(client, world: World) -> None:
    headers = _auth(world, "therapist")
    listing = client.get(
        reverse("api:client_administrations", args=[world.client.pk]) + "?instrument=phq-9",
        **headers,
    ).json()
    assert [r["total"] for r in listing["results"]] == [17, 14, 11]
    one = client.get(reverse("api:administration", args=[listing["results"][0]["id"]]), **headers)
    assert one.json()["instrument"] == "phq-9"
    url = reverse("api:episode_schedule", args=[world.episode.pk])
    default = client.get(url, **headers).json()
    assert {e["instrument"]: e["followup_months"] for e in default["schedule"]} == {
        "gad-7": [1, 3, 6, 12],
        "phq-9": [1, 3, 6, 12],
    }
    changed = _post(
        client,
        url,
        {"schedule": [{"instrument": "phq-9", "before_sessions": True, "followup_months": [6]}]},
        **headers,
    )
    assert changed.status_code == 200
    assert changed.json()["schedule"] == [
        {"instrument": "phq-9", "before_sessions": True, "followup_months": [6]}
    ]
    bad = _post(client, url, {"schedule": [{"instrument": "nope"}]}, **headers)
    assert bad.status_code == 400
    colleague = _auth(world, "colleague")
    assert client.get(url, **colleague).status_code == 404


def test_a_refusal_is_titled_by_its_reason(client, world: World, make_request) -> None:
    """Only a request that can no longer be answered is "closed"; an instrument whose total
    cannot be stored is refused as such, with nothing stored."""
    headers = _auth(world, "client")
    request = make_request(mean_scored_instrument(world).code)
    before = (Administration.objects.count(), AuditEntry.objects.count())
    url = reverse("api:measure_submit", args=[request.pk])
    refused = _post(client, url, {"answers": {"q1": 1, "q2": 1, "q3": 0}}, **headers)
    assert refused.status_code == 409
    assert refused.json()["title"] == "Not stored"
    assert "whole numbers" in refused.json()["detail"]
    assert (Administration.objects.count(), AuditEntry.objects.count()) == before
    cancelled = make_request()
    cancelled.status = RequestStatus.CANCELLED
    cancelled.save(update_fields=["status"])
    closed = _post(
        client,
        reverse("api:measure_submit", args=[cancelled.pk]),
        {"answers": phq9_answers(1, 1)},
        **headers,
    )
    assert closed.status_code == 409 and closed.json()["title"] == "Questionnaire closed"
