"""Routes of the psychodynamic process domain (issue 6: reflections, CCRT, journal, themes).

The therapist treats ``world.client``. Clinical pages answer 404 to the colleague and the
stranger (outside the relationship), 403 to other roles. The client's own journal pages
answer 404 to the other client. Category sets are the practice admin's.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from matrix import CLIENTS, THERAPISTS, Route, only
from reverie.audit import trail
from reverie.care.models import Appointment
from reverie.process import actions
from reverie.process.categories import ParsedCategory
from reverie.process.models import RecurringTheme, ThemeRun
from reverie.testing import World


def objects(w: World) -> dict[str, Any]:
    """Process objects of the therapist's client, made once per test world."""
    cached = getattr(w, "_process_objects", None)
    if cached is not None:
        return cached
    therapist = trail.Context(user=w.therapist)
    client = trail.Context(user=w.client_user)
    past = Appointment.objects.filter(episode=w.episode, starts_at__lt=timezone.now()).first()
    entry = actions.create_journal_entry(
        client,
        fields={
            "kind": "dream",
            "title": "The house",
            "text": "I dreamt of the old house again.",
            "mood": None,
            "tags": ["house"],
            "entry_date": timezone.localdate(),
        },
        share=True,
    )
    episode = actions.save_relationship_episode(
        therapist,
        client=w.client,
        fields={
            "occurred_on": timezone.localdate(),
            "source": "session",
            "appointment": None,
            "journal_entry": None,
            "other_person": "boss",
            "other_person_note": "",
            "narrative": "Her boss ignored her proposal in the meeting.",
            "wish": "to be noticed",
            "response_of_other": "ignores her",
            "ro_valence": "negative",
            "response_of_self": "goes quiet",
            "rs_valence": "negative",
        },
    )
    run = ThemeRun.objects.create(
        client=w.client, requested_by=w.therapist, use_fallback=True, status="running"
    )
    theme = RecurringTheme.objects.create(
        client=w.client,
        owner=w.therapist,
        stable_key="th-matrix",
        label="old house",
        first_seen=timezone.localdate(),
        last_seen=timezone.localdate(),
    )
    seeded = RecurringTheme.objects.create(
        client=w.client,
        owner=w.therapist,
        stable_key="seeded-matrix",
        label="house dreams",
        origin="seeded",
        first_seen=timezone.localdate(),
        last_seen=timezone.localdate(),
    )
    categories = actions.import_category_set(
        trail.Context(user=w.admin),
        name="Licensed set",
        licence_note="Licensed for the matrix",
        categories=[ParsedCategory("wish", "To be close")],
    )
    cached = {
        "past": past,
        "entry": entry,
        "episode": episode,
        "run": run,
        "theme": theme,
        "seeded": seeded,
        "categories": categories,
    }
    w._process_objects = cached  # type: ignore[attr-defined]
    return cached


def own(status: int) -> dict[str, int]:
    """Only the treating therapist; colleagues and strangers learn nothing (404)."""
    return only({"therapist": status, "colleague": 404, "stranger": 404})


def own_client(status: int) -> dict[str, int]:
    """Only the client whose entry it is; the other client finds nothing (404)."""
    return only({"client": status, "other_client": 404})


def _client_url(name: str) -> Any:
    return lambda w: reverse(name, args=[w.client.pk])


ROUTES = [
    Route("process:client", _client_url("process:client"), own(200)),
    Route(
        "process:reflect",
        lambda w: reverse("process:reflect", args=[objects(w)["past"].pk]),
        own(200),
    ),
    Route(
        "process:episode_profile",
        lambda w: reverse("process:episode_profile", args=[w.episode.pk]),
        own(200),
    ),
    Route("process:my_profile", lambda w: reverse("process:my_profile"), only(THERAPISTS)),
    Route("process:relationship_new", _client_url("process:relationship_new"), own(200)),
    Route(
        "process:relationship",
        lambda w: reverse("process:relationship", args=[objects(w)["episode"].pk]),
        own(200),
    ),
    Route("process:ccrt", _client_url("process:ccrt"), own(200)),
    Route("process:ccrt_groups", _client_url("process:ccrt_groups"), own(200)),
    Route(
        "process:ccrt_suggest",
        lambda w: (objects(w), reverse("process:ccrt_suggest", args=[w.client.pk]))[1],
        own(302),
        method="post",
    ),
    Route(
        "process:category_sets", lambda w: reverse("process:category_sets"), only({"admin": 200})
    ),
    Route(
        "process:category_set_toggle",
        lambda w: reverse("process:category_set_toggle", args=[objects(w)["categories"].pk]),
        only({"admin": 302}),
        method="post",
        data={"active": "0"},
    ),
    Route("process:journal", lambda w: reverse("process:journal"), only(CLIENTS)),
    Route("process:journal_new", lambda w: reverse("process:journal_new"), only(CLIENTS)),
    Route(
        "process:journal_entry",
        lambda w: reverse("process:journal_entry", args=[objects(w)["entry"].pk]),
        own_client(200),
    ),
    Route(
        "process:journal_share",
        lambda w: reverse("process:journal_share", args=[objects(w)["entry"].pk]),
        own_client(302),
        method="post",
        data={"share": "0"},
    ),
    Route(
        "process:journal_delete",
        lambda w: reverse("process:journal_delete", args=[objects(w)["entry"].pk]),
        own_client(200),
    ),
    Route(
        "process:shared_entry",
        lambda w: reverse("process:shared_entry", args=[objects(w)["entry"].pk]),
        own(200),
    ),
    Route(
        "process:shared_entry_link",
        lambda w: reverse("process:shared_entry_link", args=[objects(w)["entry"].pk]),
        own(302),
        method="post",
        data={"appointment": ""},
    ),
    Route("process:themes", _client_url("process:themes"), own(200)),
    Route(
        "process:themes_run",
        _client_url("process:themes_run"),
        own(302),
        method="post",
        data={"embedder": "fallback"},
    ),
    Route(
        "process:theme_run_status",
        lambda w: reverse("process:theme_run_status", args=[objects(w)["run"].pk]),
        own(200),
    ),
    Route(
        "process:theme_run_cancel",
        lambda w: reverse("process:theme_run_cancel", args=[objects(w)["run"].pk]),
        own(302),
        method="post",
    ),
    Route(
        "process:theme",
        lambda w: reverse("process:theme", args=[objects(w)["theme"].pk]),
        own(200),
    ),
    Route(
        "process:theme_update",
        lambda w: reverse("process:theme_update", args=[objects(w)["theme"].pk]),
        own(302),
        method="post",
        data={"action": "accept"},
    ),
    Route("process:theme_seed", _client_url("process:theme_seed"), own(200)),
    Route(
        "process:theme_seed",
        _client_url("process:theme_seed"),
        own(400),
        method="post",
        data={"label": "Old house"},
    ),
    Route(
        "process:theme_judge",
        lambda w: reverse("process:theme_judge", args=[objects(w)["seeded"].pk]),
        own(302),
        method="post",
        data={"sentence": "journal:0:0:1", "verdict": "reject"},
    ),
]
