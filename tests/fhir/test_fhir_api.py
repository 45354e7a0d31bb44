"""The FHIR R4 API, read back with a real R4 client library (fhirclient)."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from fhirclient.models.bundle import Bundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation
from fhirclient.models.operationoutcome import OperationOutcome
from fhirclient.models.patient import Patient
from fhirclient.models.questionnaireresponse import QuestionnaireResponse

from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Alert
from reverie.fhir import everything
from reverie.measures import actions
from reverie.measures.models import Administration, Instrument
from reverie.outbox.models import Message
from reverie.process import actions as process_actions
from reverie.testing import World, phq9_response

BASE = "http://127.0.0.1:8000/fhir"
PHQ9 = f"{BASE}/Questionnaire/phq-9"
DATA = Path(__file__).resolve().parents[1] / "measures" / "data"


def _token(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _qr(world: World, values: list[int], **extra: Any) -> dict[str, Any]:
    return phq9_response(world.client.pk, values, **{"authored": "2026-11-20T09:30:00Z", **extra})


def _post(client, body: Any, headers: dict[str, str], content_type: str = "application/fhir+json"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/fhir/QuestionnaireResponse", data, content_type=content_type, **headers)


def _state() -> tuple[int, int, int, int]:
    return (
        Administration.objects.count(),
        AuditEntry.objects.count(),
        Alert.objects.count(),
        Message.objects.count(),  # queued mail
    )


def test_metadata_is_a_capability_statement(client, db) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    statement = CapabilityStatement(response.json())
    assert statement.fhirVersion == "4.0.1"
    types = {r.type for r in statement.rest[0].resource}
    assert types == {"Patient", "Group", "Questionnaire", "QuestionnaireResponse", "Observation"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"url={PHQ9}", ["phq-9"]),
        ("code=http://loinc.org|69737-5", ["gad-7"]),
        ("code=44249-1", ["phq-9"]),
        ("name=anxiety", ["gad-7"]),
        ("name=phq", ["phq-9"]),
        ("", ["core-10", "core-om", "gad-7", "phq-9", "sparq"]),
        ("name=routine", ["core-10", "core-om"]),
        ("code=00000-0", []),
    ],
)
def test_questionnaire_search_by_url_code_and_name(client, world: World, query, expected) -> None:
    response = client.get(f"/fhir/Questionnaire?{query}", **_token(world, "therapist"))
    bundle = Bundle(response.json())
    assert sorted(e.resource.id for e in bundle.entry or []) == expected


def test_questionnaire_items_carry_loinc_codes(client, world: World) -> None:
    body = client.get("/fhir/Questionnaire/phq-9", **_token(world, "client")).json()
    item9 = next(i for i in body["item"] if i["linkId"] == "phq9-9")
    assert item9["code"] == [{"system": "http://loinc.org", "code": "44260-8"}]
    assert body["url"] == PHQ9


def test_submitting_a_response_stores_scores_audits_and_returns_it(client, world: World) -> None:
    headers = _token(world, "therapist")
    before = AuditEntry.objects.count()
    response = _post(client, _qr(world, [2, 2, 1, 1, 1, 0, 0, 0, 0]), headers)
    assert response.status_code == 201
    stored = QuestionnaireResponse(response.json())
    row = Administration.objects.get(pk=int(stored.id))
    assert response["Location"] == f"{BASE}/QuestionnaireResponse/{row.pk}"
    assert (row.total, row.band, row.source, row.client) == (7, "Mild", "fhir", world.client)
    assert row.completed_at.isoformat().startswith("2026-11-20T09:30")
    total_item = next(i for i in stored.item if i.linkId == "total-score")
    assert total_item.answer[0].valueInteger == 7
    entries = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.action, e.object_type, e.object_id, e.actor_id) for e in entries] == [
        ("create", "measures.administration", str(row.pk), world.therapist.pk)
    ]
    read = client.get(f"/fhir/QuestionnaireResponse/{row.pk}", **headers)
    assert QuestionnaireResponse(read.json()).id == str(row.pk)
    assert AuditEntry.objects.order_by("-seq")[0].detail == {"view": "fhir.read"}


def test_total_score_observation_has_loinc_value_integer_derived_from_and_survey(
    client, world: World
) -> None:
    headers = _token(world, "therapist")
    # The world's scores lie 70, 42 and 14 days back; this one is newer than all of them
    # whatever day the suite runs.
    authored = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    body = _qr(world, [3, 3, 3, 3, 3, 0, 0, 0, 0], authored=authored)
    created = _post(client, body, headers).json()
    url = f"/fhir/Observation?subject=Patient/{world.client.pk}&code=44261-6&_sort=date"
    bundle = Bundle(client.get(url, **headers).json())
    observations = [Observation(e.resource.as_json()) for e in bundle.entry]
    assert [o.valueInteger for o in observations] == [17, 14, 11, 15]
    newest = observations[-1]
    assert newest.code.coding[0].system == "http://loinc.org"
    assert newest.code.coding[0].code == "44261-6"
    assert newest.category[0].coding[0].code == "survey"
    assert newest.derivedFrom[0].reference == f"QuestionnaireResponse/{created['id']}"
    assert newest.subject.reference == f"Patient/{world.client.pk}"
    descending = client.get(url.replace("_sort=date", "_sort=-date"), **headers).json()
    assert [e["resource"]["valueInteger"] for e in descending["entry"]] == [15, 11, 14, 17]
    gad = client.get(
        f"/fhir/Observation?subject=Patient/{world.client.pk}&code=70274-6", **headers
    ).json()
    assert gad["total"] == 0
    read = client.get(f"/fhir/Observation/{created['id']}-total", **headers)
    assert Observation(read.json()).valueInteger == 15


def test_a_retried_response_with_the_same_identifier_is_stored_once(client, world: World) -> None:
    headers = _token(world, "therapist")
    body = _qr(world, [1] * 9, identifier={"system": "urn:example:device", "value": "abc-1"})
    first = _post(client, body, headers)
    second = _post(client, body, headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["identifier"] == {"system": "urn:example:device", "value": "abc-1"}
    assert Administration.objects.filter(source="fhir").count() == 1
    changed = dict(body, item=_qr(world, [2] * 9)["item"])
    conflict = _post(client, changed, headers)
    assert conflict.status_code == 409
    assert Administration.objects.filter(source="fhir").count() == 1


@pytest.mark.parametrize("prefer", [None, "return=representation", 'return="representation"'])
def test_a_create_answers_with_the_stored_resource_by_default_or_when_asked(
    client, world: World, prefer: str | None
) -> None:
    headers = _token(world, "therapist")
    if prefer:
        headers["HTTP_PREFER"] = prefer
    response = _post(client, _qr(world, [1] * 9), headers)
    stored = QuestionnaireResponse(response.json())
    assert response.status_code == 201
    assert response["Location"].endswith(f"/QuestionnaireResponse/{stored.id}")
    assert stored.id == str(Administration.objects.get(source="fhir").pk)
    if prefer:
        assert response["Preference-Applied"] == "return=representation"
    else:
        assert "Preference-Applied" not in response


def test_return_minimal_stores_the_same_and_answers_with_headers_only(
    client, world: World, django_capture_on_commit_callbacks
) -> None:
    headers = {**_token(world, "client"), "HTTP_PREFER": "return=minimal"}
    before = _state()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, _qr(world, [0] * 8 + [2]), headers)
    row = Administration.objects.get(source="fhir")
    assert response.status_code == 201 and response.content == b""
    assert response["Location"] == f"{BASE}/QuestionnaireResponse/{row.pk}"
    assert response["ETag"] == 'W/"1"'
    assert response["Preference-Applied"] == "return=minimal"
    # Nothing about a crisis is given up by asking for less: the alert, its email and the
    # header all happen as for a full answer.
    assert response["X-Reverie-Crisis"] == "alert-raised"
    assert Alert.objects.get(kind="crisis").source_id == str(row.pk)
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    after = _state()
    assert (after[0] - before[0], after[2] - before[2]) == (1, 1)
    # What is stored is what a full answer would have shown.
    read = client.get(f"/fhir/QuestionnaireResponse/{row.pk}", **headers)
    assert read.status_code == 200 and read.json()["id"] == str(row.pk)


def test_return_operation_outcome_reports_what_was_stored_and_a_retry(client, world: World) -> None:
    headers = {**_token(world, "therapist"), "HTTP_PREFER": "return=OperationOutcome"}
    body = _qr(world, [1] * 9, identifier={"system": "urn:example:device", "value": "oo-1"})
    first, retry = _post(client, body, headers), _post(client, body, headers)
    row = Administration.objects.get(source="fhir")
    assert (first.status_code, retry.status_code) == (201, 200)
    for response in first, retry:
        assert response["Preference-Applied"] == "return=OperationOutcome"
        assert response["Location"].endswith(f"/QuestionnaireResponse/{row.pk}")
        issue = _outcome(response).issue[0]
        assert (issue.severity, issue.code) == ("information", "informational")
        assert f"QuestionnaireResponse/{row.pk}" in issue.diagnostics
    assert "already stored" in _outcome(retry).issue[0].diagnostics
    # An error is an error OperationOutcome whatever was preferred.
    refused = _post(client, dict(body, status="in-progress"), headers)
    assert refused.status_code == 422 and _outcome(refused).issue[0].severity == "error"
    assert "Preference-Applied" not in refused


def test_an_unknown_preference_is_ignored(client, world: World) -> None:
    headers = {**_token(world, "therapist"), "HTTP_PREFER": "return=everything, handling=strict"}
    response = _post(client, _qr(world, [1] * 9), headers)
    assert response.status_code == 201 and QuestionnaireResponse(response.json()).id
    assert "Preference-Applied" not in response


def test_a_crisis_item_alerts_the_therapist_by_email(
    client, world: World, django_capture_on_commit_callbacks
) -> None:
    headers = _token(world, "client")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # sent once the submission commits
        response = _post(client, _qr(world, [0] * 8 + [1]), headers)
    assert response.status_code == 201 and response["X-Reverie-Crisis"] == "alert-raised"
    alert = Alert.objects.get(kind="crisis")
    assert alert.source_id == response.json()["id"]
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]


def _outcome(response) -> OperationOutcome:
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    return OperationOutcome(response.json())


@pytest.mark.parametrize(
    ("name", "change", "status", "fragment"),
    [
        ("unknown questionnaire", {"questionnaire": f"{BASE}/Questionnaire/nope"}, 422, "Unknown"),
        ("foreign questionnaire", {"questionnaire": "http://loinc.org/q/44249-1"}, 422, "Unknown"),
        ("missing answer", {"drop": "phq9-4"}, 422, "Question 4 has no answer"),
        ("out of range", {"code": "LA9999-9"}, 422, "is not an option"),
        ("wrong patient", {"subject": "other"}, 422, "is not a patient you can submit for"),
        ("stranger's patient", {"subject": "stranger"}, 422, "is not a patient you can submit for"),
        (
            "no such patient",
            {"subject": "Patient/999999"},
            422,
            "is not a patient you can submit for",
        ),
        ("in progress", {"status": "in-progress"}, 422, "Only completed"),
        ("unknown element", {"colour": "blue"}, 400, "Unknown QuestionnaireResponse element"),
        ("not a QR", {"resourceType": "Patient"}, 400, "Expected a QuestionnaireResponse"),
        ("future", {"authored": "2999-01-01T00:00:00Z"}, 422, "future"),
        ("unknown item", {"extra_item": True}, 422, "is not an item of 'phq-9'"),
        ("identifier not an object", {"identifier": "abc"}, 400, "must be an Identifier"),
        (
            "identifier system not a string",
            {"identifier": {"system": 5, "value": "a"}},
            400,
            "identifier is not a valid Identifier (system",
        ),
        (
            "identifier with a bad period",
            {"identifier": {"value": "a", "period": {"start": "last week"}}},
            400,
            "identifier is not a valid Identifier (period.start",
        ),
    ],
)
def test_bad_responses_get_an_operation_outcome_and_nothing_is_stored(
    client, world: World, name, change, status, fragment
) -> None:
    headers = _token(world, "therapist")
    body = _qr(world, [1] * 9)
    if "drop" in change:
        body["item"] = [i for i in body["item"] if i["linkId"] != change["drop"]]
    elif "code" in change:
        body["item"][0]["answer"][0]["valueCoding"]["code"] = change["code"]
    elif change.get("subject") == "other":
        body["subject"] = {"reference": f"Patient/{world.other_client.pk}"}
    elif change.get("subject") == "stranger":
        body["subject"] = {"reference": f"Patient/{world.stranger_client.pk}"}
    elif "subject" in change:
        body["subject"] = {"reference": change["subject"]}
    elif "extra_item" in change:
        body["item"].append({"linkId": "q99", "answer": [{"valueInteger": 1}]})
    else:
        body.update(change)
    before = _state()
    response = _post(client, body, headers)
    assert response.status_code == status, name
    outcome = _outcome(response)
    assert fragment in outcome.issue[0].diagnostics, outcome.issue[0].diagnostics
    assert _state() == before


def test_malformed_json_and_wrong_content_type_are_refused(client, world: World) -> None:
    headers = _token(world, "therapist")
    before = _state()
    malformed = _post(client, "{not json", headers)
    assert malformed.status_code == 400 and _outcome(malformed).issue[0].code == "structure"
    wrong = _post(client, json.dumps(_qr(world, [1] * 9)), headers, content_type="text/plain")
    assert wrong.status_code == 415 and _outcome(wrong).issue[0].code == "not-supported"
    assert _state() == before


def test_access_follows_the_care_rules(client, world: World) -> None:
    admin_row = world.episode.administrations.first()
    assert admin_row is not None
    patient = f"/fhir/Patient/{world.client.pk}"
    for persona, status in (
        ("therapist", 200),
        ("client", 200),
        ("admin", 200),
        ("colleague", 404),
        ("stranger", 404),
        ("other_client", 404),
    ):
        response = client.get(patient, **_token(world, persona))
        assert response.status_code == status, persona
    assert Patient(client.get(patient, **_token(world, "admin")).json()).name[0].family == "Client"
    qr = f"/fhir/QuestionnaireResponse/{admin_row.pk}"
    assert client.get(qr, **_token(world, "admin")).status_code == 403
    assert client.get(qr, **_token(world, "colleague")).status_code == 404
    assert client.get(qr).status_code == 401
    posted = _post(client, _qr(world, [0] * 9), _token(world, "admin"))
    assert posted.status_code == 403


def test_everything_bundle_has_the_record_and_never_process_notes(client, world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    secret = "PRIVATE-REFLECTION-7f3a"
    process_actions.save_process_note(ctx, episode=world.episode, text=secret)
    note = care_actions.save_progress_note(
        ctx,
        episode=world.episode,
        fields={"session_date": timezone.localdate(), "plan": "Continue weekly."},
    )
    care_actions.sign_progress_note(ctx, note)
    response = client.get(
        f"/fhir/Patient/{world.client.pk}/$everything", **_token(world, "therapist")
    )
    assert response.status_code == 200
    raw = response.content.decode()
    assert secret not in raw and "process" not in raw.lower()
    bundle = Bundle(response.json())
    kinds = [e.resource.resource_type for e in bundle.entry]
    assert kinds[0] == "Patient"
    assert {"EpisodeOfCare", "Encounter", "Questionnaire", "QuestionnaireResponse"} <= set(kinds)
    assert kinds.count("Observation") == 3 and kinds.count("DocumentReference") == 1
    document = next(
        e.resource for e in bundle.entry if e.resource.resource_type == "DocumentReference"
    )
    text = base64.b64decode(document.content[0].attachment.data).decode()
    assert "Continue weekly." in text and secret not in text
    entry = AuditEntry.objects.order_by("-seq")[0]
    assert (entry.action, entry.client_id) == ("export", world.client.pk)
    assert entry.detail["resources"]["Observation"] == 3


def test_the_export_collector_cannot_reach_process_notes() -> None:
    names = [name for name, _ in everything.SECTIONS]
    assert "ProcessNote" not in names
    source = Path(everything.__file__).read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    assert "ProcessNote" not in code.split('"""', 2)[2]


