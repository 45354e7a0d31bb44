"""The hand-written SQL of the submission path (reverie.fhir.lookup) against the Python it
repeats, over every persona and many episode histories per client: the access rule
(care.access.clinical_clients) and the episode choice (measures' find_episode). Hypothesis
draws the histories: how many episodes, whose, which status, which start date (ties
included, so the id breaks them as in Python)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reverie.care.access import clinical_clients
from reverie.care.models import Episode, EpisodeStatus
from reverie.fhir.lookup import submission_target
from reverie.measures.actions.submission import find_episode
from reverie.measures.models import Instrument
from reverie.testing import PERSONAS, World

EPISODE = st.tuples(
    st.sampled_from(["therapist", "colleague", "stranger"]),
    st.sampled_from(list(EpisodeStatus.values)),
    st.integers(min_value=0, max_value=4),  # start this many 30-day steps ago (ties likely)
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories=st.lists(st.lists(EPISODE, max_size=4), min_size=3, max_size=3))
def test_sql_agrees_with_python_on_access_and_episode(
    world: World, histories: list[list[tuple[str, str, int]]]
) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    clients = (world.client, world.other_client, world.stranger_client)
    today = datetime.date(2026, 12, 1)
    with transaction.atomic():
        for client, history in zip(clients, histories, strict=True):
            for who, status, steps in history:
                therapist = world.user(who)
                if therapist is None or therapist.practice_id != client.practice_id:
                    continue
                start = today - datetime.timedelta(days=30 * steps)
                Episode.objects.create(
                    client=client,
                    therapist=therapist,
                    modality="psychodynamic",
                    start_date=start,
                    status=status,
                    end_date=start if status == EpisodeStatus.ENDED else None,
                )
        now = timezone.now()
        checked = 0
        for persona in PERSONAS:
            user = world.user(persona)
            if user is None:
                continue
            for client in clients:
                allowed = clinical_clients(user).filter(pk=client.pk).exists()
                found = submission_target(user, client.pk, phq9, now)
                assert (found is not None) == allowed, (persona, client.pk)
                if found is None:
                    continue
                _, episode, request = found
                assert request is None  # no requests here: the episode is the SQL's choice
                assert episode == find_episode(client, user), (persona, client.pk, histories)
                checked += 1
        assert checked > 0  # some persona reached some client in every example
        transaction.set_rollback(True)
