"""Issue #13, part 5: hostile input to /fhir and /api/v1 never gives a 500.

One test per finding. Each sends what broke the server (or answered in HTML) and checks the
answer is a 4xx with an OperationOutcome (FHIR) or an RFC 9457 problem (API), and that
nothing was stored or audited.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert
from reverie.measures.models import Administration, Draft
from reverie.outbox.models import Message
from reverie.testing import World

BASE = "http://127.0.0.1:8000/fhir"
PHQ9 = f"{BASE}/Questionnaire/phq-9"
FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"


def _token(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _qr(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": PHQ9,
        "subject": {"reference": f"Patient/{world.client.pk}"},
        "authored": "2026-11-20T09:30:00Z",
        "item": [
            {
                "linkId": f"phq9-{n}",
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": FREQUENCY[1]}}],
            }
            for n in range(1, 10)
        ],
        **extra,
    }


def _state() -> tuple[int, int, int, int, int]:
    return (
        Administration.objects.count(),
        Draft.objects.count(),
        AuditEntry.objects.count(),
        Alert.objects.count(),
        Message.objects.count(),
    )


def _outcome(response, status: int) -> dict[str, Any]:
    """The OperationOutcome of a FHIR error answer with the expected status."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body


def _problem(response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem document of an API error answer with the expected status."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith(PROBLEM_JSON)
    body = json.loads(response.content)
    assert body["status"] == status and body["title"]
    return body


def _post_fhir(client: Client, raw: bytes | str, headers: dict[str, str]):
    return client.post("/fhir/QuestionnaireResponse", raw, content_type=FHIR_JSON, **headers)


# --- the body as a whole ----------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 5_000, 200_000])
def test_deeply_nested_json_is_refused_as_fhir(client, world: World, depth: int) -> None:
    headers = _token(world, "therapist")
    before = _state()
    body = json.dumps(_qr(world))[:-1] + ', "contained": ' + _nested(depth) + "}"
    outcome = _outcome(_post_fhir(client, body, headers), 400)
    assert "nested" in outcome["issue"][0]["diagnostics"]
    assert _state() == before


@pytest.mark.parametrize("depth", [65, 200_000])
def test_deeply_nested_json_is_refused_by_the_api(
    client, world: World, make_request, depth: int
) -> None:
    request = make_request()
    headers = _token(world, "client")
    before = _state()
    body = '{"answers": {}, "key": ' + _nested(depth) + "}"
    response = client.post(
        f"/api/v1/measures/requests/{request.pk}/submit",
        body,
        content_type="application/json",
        **headers,
    )
    assert "nested" in _problem(response, 400)["detail"]
    assert _state() == before


def test_an_integer_of_5000_digits_is_refused(client, world: World, make_request) -> None:
    request = make_request()
    therapist, client_token = _token(world, "therapist"), _token(world, "client")
    before = _state()
    huge = "9" * 5_000
    fhir = json.dumps(_qr(world))[:-1] + f', "id": {huge}}}'
    outcome = _outcome(_post_fhir(client, fhir, therapist), 400)
    assert "digits" in outcome["issue"][0]["diagnostics"]
    api = client.post(
        f"/api/v1/measures/requests/{request.pk}/draft",
        '{"answers": {"phq9-1": ' + huge + "}}",
        content_type="application/json",
        **client_token,
    )
    assert "digits" in _problem(api, 400)["detail"]
    assert _state() == before


def test_a_member_named_twice_is_refused_not_silently_resolved(
    client, world: World, make_request
) -> None:
    """RFC 8259 §4 leaves duplicate names to the receiver; for an answer, taking the first
    or the last changes the score, so both paths refuse the body and store nothing."""
    request = make_request()
    therapist, client_token = _token(world, "therapist"), _token(world, "client")
    before = _state()
    item = '{"linkId": "phq9-9", "answer": [{"valueInteger": 0}], "answer": [{"valueInteger": 3}]}'
    fhir = json.dumps({**_qr(world), "item": "@"}).replace('"@"', "[" + item + "]")
    outcome = _outcome(_post_fhir(client, fhir, therapist), 400)
    assert '"answer" appears twice' in outcome["issue"][0]["diagnostics"]
    api = client.post(
        f"/api/v1/measures/requests/{request.pk}/submit",
        '{"answers": {"phq9-9": 0, "phq9-9": 3}}',
        content_type="application/json",
        **client_token,
    )
    assert '"phq9-9" appears twice' in _problem(api, 400)["detail"]
    assert _state() == before


def test_a_body_over_the_limit_gets_413_not_an_html_400(
    client, world: World, make_request, settings
) -> None:
    request = make_request()
    therapist, client_token = _token(world, "therapist"), _token(world, "client")
    before = _state()
    # Past Django's own DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which used to answer an HTML 400.
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    fhir = json.dumps(_qr(world, text={"status": "generated", "div": padding}))
    _outcome(_post_fhir(client, fhir, therapist), 413)
    api = client.post(
        f"/api/v1/measures/requests/{request.pk}/submit",
        json.dumps({"answers": {}, "key": padding}),
        content_type="application/json",
        **client_token,
    )
    _problem(api, 413)
    assert _state() == before


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"resourceType": "Questionnaire\xff\xfeResponse"}', "UTF-8"),
        (b"[1, 2, 3]", "object"),
        (b'"QuestionnaireResponse"', "object"),
        (b"null", "object"),
        (b" \n", "empty"),
        (b'{"resourceType": NaN}', "NaN"),
        (b'{"resourceType": "\\ud800"}', "surrogate"),
        (b'{"resourceType": "a\\u0000b"}', "U+0000"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    client, world: World, make_request, raw: bytes, words: str
) -> None:
    request = make_request()
    therapist, client_token = _token(world, "therapist"), _token(world, "client")
    before = _state()
    fhir = _outcome(_post_fhir(client, raw, therapist), 400)
    assert words in fhir["issue"][0]["diagnostics"]
    api = client.post(
        f"/api/v1/measures/requests/{request.pk}/submit",
        raw,
        content_type="application/json",
        **client_token,
    )
    assert words in _problem(api, 400)["detail"]
    assert _state() == before


