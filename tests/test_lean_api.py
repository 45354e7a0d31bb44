"""Bearer-token FHIR calls take the lean middleware path (core.middleware.LeanApiMiddleware)
and get the same answer, headers, errors and access checks as through the full chain."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from reverie.accounts import actions as account_actions
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.core import middleware
from reverie.fhir import views
from reverie.testing import World, phq9_response
from reverie.vault.envelope import VaultUnavailable

#: Headers that legitimately differ between two answers to the same request.
# Headers whose value is the answer's own: the clock (``Date``, and ``Expires``, which
# never-cache sets to the current second, so two answers a second apart differ), where a
# created resource lives, the body's length.
_PER_ANSWER = {"Date", "Expires", "Location", "Content-Length"}


def _token(world: World, persona: str) -> dict[str, str]:
    user = world.user(persona)
    assert user is not None
    _, raw = account_actions.create_token(trail.system("test"), user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _full_chain(http: Client) -> Client:
    """A session cookie (here one naming no session) sends a call down the full chain."""
    http.cookies[django_settings.SESSION_COOKIE_NAME] = "no-such-session"
    return http


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    taken: list[bool] = []
    real = middleware.takes_lean_path

    def spy(request: Any) -> bool:
        taken.append(real(request))
        return taken[-1]

    monkeypatch.setattr(middleware, "takes_lean_path", spy)
    return taken


def _submission(world: World, values: list[int]) -> str:
    return json.dumps(phq9_response(world.client.pk, values))


def _fhir_callbacks() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append((prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns, "/")
    return [(route, view) for route, view in found if route.startswith(middleware.API_PREFIXES)]


def test_every_view_under_the_lean_prefixes_is_csrf_exempt() -> None:
    """The lean path leaves out CSRF's middleware; no view there may rely on it."""
    views = _fhir_callbacks()
    assert len(views) >= 10  # the FHIR API and the bulk export
    assert [route for route, view in views if not getattr(view, "csrf_exempt", False)] == []


def test_session_only_middleware_is_all_in_settings() -> None:
    """A renamed or removed middleware would otherwise silently stay in the lean path."""
    chain = list(django_settings.MIDDLEWARE)
    assert set(chain) >= middleware.SESSION_ONLY
    lean = chain.index("reverie.core.middleware.LeanApiMiddleware")
    assert chain.index("reverie.core.middleware.NoStoreMiddleware") < lean
    assert all(chain.index(p) > lean for p in middleware.SESSION_ONLY)


@pytest.mark.parametrize("https", [False, True])
def test_a_bearer_read_has_the_full_chains_answer_and_headers(
    world: World, monkeypatch: pytest.MonkeyPatch, settings: Any, https: bool
) -> None:
    if https:
        # As with REVERIE_HTTPS: HSTS, read when the middleware is built (a new Client).
        settings.SECURE_HSTS_SECONDS = 3600
    taken = _spy(monkeypatch)
    headers = _token(world, "therapist")
    lean = Client().get("/fhir/Questionnaire/phq-9", secure=https, **headers)
    full = _full_chain(Client()).get("/fhir/Questionnaire/phq-9", secure=https, **headers)
    assert taken == [True, False]
    assert lean.status_code == full.status_code == 200
    assert lean.content == full.content
    for name in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Cache-Control",
        "Pragma",
    ):
        assert lean[name] == full[name], name
    if https:
        assert lean["Strict-Transport-Security"] == full["Strict-Transport-Security"]
    assert "Expires" in lean and "Expires" in full
    # Only the full chain looked at the (empty) session, and says the answer depends on it.
    differ = {k for k in set(lean.headers) ^ set(full.headers)} | {
        k for k in lean.headers if k in full.headers and lean[k] != full[k]
    }
    assert differ - _PER_ANSWER == {"Vary"}
    assert "Cookie" in full["Vary"] and "Cookie" not in lean.get("Vary", "")


def test_a_bearer_submission_is_stored_audited_and_refused_alike(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _spy(monkeypatch)
    headers, admin = _token(world, "therapist"), _token(world, "admin")
    before = AuditEntry.objects.count()
    created = Client().post(
        "/fhir/QuestionnaireResponse",
        _submission(world, [1] * 9),
        content_type="application/fhir+json",
        **headers,
    )
    assert created.status_code == 201
    after = AuditEntry.objects.count()
    assert after > before
    # Refusals: no token, a revoked-looking token, a role the route is not open to.
    for extra, status in (
        ({}, 401),
        ({"HTTP_AUTHORIZATION": "Bearer not-a-token"}, 401),
        (admin, 403),
    ):
        answer = Client().post(
            "/fhir/QuestionnaireResponse",
            _submission(world, [1] * 9),
            content_type="application/fhir+json",
            **extra,
        )
        assert answer.status_code == status
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert AuditEntry.objects.count() == after
    assert taken == [True, False, True, True]


def test_a_server_error_on_the_lean_path_is_an_operation_outcome(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "answers_from_questionnaire_response", fail)
    taken = _spy(monkeypatch)
    answer = Client(raise_request_exception=False).post(
        "/fhir/QuestionnaireResponse",
        _submission(world, [0] * 9),
        content_type="application/fhir+json",
        **_token(world, "therapist"),
    )
    assert taken == [True]
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer["Cache-Control"].startswith("max-age=0") or "no-store" in answer["Cache-Control"]
    assert "Content-Security-Policy" in answer.headers


def test_a_missing_vault_key_on_the_lean_path_answers_503(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vault's exception middleware is in the lean chain too."""

    def fail(*args: Any) -> Any:
        raise VaultUnavailable("no key")

    monkeypatch.setattr(views, "answers_from_questionnaire_response", fail)
    taken = _spy(monkeypatch)
    answer = Client(raise_request_exception=False).post(
        "/fhir/QuestionnaireResponse",
        _submission(world, [0] * 9),
        content_type="application/fhir+json",
        **_token(world, "therapist"),
    )
    assert taken == [True]
    assert answer.status_code == 503


def test_a_browser_session_still_takes_the_full_chain(
    world: World, as_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed-in browser (session cookie) reading FHIR goes through sessions and 2FA."""
    taken = _spy(monkeypatch)
    http = as_user("therapist")
    answer = http.get("/fhir/Questionnaire/phq-9", **_token(world, "therapist"))
    assert answer.status_code == 200
    assert taken == [False]
    assert "Cookie" in answer["Vary"]
