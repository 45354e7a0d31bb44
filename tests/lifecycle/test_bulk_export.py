"""FHIR Bulk Data $export: kick-off, status, manifest, NDJSON files (each line parsed and
validated with the fhir.resources R4B models), scope, de-identification, cancel, expiry."""

from __future__ import annotations

import datetime
import json
import stat
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from lifecycle_data import ADDENDUM_TEXT, NOTE_TEXT, FullRecord
from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.care.models import Attendance, Client, Episode, Modality
from reverie.lifecycle import bulk, exports
from reverie.lifecycle.models import BulkExport, ExportStatus
from reverie.testing import World

pytestmark = pytest.mark.django_db

ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


def _auth(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _kick_off(http: HttpClient, url: str, auth: dict[str, str]) -> str:
    response = http.get(url, **ASYNC, **auth)
    assert response.status_code == 202, response.content
    return response["Content-Location"]


def _path(url: str) -> str:
    return urlsplit(url).path


def _run_worker() -> None:
    bulk.process_queued("test", max_exports=5)


def _export(
    http: HttpClient, world: World, persona: str, url: str
) -> dict[str, list[dict[str, Any]]]:
    """Kick off, run the worker, read the manifest and every file; every line is parsed
    and validated with the fhir.resources model of its type."""
    auth = _auth(world, persona)
    status_url = _kick_off(http, url, auth)
    pending = http.get(_path(status_url), **auth)
    assert pending.status_code == 202
    assert pending["X-Progress"]
    _run_worker()
    done = http.get(_path(status_url), **auth)
    assert done.status_code == 200, done.content
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(url)
    assert manifest["error"] == []
    datetime.datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00"))
    files: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["output"]:
        response = http.get(_path(item["url"]), **auth)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == item["count"]
        model = get_fhir_model_class(item["type"])
        parsed = []
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == item["type"]
            model.model_validate(resource)  # raises on anything R4B refuses
            parsed.append(resource)
        files[item["type"]] = parsed
    return files


def _texts(value: Any, skip: tuple[str, ...]) -> list[str]:
    """Every ``text`` element, except under a coded score's ``code``/``interpretation``
    (the instrument's and band's names)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "text" and isinstance(inner, str):
                found.append(inner)
            elif key not in skip:
                found.extend(_texts(inner, skip))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_texts(inner, skip))
    return found


def _ids(files: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {p["id"] for p in files.get("Patient", [])}


def test_therapist_group_export_has_only_their_clients_and_validates(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(client, world, "therapist", f"/fhir/Group/{world.therapist.pk}/$export")
    assert _ids(files) == {str(world.client.pk)}
    assert set(files) >= {"Patient", "EpisodeOfCare", "Encounter", "QuestionnaireResponse"}
    assert {"Observation", "DocumentReference"} <= set(files)
    subjects = {
        r.get("subject", r.get("patient", {})).get("reference")
        for kind, rows in files.items()
        if kind != "Patient"
        for r in rows
    }
    assert subjects == {f"Patient/{world.client.pk}"}
    episodes = {str(e.pk) for e in Episode.objects.filter(client=world.client)}
    assert {r["id"] for r in files["EpisodeOfCare"]} == episodes
    # The identified export carries the signed progress note; the file is private.
    text = json.dumps(files["DocumentReference"])
    assert "DocumentReference" in text
    export = BulkExport.objects.get()
    folder = exports.folder_of(BulkExport) / export.file_name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for entry in folder.iterdir():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_the_export_writes_what_the_builders_make_from_model_instances(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    # The export reads plain rows (values_list) for speed; the resources must be exactly
    # those the shared builders make from the models, identified and de-identified.
    from reverie.care.models import Appointment
    from reverie.fhir import resources
    from reverie.measures.models import Administration

    clients = Client.objects.filter(pk=world.client.pk)
    # A paper form typed in by the therapist: the response names who entered it.
    paper = Administration.objects.filter(client=world.client).order_by("pk").first()
    assert paper is not None
    paper.pk = None
    paper.idempotency_key = None
    paper.request = None
    paper.source = "paper"
    paper.entered_by = world.therapist
    paper.save()
    episodes = Episode.objects.filter(client__in=clients).select_related("therapist")
    administrations = Administration.objects.filter(client__in=clients).select_related(
        "instrument", "entered_by"
    )
    expected: dict[str, list[dict[str, Any]]] = {
        "Patient": [resources.patient(c) for c in clients],
        "EpisodeOfCare": [resources.episode_of_care(e) for e in episodes.order_by("pk")],
        "Encounter": [
            resources.encounter(a)
            for a in Appointment.objects.filter(episode__client__in=clients)
            .select_related("episode")
            .order_by("pk")
        ],
        "QuestionnaireResponse": [
            resources.questionnaire_response(a) for a in administrations.order_by("pk")
        ],
        "Observation": [
            o for a in administrations.order_by("pk") for o in resources.observations(a)
        ],
    }
    assert all(expected.values())  # the record has rows of every type compared
    assert any(a.entered_by_id for a in administrations)  # a paper form typed in by staff
    files = _export(client, world, "therapist", f"/fhir/Group/{world.therapist.pk}/$export")
    for kind, made in expected.items():
        assert files[kind] == made, kind
    deid = bulk.Deidentifier()
    BulkExport.objects.all().delete()
    files = _export(
        client, world, "therapist", f"/fhir/Group/{world.therapist.pk}/$export?_deidentify=true"
    )
    for kind, made in expected.items():
        assert files[kind] == [deid.apply(r) for r in made], kind


def test_patient_export_of_a_client_is_their_own_record(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(client, world, "client", "/fhir/Patient/$export")
    assert _ids(files) == {str(world.client.pk)}


def test_admin_system_export_is_administrative_unless_deidentified(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(client, world, "admin", "/fhir/$export")
    practice = set(
        Client.objects.filter(practice=world.admin.practice).values_list("pk", flat=True)
    )
    assert _ids(files) == {str(pk) for pk in practice}
    assert set(files) <= {"Patient", "EpisodeOfCare", "Encounter"}
    # Asking for scores identified is refused; de-identified they come.
    refused = client.get("/fhir/$export?_type=Observation", **ASYNC, **_auth(world, "admin"))
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    files = _export(client, world, "admin", "/fhir/$export?_deidentify=true")
    assert "Observation" in files and "DocumentReference" not in files


def test_deidentified_export_has_no_names_contacts_identifiers_or_text(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(client, world, "therapist", "/fhir/Patient/$export?_deidentify=true")
    assert "DocumentReference" not in files
    everything = "\n".join(
        json.dumps(r, ensure_ascii=False) for rows in files.values() for r in rows
    )
    clients = list(Client.objects.all())
    for c in clients:
        for value in (c.given_name, c.family_name, c.preferred_name, c.email, c.phone):
            if value:
                assert value not in everything, value
    for value in (NOTE_TEXT, ADDENDUM_TEXT, world.therapist.display_name):
        assert value not in everything
    assert "identifier" not in everything and "telecom" not in everything
    for patient in files["Patient"]:
        assert set(patient) <= {"resourceType", "id", "meta", "active", "birthDate"}
    # Every remaining text is a label of Reverie's own vocabulary, never something written.
    vocabulary = {label for _, label in Modality.choices} | {
        f"Psychotherapy session ({label.lower()})" for _, label in Attendance.choices
    }
    for kind, rows in files.items():
        for r in rows:
            for text in _texts(r, skip=("code", "interpretation")):
                assert text in vocabulary, (kind, text)
    # Pseudonyms: no real id, and consistent across files.
    patients = {p["id"] for p in files["Patient"]}
    assert str(world.client.pk) not in patients and len(patients) == 1
    for rows in files.values():
        for r in rows:
            assert r["meta"]["security"][0]["code"] == "PSEUDED"
            ref = r.get("subject", r.get("patient"))
            if ref:
                assert ref["reference"].removeprefix("Patient/") in patients
    responses = {r["id"] for r in files["QuestionnaireResponse"]}
    for observation in files["Observation"]:
        assert (
            observation["derivedFrom"][0]["reference"].removeprefix("QuestionnaireResponse/")
            in responses
        )
    # Dates move by the same whole number of days for every date of the client.
    episode = Episode.objects.filter(client=world.client).order_by("pk").first()
    assert episode is not None
    pseudo = bulk.Deidentifier().pseudonym("EpisodeOfCare", str(episode.pk))
    shifted = next(e for e in files["EpisodeOfCare"] if e["id"] == pseudo)
    shift = datetime.date.fromisoformat(shifted["period"]["start"]) - episode.start_date
    assert shift.days != 0 and abs(shift.days) <= bulk.MAX_SHIFT_DAYS
    assert bulk.Deidentifier().shift_of(f"Patient/{world.client.pk}") == shift
    # The same export again gives the same pseudonyms (stable, not per export).
    again = _export(client, world, "therapist", "/fhir/Patient/$export?_deidentify=true")
    assert {p["id"] for p in again["Patient"]} == patients


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("_outputFormat=application/fhir+json", 400, "not-supported"),
        ("_outputFormat=text/csv", 400, "not-supported"),
        ("_type=Practitioner", 400, "not-supported"),
        ("_type=Patient,Bogus", 400, "not-supported"),
        ("_since=yesterday", 400, "value"),
        ("_since=2026-13-01T00:00:00Z", 400, "value"),
        ("_since=2026-01-01", 400, "value"),
        ("_since=2999-01-01T00:00:00Z", 400, "value"),
        ("_typeFilter=Patient%3Fname%3Dx", 400, "not-supported"),
        ("_elements=id", 400, "not-supported"),
        ("_deidentify=yes", 400, "value"),
        ("foo=bar", 400, "not-supported"),
        ("_type=Patient&_type=Encounter", 400, "structure"),
    ],
)
def test_bad_parameters_are_refused_with_an_operation_outcome(
    client: HttpClient, world: World, query: str, status: int, code: str
) -> None:
    response = client.get(f"/fhir/Patient/$export?{query}", **ASYNC, **_auth(world, "therapist"))
    assert response.status_code == status
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert not BulkExport.objects.exists()


def test_kick_off_without_respond_async_is_refused(client: HttpClient, world: World) -> None:
    response = client.get("/fhir/Patient/$export", **_auth(world, "therapist"))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not BulkExport.objects.exists()


def test_accepted_parameters_shape_the_export(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(
        client,
        world,
        "therapist",
        "/fhir/Patient/$export?_type=Observation&_outputFormat=ndjson",
    )
    assert set(files) == {"Observation"}
    later = (timezone.now() - datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Everything was received before now: no response is newer than a second from now.
    future = (timezone.now() + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert future > later
    files = _export(
        client,
        world,
        "therapist",
        "/fhir/Patient/$export?_type=QuestionnaireResponse&_since=" + "2000-01-01T00:00:00Z",
    )
    assert files["QuestionnaireResponse"]


def test_strangers_and_other_groups(client: HttpClient, world: World) -> None:
    assert client.get("/fhir/$export", **ASYNC).status_code == 401
    for persona in ("therapist", "client"):
        response = client.get("/fhir/$export", **ASYNC, **_auth(world, persona))
        assert response.status_code == 403
    colleague_group = f"/fhir/Group/{world.colleague.pk}/$export"
    assert client.get(colleague_group, **ASYNC, **_auth(world, "therapist")).status_code == 404
    assert client.get(colleague_group, **ASYNC, **_auth(world, "stranger")).status_code == 404
    assert client.get(colleague_group, **ASYNC, **_auth(world, "admin")).status_code == 202
    # Somebody else's status and files answer 404.
    status_url = _path(_kick_off(client, "/fhir/Patient/$export", _auth(world, "therapist")))
    _run_worker()
    for persona in ("colleague", "stranger", "admin", "client"):
        assert client.get(status_url, **_auth(world, persona)).status_code == 404
        assert (
            client.get(status_url + "/Patient.ndjson", **_auth(world, persona)).status_code == 404
        )
        assert client.delete(status_url, **_auth(world, persona)).status_code == 404
    assert client.get(status_url + "/Patient.ndjson").status_code == 401


def test_stranger_export_sees_nothing_of_this_practice(
    client: HttpClient, world: World, full_record: FullRecord
) -> None:
    files = _export(client, world, "stranger", "/fhir/Patient/$export")
    ours = {
        str(pk)
        for pk in Client.objects.filter(practice=world.admin.practice).values_list("pk", flat=True)
    }
    assert not (_ids(files) & ours)


def test_cancel_before_and_during_the_work(
    client: HttpClient, world: World, full_record: FullRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = _auth(world, "therapist")
    status_url = _path(_kick_off(client, "/fhir/Patient/$export", auth))
    response = client.delete(status_url, **auth)
    assert response.status_code == 202
    assert client.get(status_url, **auth).status_code == 404
    _run_worker()
    assert BulkExport.objects.get().status == ExportStatus.CANCELLED

    # Cancelled while the worker writes: it stops at its next report and removes the folder.
    status_url = _path(_kick_off(client, "/fhir/Patient/$export", auth))
    monkeypatch.setattr(bulk, "CHUNK", 1)
    export = BulkExport.objects.get(status=ExportStatus.QUEUED)
    real = exports.report

    def cancel_then_report(row: Any, done: int, stage: str) -> bool:
        if done == 2:
            client.delete(status_url, **auth)
        return real(row, done, stage)

    monkeypatch.setattr(exports, "report", cancel_then_report)
    _run_worker()
    export.refresh_from_db()
    assert export.status == ExportStatus.CANCELLED
    assert not (exports.folder_of(BulkExport) / export.file_name).exists()
    assert client.get(status_url, **auth).status_code == 404

    # Deleting a finished export deletes its files.
    status_url = _path(_kick_off(client, "/fhir/Patient/$export", auth))
    monkeypatch.setattr(exports, "report", real)
    _run_worker()
    export = BulkExport.objects.get(status=ExportStatus.DONE)
    folder = exports.folder_of(BulkExport) / export.file_name
    assert folder.is_dir()
    assert client.delete(status_url, **auth).status_code == 202
    assert not folder.exists()
    assert client.get(status_url + "/Patient.ndjson", **auth).status_code == 404


def test_expired_files_are_gone(client: HttpClient, world: World, full_record: FullRecord) -> None:
    auth = _auth(world, "therapist")
    status_url = _path(_kick_off(client, "/fhir/Patient/$export", auth))
    _run_worker()
    export = BulkExport.objects.get()
    folder = exports.folder_of(BulkExport) / export.file_name
    assert export.expires_at is not None
    assert export.expires_at - export.finished_at == exports.LIFETIME  # type: ignore[operator]
    # Past its expiry the link answers 410 even before the job has deleted the files.
    BulkExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    assert client.get(status_url + "/Patient.ndjson", **auth).status_code == 410
    assert exports.expire() == [export.pk]
    assert not folder.exists()
    assert client.get(status_url, **auth).status_code == 410
    assert client.get(status_url + "/Patient.ndjson", **auth).status_code == 410


def test_the_export_is_audited(client: HttpClient, world: World, full_record: FullRecord) -> None:
    _export(client, world, "therapist", "/fhir/Patient/$export")
    export = BulkExport.objects.get()
    created = AuditEntry.objects.get(action=Action.CREATE, object_type="lifecycle.bulkexport")
    assert created.actor_id == world.therapist.pk
    read = AuditEntry.objects.get(action=Action.EXPORT, detail__bulk_export=export.pk)
    assert read.actor_id == world.therapist.pk
    assert read.detail["patients"] == [world.client.pk]
    downloads = AuditEntry.objects.filter(
        action=Action.EXPORT, object_type="lifecycle.bulkexport", object_id=str(export.pk)
    )
    assert downloads.count() == len(export.output)


def test_capability_statement_names_the_export_operations(client: HttpClient) -> None:
    body = client.get(reverse("fhir:metadata")).json()
    rest = body["rest"][0]
    assert {
        "name": "export",
        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    } in rest["operation"]
    kinds = {r["type"]: r for r in rest["resource"]}
    assert any(o["name"] == "export" for o in kinds["Group"]["operation"])
    assert any(o["name"] == "export" for o in kinds["Patient"]["operation"])