def test_a_lone_surrogate_in_a_draft_key_is_refused(client, world: World, make_request) -> None:
    # The key is stored; PostgreSQL and the UTF-8 encoder both refuse a lone surrogate.
    request = make_request()
    headers = _token(world, "client")
    before = _state()
    response = client.post(
        f"/api/v1/measures/requests/{request.pk}/draft",
        '{"answers": {"phq9-1": 1}, "key": "\\udfff"}',
        content_type="application/json",
        **headers,
    )
    _problem(response, 400)
    assert _state() == before


# --- QuestionnaireResponse contents -----------------------------------------------------------


def test_answer_groups_nested_900_deep_are_refused(client, world: World) -> None:
    body = _qr(world)
    group: dict[str, Any] = {"linkId": "g", "item": []}
    body["item"].append(group)
    for _ in range(900):
        child: dict[str, Any] = {"linkId": "g", "item": []}
        group["item"].append(child)
        group = child
    headers = _token(world, "therapist")
    before = _state()
    # json.dumps itself would recurse too deep, so the body is written by hand.
    text = json.dumps({k: v for k, v in body.items() if k != "item"})[:-1]
    items = json.dumps(body["item"][:-1])[:-1]
    nested = '{"linkId": "g", "item": [' * 901 + "]}" * 901
    raw = text + ', "item": ' + items + ", " + nested + "]}"
    _outcome(_post_fhir(client, raw, headers), 400)
    assert _state() == before


@pytest.mark.parametrize(
    "authored", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01"]
)
def test_an_authored_date_out_of_range_is_a_400(client, world: World, authored: str) -> None:
    headers = _token(world, "therapist")
    before = _state()
    response = _post_fhir(client, json.dumps(_qr(world, authored=authored)), headers)
    outcome = _outcome(response, 400)
    assert outcome["issue"][0]["expression"] == ["QuestionnaireResponse.authored"]
    assert _state() == before