def test_a_response_to_an_imported_sdc_questionnaire_is_scored(client, world: World) -> None:
    questionnaire = json.loads((DATA / "phq9-sdc-valueset.json").read_text())
    instrument = actions.import_instrument(
        trail.Context(user=world.admin),
        practice=world.practice,
        questionnaire=questionnaire,
        licence_holder="Pfizer Inc.",
        licence_terms="No permission required to reproduce, translate, display or distribute.",
        permits_electronic_use=True,
    )
    found = client.get(
        f"/fhir/Questionnaire?url={BASE}/Questionnaire/{instrument.code}",
        **_token(world, "therapist"),
    ).json()
    assert found["total"] == 1
    canonical = found["entry"][0]["resource"]["url"]
    link_ids = [i["id"] for i in instrument.definition["items"] if i.get("scored", True)]
    body = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": canonical,
        "subject": {"reference": f"Patient/{world.client.pk}"},
        "item": [
            {
                "linkId": link_id,
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6570-1"}}],
            }
            for link_id in link_ids
        ],
    }
    response = _post(client, body, _token(world, "therapist"))
    assert response.status_code == 201, response.content
    row = Administration.objects.get(pk=int(response.json()["id"]))
    assert row.instrument == instrument and row.total == 2 * len(link_ids)
    stranger = _post(client, body, _token(world, "stranger"))
    assert stranger.status_code == 422
    assert Instrument.objects.filter(practice=world.practice).count() == 1
