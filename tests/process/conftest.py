"""Helpers for the process-domain tests: audit rows since a point, and small makers for
journal entries, relationship episodes and reflections written through the actions."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Appointment, Client
from reverie.process import actions
from reverie.process.models import JournalEntry, RelationshipEpisode
from reverie.process.reflection import FEATURE_KEYS
from reverie.testing import World


@pytest.fixture
def audit_mark(db: None) -> Callable[[], list[tuple[Any, ...]]]:
    """Each call of ``audit_mark()`` returns the rows written since the previous call (the
    first call only sets the mark), as (actor email, action, object type, object id,
    client id, detail). Sign-ins made by ``as_user`` are left out: they are not what these
    tests are about."""
    state: dict[str, int | None] = {"seq": None}

    def rows() -> list[tuple[Any, ...]]:
        last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        since, state["seq"] = state["seq"], last
        if since is None:
            return []
        entries = AuditEntry.objects.filter(seq__gt=since).exclude(action="login").order_by("seq")
        return [
            (e.actor_label, e.action, e.object_type, e.object_id, e.client_id, e.detail)
            for e in entries
        ]

    return rows


class Helpers:
    """Makers bound to one test world; every object is written through the actions."""

    def __init__(self, world: World) -> None:
        self.world = world

    def entry(
        self,
        text: str = "I dreamt I was locked out of my childhood house.",
        *,
        share: bool = True,
        days_ago: int = 0,
        client_user: Any = None,
        **fields: Any,
    ) -> JournalEntry:
        data = {
            "kind": "dream",
            "title": "",
            "text": text,
            "mood": None,
            "tags": [],
            "entry_date": timezone.localdate() - datetime.timedelta(days=days_ago),
        }
        data.update(fields)
        ctx = trail.Context(user=client_user or self.world.client_user)
        return actions.create_journal_entry(ctx, fields=data, share=share)

    def episode(
        self,
        *,
        author: Any = None,
        client: Client | None = None,
        days_ago: int = 0,
        **fields: Any,
    ) -> RelationshipEpisode:
        data: dict[str, Any] = {
            "occurred_on": timezone.localdate() - datetime.timedelta(days=days_ago),
            "source": "session",
            "appointment": None,
            "journal_entry": None,
            "other_person": "partner",
            "other_person_note": "",
            "narrative": "He forgot her birthday and she said nothing.",
            "wish": "to be remembered",
            "response_of_other": "forgets her",
            "ro_valence": "negative",
            "response_of_self": "swallows her hurt",
            "rs_valence": "negative",
        }
        data.update(fields)
        return actions.save_relationship_episode(
            trail.Context(user=author or self.world.therapist),
            client=client or self.world.client,
            fields=data,
        )

    def past_sessions(self) -> list[Appointment]:
        return list(
            Appointment.objects.filter(
                episode=self.world.episode, starts_at__lt=timezone.now()
            ).order_by("starts_at")
        )

    @staticmethod
    def scores(value: int = 3, **overrides: int) -> dict[str, int]:
        data = dict.fromkeys(FEATURE_KEYS, value)
        data.update(overrides)
        return data

    @staticmethod
    def reflection_post(value: int = 3, comment: str = "", **overrides: int) -> dict[str, str]:
        data = {k: str(v) for k, v in Helpers.scores(value, **overrides).items()}
        data["comment"] = comment
        return data


@pytest.fixture
def proc(world: World) -> Helpers:
    return Helpers(world)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as an install without the optional ``reverie[nlp]`` extra, whether or not
    this machine has it."""
    from reverie.process import ccrt_views, theme_runs, theme_views
    from reverie.process.actions import themes as process_actions
    from reverie.process.embeddings import NlpUnavailable

    for module in (process_actions, ccrt_views, theme_views, theme_runs):
        monkeypatch.setattr(module, "nlp_available", lambda: False)

    def missing() -> None:
        raise NlpUnavailable("missing: torch")

    monkeypatch.setattr(theme_runs, "shared_model", missing)
