"""A FHIR submission authenticates its caller in the same statement as its subject's lookup
(``fhir_view(defer=True)``, ``fhir.lookup.submission_target_by_token``, PostgreSQL), and still
answers every caller exactly as when it authenticated first: the 401 or 403 before any
complaint about the body, the same access rule, the same stored row. On SQLite the view
authenticates first as before, so these tests hold the two paths to one behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reverie.accounts import actions as account_actions
from reverie.accounts.models import ApiToken, User, hash_token
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.care.access import clinical_clients
from reverie.fhir.lookup import submission_target, submission_target_by_token
from reverie.measures.models import Administration, Instrument
from reverie.testing import PERSONAS, World, phq9_response

pytestmark = pytest.mark.django_db

URL = "/fhir/QuestionnaireResponse"


def _token(user: User) -> str:
    _, raw = account_actions.create_token(trail.system("test"), user)
    return raw


def _body(patient: int, **changes: Any) -> str:
    return json.dumps(phq9_response(patient, **changes))


def _post(raw: str | None, body: str, content_type: str = "application/fhir+json") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw is not None else {}
    return Client().post(URL, body, content_type=content_type, **headers)


def _callers(world: World) -> dict[str, str | None]:
    """Each kind of caller: no token, an unknown one, a revoked one, a deactivated user's,
    an admin's (a role that may not submit), a therapist's and a client's."""
    revoked_user = world.colleague
    revoked, raw_revoked = account_actions.create_token(trail.system("test"), revoked_user)
    account_actions.revoke_token(trail.system("test"), revoked)
    inactive = User.objects.create_user(
        email="gone@example.org",
        password="a long enough password 123",
        practice=world.practice,
        role="therapist",
    )
    raw_inactive = _token(inactive)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    return {
        "none": None,
        "unknown": "not-a-token-anyone-was-given",
        "revoked": raw_revoked,
        "inactive": raw_inactive,
        "admin": _token(world.admin),
        "therapist": _token(world.therapist),
        "client": _token(world.client.user),
    }


EARLY = {
    "wrong content type": (dict(content_type="text/plain"), 415),
    "not JSON": (dict(body="{"), 400),
    "not completed": (dict(status="in-progress"), 422),
    "unknown questionnaire": (dict(questionnaire="http://elsewhere.example/Q/x"), 422),
    "no subject": (dict(subject=None), 422),
}


@pytest.mark.parametrize("case", sorted(EARLY))
def test_the_caller_is_refused_before_the_body(world: World, case: str) -> None:
    callers = _callers(world)
    change, status = EARLY[case]
    content_type = change.get("content_type", "application/fhir+json")
    body = change.get("body") or _body(
        world.client.pk, **{k: v for k, v in change.items() if k != "content_type"}
    )
    expected = {
        "none": 401,
        "unknown": 401,
        "revoked": 401,
        "inactive": 401,
        "admin": 403,
        "therapist": status,
        "client": status,
    }
    before = Administration.objects.count()
    got = {who: _post(raw, body, content_type).status_code for who, raw in callers.items()}
    assert got == expected
    assert Administration.objects.count() == before


def test_a_whole_submission_answers_each_caller_as_before(world: World) -> None:
    callers = _callers(world)
    mine, theirs = world.client.pk, world.other_client.pk
    before = set(Administration.objects.values_list("pk", flat=True))
    got = {who: _post(raw, _body(mine)).status_code for who, raw in callers.items()}
    assert got == {
        "none": 401,
        "unknown": 401,
        "revoked": 401,
        "inactive": 401,
        "admin": 403,
        "therapist": 201,
        "client": 201,
    }
    # Someone else's client: neither the therapist (not theirs) nor the client may submit.
    assert _post(callers["client"], _body(theirs)).status_code == 422
    new = list(Administration.objects.exclude(pk__in=before))
    assert [row.client_id for row in new] == [mine, mine]
    # Each stored row's audit entry names the caller the token belongs to.
    actors = AuditEntry.objects.filter(
        action=Action.CREATE, object_id__in=[str(row.pk) for row in new], client_id=mine
    ).values_list("actor_id", flat=True)
    assert sorted(actors) == sorted([world.therapist.pk, world.client.user_id])
    assert trail.verify(use_checkpoints=False).ok


def test_a_submission_checks_the_token_and_finds_the_subject_in_one_statement(
    world: World,
) -> None:
    raw = _token(world.therapist)
    _post(raw, _body(world.client.pk))  # the token's first use is recorded once a minute
    with CaptureQueriesContext(connection) as queries:
        assert _post(raw, _body(world.client.pk)).status_code == 201
    tokens = [q for q in queries.captured_queries if ApiToken._meta.db_table in q["sql"]]
    if connection.vendor == "postgresql":
        # The token's row and the subject's come back together: one statement reads both.
        assert len(tokens) == 1 and "care_client" in tokens[0]["sql"]
    else:
        assert len(tokens) == 1 and "care_client" not in tokens[0]["sql"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_token_lookup_agrees_with_the_lookup_by_user(world: World) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    now = timezone.now()
    for persona in PERSONAS:
        user = world.user(persona)
        if user is None:
            continue
        digest = hash_token(_token(user))
        for client in (world.client, world.other_client, world.stranger_client):
            found = submission_target_by_token(digest, client.pk, phq9, now)
            assert found is not None and found[0] == user
            assert found[1] == submission_target(user, client.pk, phq9, now), (persona, client)
            allowed = clinical_clients(user).filter(pk=client.pk).exists()
            assert (found[1] is not None) == allowed, (persona, client)
    assert submission_target_by_token(hash_token("nobody's"), world.client.pk, phq9, now) is None


def test_a_large_body_is_not_read_before_the_caller_is_known(world: World, monkeypatch) -> None:
    """Nobody without a live token makes the server parse a large body: above
    DEFER_MAX_BODY the token is checked first, on every database; a caller with a live
    token is answered as for a small body."""
    from reverie.fhir import views

    callers = _callers(world)
    padding = "x" * (views.DEFER_MAX_BODY + 1)
    large = _body(world.client.pk, identifier={"system": "urn:ietf:rfc:3986", "value": padding})
    assert len(large) > views.DEFER_MAX_BODY
    parsed: list[int] = []
    real = views.read_json

    def counting(request: Any) -> Any:
        parsed.append(len(request.body))
        return real(request)

    monkeypatch.setattr(views, "read_json", counting)
    for who in ("none", "unknown", "revoked", "inactive", "admin"):
        assert _post(callers[who], large).status_code in (401, 403), who
    assert parsed == []
    # A live caller's large body is read and stored as any other.
    assert _post(callers["therapist"], large).status_code == 201
    assert parsed == [len(large)]
    # A small body still takes the one-statement path on PostgreSQL, read before the
    # unknown token is found out.
    parsed.clear()
    assert _post(callers["unknown"], _body(world.client.pk)).status_code == 401
    assert parsed == ([len(_body(world.client.pk))] if connection.vendor == "postgresql" else [])


@pytest.mark.parametrize("length", ["", "abc", "²", "-1", str(64 * 1024 + 1)])
def test_only_a_stated_small_length_is_deferred(rf, length: str) -> None:
    from reverie.fhir import views

    request = rf.post(URL, b"{}", content_type="application/fhir+json")
    request.META["CONTENT_LENGTH"] = length
    assert views._small_body(request) is False
    request.META["CONTENT_LENGTH"] = "2048"
    assert views._small_body(request) is True
