"""``GET /fhir/Patient``: US Core Patient search, scoped, paged, audited, read back with
the R4 client library fhirclient."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhirclient.models.bundle import Bundle
from fhirclient.models.operationoutcome import OperationOutcome

from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Client
from reverie.testing import World

SYSTEM = "http://127.0.0.1:8000/fhir/sid/client"


def _token(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def people(world: World) -> dict[str, Client]:
    """A few more clients of the practice, with birth dates, for the admin to search."""
    made = {
        "maria": Client.objects.create(
            practice=world.practice,
            given_name="María",
            family_name="Okafor",
            preferred_name="Mia",
            date_of_birth=datetime.date(1990, 2, 14),
        ),
        "mark": Client.objects.create(
            practice=world.practice,
            given_name="Mark",
            family_name="Okafor-Lee",
            date_of_birth=datetime.date(1990, 3, 1),
        ),
        "ann": Client.objects.create(
            practice=world.practice,
            given_name="Ann",
            family_name="Marsh",
            date_of_birth=datetime.date(1985, 7, 9),
        ),
    }
    world.client.date_of_birth = datetime.date(1990, 1, 31)
    world.client.save(update_fields=["date_of_birth"])
    return made


def _search(client, world: World, query: str, persona: str = "admin") -> dict[str, Any]:
    response = client.get(f"/fhir/Patient?{query}", **_token(world, persona))
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle(body)  # fhirclient raises on anything that is not a valid R4 Bundle
    assert body["type"] == "searchset"
    return body


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(e["resource"]["id"]) for e in body.get("entry", [])]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("family=okafor", ["maria", "mark"]),  # starts with, any case
        ("family:exact=Okafor", ["maria"]),
        ("family:contains=kafor-l", ["mark"]),
        ("given=mi", ["maria"]),  # the preferred name is a given name too
        ("name=mar", ["ann", "maria", "mark"]),  # family Marsh, given María, Mark
        ("name=ann,mark", ["ann", "mark"]),  # a comma is OR
        ("name=mar&birthdate=1990", ["maria", "mark"]),  # parameters AND
        ("birthdate=1990-02-14", ["maria"]),
        ("birthdate=1990-02", ["maria"]),
        ("birthdate=ge1990-02&birthdate=lt1990-03", ["maria"]),
        ("birthdate=gt1990-02", ["mark"]),
        ("birthdate=le1990-01", ["client", "ann"]),  # sorted by family name
        ("birthdate=ne1990", ["ann"]),  # nobody without a birth date matches
        ("family=okafor&_count=1", ["maria"]),
    ],
)
def test_search_parameters(client, world: World, people, query: str, expected: list[str]) -> None:
    everyone = {**people, "client": world.client}
    body = _search(client, world, query)
    assert _ids(body) == [everyone[name].pk for name in expected]


def test_identifier_and_id_find_one_patient(client, world: World, people) -> None:
    pk = people["ann"].pk
    for query in (f"identifier={SYSTEM}|{pk}", f"identifier={pk}", f"_id={pk}", f"_id=x1,{pk}"):
        assert _ids(_search(client, world, query)) == [pk], query
    # Another system, an explicit "no system" and a value that is not ours find nothing.
    for query in (
        f"identifier=urn:oid:1.2|{pk}",
        f"identifier=|{pk}",
        "identifier=abc",
        f"identifier={'9' * 40}",
        f"_id={'9' * 40}",
    ):
        assert _ids(_search(client, world, query)) == [], query
    assert (
        _search(client, world, f"identifier={SYSTEM}|")["total"]
        == Client.objects.filter(practice=world.practice).count()
    )


def test_search_is_scoped_to_whom_the_caller_may_see(client, world: World, people) -> None:
    practice = set(Client.objects.filter(practice=world.practice).values_list("pk", flat=True))
    assert set(_ids(_search(client, world, "_count=100"))) == practice
    assert _ids(_search(client, world, "", "therapist")) == [world.client.pk]
    assert _ids(_search(client, world, "", "colleague")) == [world.other_client.pk]
    assert _ids(_search(client, world, "", "client")) == [world.client.pk]
    assert _ids(_search(client, world, "family=Client", "other_client")) == []
    # Nothing crosses practices, even by id.
    assert _ids(_search(client, world, f"_id={world.stranger_client.pk}")) == []
    assert _ids(_search(client, world, "", "stranger")) == [world.stranger_client.pk]


def test_paging_follows_next_links_to_every_match_once(client, world: World, people) -> None:
    total = Client.objects.filter(practice=world.practice).count()
    body = _search(client, world, "_count=2")
    assert body["total"] == total
    seen = _ids(body)
    pages = 1
    while (nxt := {link["relation"]: link["url"] for link in body["link"]}.get("next")) is not None:
        parts = urlsplit(nxt)
        assert parts.path == "/fhir/Patient"
        body = _search(client, world, parts.query)
        assert body["total"] == total
        assert len(body["entry"]) <= 2
        seen += _ids(body)
        pages += 1
    assert pages == (total + 1) // 2
    assert sorted(seen) == sorted(
        Client.objects.filter(practice=world.practice).values_list("pk", flat=True)
    )
    links = {link["relation"]: link["url"] for link in body["link"]}
    assert parse_qs(urlsplit(links["previous"]).query)["_offset"] == [str((pages - 2) * 2)]


def test_count_zero_gives_the_total_alone(client, world: World, people) -> None:
    body = _search(client, world, "family=okafor&_count=0")
    assert body["total"] == 2
    assert body["entry"] == []


def test_search_is_audited_with_the_ids_it_returned(client, world: World, people) -> None:
    body = _search(client, world, "family=okafor")
    (entry,) = AuditEntry.objects.filter(action="list")
    assert entry.action == "list"
    assert entry.actor == world.admin
    assert entry.object_type == "care.client"
    assert entry.detail == {"view": "fhir.patient_search", "patients": _ids(body), "total": 2}
    _search(client, world, f"_id={people['ann'].pk}")
    assert AuditEntry.objects.latest("seq").client_id == people["ann"].pk


@pytest.mark.parametrize(
    ("query", "code", "expression"),
    [
        ("gender=female", "not-supported", "gender"),
        ("name:missing=true", "not-supported", "name:missing"),
        ("birthdate=1990-13", "invalid", "birthdate"),
        ("birthdate=ap1990", "invalid", "birthdate"),
        ("birthdate:exact=1990", "not-supported", "birthdate:exact"),
        ("identifier:of-type=x", "not-supported", "identifier:of-type"),
        ("_id=a b", "invalid", "_id"),
        ("_count=-1", "invalid", "_count"),
        ("_offset=ten", "invalid", "_offset"),
    ],
)
def test_bad_parameters_get_a_400_operation_outcome_and_no_audit(
    client, world: World, query: str, code: str, expression: str
) -> None:
    headers = _token(world, "admin")
    before = AuditEntry.objects.count()
    response = client.get(f"/fhir/Patient?{query}", **headers)
    assert response.status_code == 400
    outcome = OperationOutcome(response.json())
    assert outcome.issue[0].code == code
    assert outcome.issue[0].expression == [expression]
    assert AuditEntry.objects.count() == before


def test_capability_statement_lists_the_patient_search_parameters(client, db) -> None:
    statement = client.get("/fhir/metadata").json()
    (patient,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert {"read", "search-type"} <= {i["code"] for i in patient["interaction"]}
    assert {p["name"] for p in patient["searchParam"]} == {
        "_id",
        "identifier",
        "name",
        "family",
        "given",
        "birthdate",
    }
