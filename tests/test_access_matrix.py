"""One access matrix over every route. Adding a URL without an entry here fails
``test_every_route_has_an_access_entry``.

Statuses: 200 ok, 302 redirect (anonymous to sign-in, or role landing), 400 bad input
refused, 401 API without credentials, 403 wrong role, 404 not theirs, 405 wrong method.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from matrix import Route, all_routes
from reverie.accounts import actions
from reverie.audit import trail
from reverie.testing import PERSONAS, World

ROUTES = all_routes()


def _route_names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _route_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


def test_every_route_has_an_access_entry() -> None:
    covered = {r.name for r in ROUTES}
    missing = _route_names(get_resolver()) - covered
    assert not missing, f"routes without an access-matrix entry: {sorted(missing)}"


#: The pages that show nothing about any person, and so may be cached when asked for
#: anonymously (``core.decorators.public_page``). Everything else answers ``no-store``.
PUBLIC_PAGES = {
    "core:landing",
    "directory:learn",
    "directory:learn_page",
    "directory:selfcheck",
    "directory:therapists",
    "directory:therapist",
    "directory:therapist_photo",
    "outcomes:public",
}

CASES = [(route, persona) for route in ROUTES for persona in PERSONAS]


@pytest.mark.parametrize(("route", "persona"), CASES, ids=[f"{r.name}-{p}" for r, p in CASES])
def test_access(route: Route, persona: str, world: World, as_user, client) -> None:
    if route.api:
        user = world.user(persona)
        headers = {}
        if user is not None:
            _, raw = actions.create_token(trail.system("test"), user)
            headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        http = client
        response = getattr(http, route.method)(route.url(world), route.data, **headers)
    else:
        http = as_user(persona)
        response = getattr(http, route.method)(route.url(world), route.data)
    assert response.status_code == route.expect[persona], (
        f"{route.name} as {persona}: got {response.status_code}, expected {route.expect[persona]}"
    )
    # Nothing answered to a signed-in person, no API or FHIR answer and no one-time link
    # may be kept by a browser or proxy; only the public pages, asked for anonymously.
    cacheable = persona == "anonymous" and route.name in PUBLIC_PAGES and route.method == "get"
    cache_control = response.get("Cache-Control", "")
    assert ("no-store" in cache_control) == (not cacheable), (
        f"{route.name} as {persona}: Cache-Control {cache_control!r}"
    )
    if not cacheable:
        assert response["Pragma"] == "no-cache"


def test_api_errors_are_problem_json(client, world: World) -> None:
    response = client.get(reverse("api:caseload"))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Authentication required"


def test_revoked_token_is_refused(client, world: World) -> None:
    token, raw = actions.create_token(trail.system("test"), world.therapist)
    assert client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    actions.revoke_token(trail.system("test"), token)
    assert client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_caseload_shows_only_own_clients(as_user, world: World) -> None:
    own = as_user("therapist").get(reverse("care:caseload")).content.decode()
    colleague = as_user("colleague").get(reverse("care:caseload")).content.decode()
    stranger = as_user("stranger").get(reverse("care:caseload")).content.decode()
    assert "Cleo Client" in own and "Olly Other" not in own
    assert "Olly Other" in colleague and "Cleo Client" not in colleague
    assert "Cleo Client" not in stranger and "Olly Other" not in stranger


def test_api_caseload_lists_only_own_clients(client, world: World) -> None:
    _, raw = actions.create_token(trail.system("test"), world.colleague)
    body = client.get(reverse("api:caseload"), HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [row["client"] for row in body["results"]] == [world.other_client.pk]


def test_client_home_shows_only_own_scores(as_user, world: World) -> None:
    from reverie.care.models import Client

    Client.objects.filter(user__isnull=False).update(progress_visible_to_client=True)
    own = as_user("client").get(reverse("care:client_home")).content.decode()
    other = as_user("other_client").get(reverse("care:client_home")).content.decode()
    assert "Hello, Cleo" in own and ">17<" in own
    assert "Cleo" not in other and ">17<" not in other


def test_admin_of_another_practice_cannot_touch_our_users(client, world: World) -> None:
    from reverie.testing import sign_in

    sign_in(client, world.stranger_admin)
    response = client.post(reverse("practice:unlock", args=[world.therapist.pk]))
    assert response.status_code == 404
    people = client.get(reverse("practice:users")).content.decode()
    assert world.therapist.email not in people


def test_admin_audit_page_shows_only_own_practice(client, world: World) -> None:
    from reverie.testing import sign_in

    trail.record(
        trail.Context(user=world.stranger),
        "view",
        world.stranger_client,
        client_id=world.stranger_client.pk,
    )
    sign_in(client, world.admin)
    page = client.get(reverse("practice:audit")).content.decode()
    assert world.stranger.email not in page


def test_admin_grant_lets_a_therapist_see_a_client_until_revoked(as_user, world: World) -> None:
    from reverie.care.access import clinical_clients
    from reverie.care.models import CareGrant

    assert world.client not in clinical_clients(world.colleague)
    admin = as_user("admin")
    response = admin.post(
        reverse("practice:grants"),
        {
            "client": world.client.pk,
            "therapist": world.colleague.pk,
            "reason": "cover during leave",
        },
    )
    assert response.status_code == 302
    assert world.client in clinical_clients(world.colleague)
    grant = CareGrant.objects.get(client=world.client, therapist=world.colleague)
    admin.post(reverse("practice:revoke_grant", args=[grant.pk]))
    assert world.client not in clinical_clients(world.colleague)


def test_grant_to_a_therapist_of_another_practice_is_refused(as_user, world: World) -> None:
    from reverie.care.models import CareGrant

    before = CareGrant.objects.count()
    response = as_user("admin").post(
        reverse("practice:grants"),
        {"client": world.client.pk, "therapist": world.stranger.pk, "reason": "x"},
    )
    assert response.status_code == 400
    assert CareGrant.objects.count() == before
