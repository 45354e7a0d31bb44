"""The hand-written submission lookup agrees with care/access.py for every persona."""

from __future__ import annotations

from django.utils import timezone

from reverie.audit import trail
from reverie.care import actions as care_actions
from reverie.care.access import clinical_clients
from reverie.fhir.lookup import submission_target
from reverie.measures.models import Instrument
from reverie.testing import PERSONAS, World


def _agree(world: World) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    for persona in PERSONAS:
        user = world.user(persona)
        if user is None:
            continue
        for client in (world.client, world.other_client, world.stranger_client):
            allowed = clinical_clients(user).filter(pk=client.pk).exists()
            found = submission_target(user, client.pk, phq9, timezone.now())
            assert (found is not None) == allowed, (persona, client)


def test_lookup_matches_clinical_clients_for_every_persona(world: World) -> None:
    _agree(world)


def test_lookup_follows_a_grant_and_its_revocation(world: World) -> None:
    grant = care_actions.grant_access(
        trail.Context(user=world.admin),
        client=world.client,
        therapist=world.colleague,
        reason="cover",
    )
    _agree(world)
    care_actions.revoke_grant(trail.Context(user=world.admin), grant)
    _agree(world)


def test_lookup_picks_the_running_episode_and_the_open_request(world: World, make_request) -> None:
    request = make_request()
    phq9 = Instrument.objects.get(code="phq-9")
    found = submission_target(world.therapist, world.client.pk, phq9, timezone.now())
    assert found is not None
    client, episode, open_request = found
    assert (client, episode, open_request) == (world.client, world.episode, request)
