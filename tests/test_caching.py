"""What browsers and proxies may keep. The access matrix checks every route for every
persona (tests/test_access_matrix.py); these cover what the matrix cannot reach."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from reverie.accounts.models import UnlockLink, hash_token
from reverie.audit import trail
from reverie.measures import actions, scheduling
from reverie.measures.models import Instrument
from reverie.testing import World


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_static_files_keep_their_long_lived_caching(client: HttpClient) -> None:
    response = client.get("/static/reverie/reverie.css")
    assert response.status_code == 200
    assert not _no_store(response)
    assert "max-age" in response["Cache-Control"]


def test_a_public_page_is_cacheable_for_visitors_but_not_for_signed_in_people(
    world: World, as_user
) -> None:
    anonymous = as_user("anonymous").get(reverse("core:landing"))
    assert anonymous.status_code == 200 and not _no_store(anonymous)
    signed_in = as_user("therapist").get(reverse("core:landing"))
    assert signed_in.status_code == 200 and _no_store(signed_in)
    assert "private" in signed_in["Cache-Control"] and signed_in["Pragma"] == "no-cache"


def test_a_one_time_questionnaire_link_is_never_cached(world: World) -> None:
    request = scheduling.create_manual_request(
        trail.system("test"),
        episode=world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=timezone.now() - datetime.timedelta(minutes=1),
    )
    with transaction.atomic():
        raw = actions.new_link(trail.system("test"), request, "invite")
    response = HttpClient().get(reverse("measures:link", args=[raw]))
    assert response.status_code == 200
    assert _no_store(response) and response["Pragma"] == "no-cache"


def test_even_the_api_description_which_needs_no_token_is_not_cached(
    client: HttpClient, world: World
) -> None:
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert _no_store(response) and "public" not in response["Cache-Control"]


def test_a_live_unlock_link_is_never_cached(world: World) -> None:
    raw = "a-live-unlock-token"
    now = timezone.now()
    UnlockLink.objects.create(
        user=world.therapist,
        digest=hash_token(raw),
        created_at=now,
        expires_at=now + UnlockLink.LIFETIME,
    )
    browser = HttpClient()
    opened = browser.get(reverse("accounts:unlock", args=[raw]))
    assert opened.status_code == 200
    assert _no_store(opened) and opened["Pragma"] == "no-cache"
    # Spending it sets the known-browser cookie on a redirect: that answer is private too.
    spent = browser.post(reverse("accounts:unlock", args=[raw]))
    assert spent.status_code == 302
    assert _no_store(spent) and spent["Pragma"] == "no-cache"
