"""The therapist's process overview of a client, navigation, and query counts that do not
grow with the number of rows on a page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reverie.audit import trail
from reverie.core.nav import items_for
from reverie.process import actions
from reverie.process.models import RecurringTheme
from reverie.testing import World


def test_overview_shows_sessions_episodes_shared_entries_and_themes(
    world: World, as_user, proc, audit_mark
) -> None:
    sessions = proc.past_sessions()
    reflection = actions.save_reflection(
        trail.Context(user=world.therapist), appointment=sessions[-1], scores=proc.scores(2)
    )
    episode = proc.episode(other_person="therapist", wish="to be understood by me")
    shared = proc.entry("A shared dream of a staircase.", title="Staircase")
    proc.entry("A private thought about money.", share=False)
    audit_mark()
    page = as_user("therapist").get(reverse("process:client", args=[world.client.pk]))
    text = page.content.decode()
    assert reverse("process:reflect", args=[sessions[0].pk]) in text
    assert "Change reflection" in text
    assert "to be understood by me" in text and "Transference" in text
    assert "Staircase" in text and "private thought" not in text
    assert "0 accepted, 0 waiting for your decision." in text
    assert audit_mark() == [
        (
            world.therapist.email,
            "view",
            "care.client",
            str(world.client.pk),
            world.client.pk,
            {
                "view": "process_overview",
                "reflections": [reflection.pk],
                "relationship_episodes": [episode.pk],
                "journal_entries": [shared.pk],
            },
        )
    ]


def test_the_client_page_links_to_the_process_overview(world: World, as_user) -> None:
    page = as_user("therapist").get(reverse("care:client", args=[world.client.pk]))
    assert reverse("process:client", args=[world.client.pk]) in page.content.decode()


def test_each_role_finds_its_process_pages_in_the_menu() -> None:
    assert "process:my_profile" in [i.url_name for i in items_for("therapist")]
    assert "process:journal" in [i.url_name for i in items_for("client")]
    assert "process:category_sets" in [i.url_name for i in items_for("admin")]
    assert "process:journal" not in [i.url_name for i in items_for("therapist")]


def _queries(http, url: str) -> int:
    # The first request of a session also writes the session's "last seen" time.
    http.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert http.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "name", ["process:client", "process:ccrt", "process:ccrt_groups", "process:themes"]
)
def test_list_pages_use_a_fixed_number_of_queries(world: World, as_user, proc, name: str) -> None:
    http = as_user("therapist")
    url = reverse(name, args=[world.client.pk])

    def grow(n: int) -> None:
        for i in range(n):
            proc.episode(days_ago=i, wish=f"wish number {i}")
            proc.entry(f"Dream number {i} about the sea.")
            RecurringTheme.objects.create(
                client=world.client,
                owner=world.therapist,
                stable_key=f"th-{name}-{RecurringTheme.objects.count()}",
                label=f"theme {i}",
                first_seen=world.episode.start_date,
                last_seen=world.episode.start_date,
                count_by_month={"2025-01": 1},
                kind_counts={"journal": 1},
            )

    grow(2)
    few = _queries(http, url)
    grow(8)
    assert _queries(http, url) == few


def test_journal_list_uses_a_fixed_number_of_queries(world: World, as_user, proc) -> None:
    http = as_user("client")
    url = reverse("process:journal")
    proc.entry("one")
    few = _queries(http, url)
    for i in range(10):
        proc.entry(f"entry {i}", tags=["sea", "house"])
    assert _queries(http, url) == few
