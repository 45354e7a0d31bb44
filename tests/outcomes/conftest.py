"""Fixtures for the outcomes app: a practice with scored episodes, built quickly."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest
from django.utils import timezone

from reverie.accounts.models import Practice, User
from reverie.care.models import Appointment, Client, Episode
from reverie.measures.models import Administration, Instrument
from reverie.testing import World

PHQ_ITEMS = [f"phq9-{n}" for n in range(1, 10)]
GAD_ITEMS = [f"gad7-{n}" for n in range(1, 8)]


def answers_for(total: int, items: Sequence[str]) -> dict[str, int]:
    """Item answers (0-3) that add up to ``total``."""
    out = {}
    left = total
    for item in items:
        value = min(3, left)
        out[item] = value
        left -= value
    if left:
        raise ValueError(f"{total} is too high for {len(items)} items")
    return out


def add_scores(
    episode: Episode,
    phq: Sequence[int],
    gad: Sequence[int] | None = None,
    *,
    start: datetime.datetime | None = None,
    every_days: int = 7,
    followups: dict[str, tuple[int, int]] | None = None,
    attended: int | None = None,
    first_is_intake: bool = True,
) -> list[Administration]:
    """Weekly PHQ-9 (and GAD-7) scores for an episode, the first at intake; optional follow-ups
    keyed by timepoint; ``attended`` sessions (default one per score)."""
    phq9 = Instrument.objects.get(code="phq-9")
    gad7 = Instrument.objects.get(code="gad-7")
    start = start or timezone.now() - datetime.timedelta(days=every_days * len(phq))
    rows = []
    for i, total in enumerate(phq):
        when = start + datetime.timedelta(days=every_days * i)
        tp = "intake" if i == 0 and first_is_intake else "session"
        rows.append(
            Administration(
                client=episode.client,
                episode=episode,
                instrument=phq9,
                completed_at=when,
                timepoint=tp,
                source="paper",
                total=total,
                answers=answers_for(total, PHQ_ITEMS),
            )
        )
        if gad is not None:
            rows.append(
                Administration(
                    client=episode.client,
                    episode=episode,
                    instrument=gad7,
                    completed_at=when + datetime.timedelta(minutes=2),
                    timepoint=tp,
                    source="paper",
                    total=gad[i],
                    answers=answers_for(gad[i], GAD_ITEMS),
                )
            )
    last = start + datetime.timedelta(days=every_days * len(phq))
    for j, (tp, (p, g)) in enumerate((followups or {}).items()):
        when = last + datetime.timedelta(days=30 * (j + 1))
        rows.append(
            Administration(
                client=episode.client,
                episode=episode,
                instrument=phq9,
                completed_at=when,
                timepoint=tp,
                source="paper",
                total=p,
                answers=answers_for(p, PHQ_ITEMS),
            )
        )
        rows.append(
            Administration(
                client=episode.client,
                episode=episode,
                instrument=gad7,
                completed_at=when,
                timepoint=tp,
                source="paper",
                total=g,
                answers=answers_for(g, GAD_ITEMS),
            )
        )
    created = Administration.objects.bulk_create(rows)
    n = len(phq) if attended is None else attended
    Appointment.objects.bulk_create(
        Appointment(
            episode=episode,
            starts_at=start + datetime.timedelta(days=every_days * i, hours=1),
            attendance="attended",
        )
        for i in range(n)
    )
    return created


def ended_episode(
    practice: Practice,
    therapist: User,
    phq: Sequence[int],
    gad: Sequence[int],
    *,
    modality: str = "psychodynamic",
    end_reason: str = "mutual",
    followups: dict[str, tuple[int, int]] | None = None,
    name: str = "Ended",
) -> Episode:
    client = Client.objects.create(practice=practice, given_name=name, family_name="Person")
    start = timezone.localdate() - datetime.timedelta(days=7 * len(phq) + 400)
    episode = Episode.objects.create(
        client=client,
        therapist=therapist,
        modality=modality,
        start_date=start,
        end_date=start + datetime.timedelta(days=7 * len(phq)),
        status="ended",
        end_reason=end_reason,
    )
    add_scores(
        episode,
        phq,
        gad,
        start=timezone.make_aware(datetime.datetime.combine(start, datetime.time(9))),
        followups=followups,
    )
    return episode


@pytest.fixture
def practice_with_outcomes(world: World) -> World:
    """The world plus 24 ended psychodynamic and 12 ended CBT episodes of the therapist."""
    for i in range(24):
        ended_episode(
            world.practice,
            world.therapist,
            [18, 15, 12, 9 - i % 3, 6 + i % 4],
            [14, 12, 10, 7, 5 + i % 3],
            followups={"followup_1m": (5, 4), "followup_3m": (4 + i % 2, 4)},
            name=f"Dyn{i}",
        )
    for i in range(12):
        ended_episode(
            world.practice,
            world.colleague,
            [16, 14, 13, 12, 11 + i % 3],
            [12, 11, 10, 9, 8],
            modality="cbt",
            end_reason="dropout" if i < 3 else "mutual",
            name=f"Cbt{i}",
        )
    return world