@pytest.mark.parametrize(
    "system", ["urn:my practice", "http://example.org/ids with space", "no-scheme", ""]
)
def test_an_identifier_system_must_be_an_absolute_uri(client, world: World, system: str) -> None:
    headers = _token(world, "therapist")
    before = _state()
    body = _qr(world, identifier={"system": system, "value": "abc-1"})
    outcome = _outcome(_post_fhir(client, json.dumps(body), headers), 400)
    assert "system" in outcome["issue"][0]["diagnostics"]
    assert _state() == before


@pytest.mark.parametrize(
    "reference", ["Patient/99999999999999999999999", "Patient/²", "Patient/9223372036854775808"]
)
def test_a_subject_id_beyond_64_bits_is_not_a_patient(client, world: World, reference: str) -> None:
    headers = _token(world, "therapist")
    before = _state()
    body = _qr(world, subject={"reference": reference})
    _outcome(_post_fhir(client, json.dumps(body), headers), 422)
    assert _state() == before


# --- ids in URLs -------------------------------------------------------------------------------

HUGE = "99999999999999999999999"
JUST_OVER = str(2**63)


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/QuestionnaireResponse/{HUGE}",
        f"/fhir/QuestionnaireResponse/{JUST_OVER}",
        f"/fhir/Patient/{HUGE}",
        f"/fhir/Patient/{JUST_OVER}/$everything",
        f"/fhir/Observation/{HUGE}-total",
        "/fhir/Observation/²-total",
        f"/fhir/Observation?subject=Patient/{HUGE}",
        "/fhir/Observation?subject=Patient/²",
        "/fhir/Patient/abc",
        "/fhir/NoSuchResource",
    ],
)
def test_fhir_ids_beyond_64_bits_or_not_numbers_are_404_outcomes(
    client, world: World, path: str
) -> None:
    response = client.get(path, **_token(world, "therapist"))
    status = 400 if "?" in path else 404
    _outcome(response, status)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/administrations/{HUGE}",
        f"/api/v1/administrations/{JUST_OVER}",
        f"/api/v1/measures/requests/{HUGE}",
        f"/api/v1/clients/{JUST_OVER}/administrations",
        f"/api/v1/episodes/{HUGE}/schedule",
        "/api/v1/administrations/abc",
        "/api/v1/administrations/-1",
        "/api/v1/no-such-route",
    ],
)
def test_api_ids_beyond_64_bits_or_not_numbers_are_json_404s(
    client, world: World, path: str
) -> None:
    _problem(client.get(path, **_token(world, "therapist")), 404)


def test_the_largest_64_bit_id_is_an_ordinary_404(client, world: World) -> None:
    largest = str(2**63 - 1)
    _problem(client.get(f"/api/v1/administrations/{largest}", **_token(world, "therapist")), 404)
    _outcome(client.get(f"/fhir/Patient/{largest}", **_token(world, "therapist")), 404)


# --- the OpenAPI document ---------------------------------------------------------------------


def test_the_openapi_document_lists_the_answers_the_api_really_gives(client, db) -> None:
    """It used to leave out the 403, 404 and 415 answers (and 405 and 413 did not exist)."""
    doc = client.get("/api/v1/openapi.json").json()
    ops = {
        (path, method): set(op["responses"])
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert {"401", "403", "404", "405"} <= ops[("/api/v1/administrations/{pk}", "get")]
    assert {"400", "401", "403", "404", "405", "409", "413", "415"} <= ops[
        ("/api/v1/measures/requests/{pk}/submit", "post")
    ]
    assert {"400", "413", "415"} <= ops[("/api/v1/episodes/{pk}/schedule", "post")]
    # Only the routes some role may not call say 403; every authenticated one says 401.
    assert "403" not in ops[("/api/v1/me", "get")]
    assert "401" not in ops[("/api/v1/openapi.json", "get")]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    media = answer["content"]["application/problem+json"]
                    assert media["schema"]["$ref"] == "#/components/schemas/Problem", path
            if "{pk}" in path:
                (param,) = (p for p in op["parameters"] if p["name"] == "pk")
                assert param["schema"]["maximum"] == 2**63 - 1, (path, method)
