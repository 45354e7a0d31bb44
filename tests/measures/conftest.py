"""Fixtures for measurement tests: open requests and answer sets for the world's client."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.utils import timezone

from reverie.audit import trail
from reverie.measures import scheduling
from reverie.measures.models import Instrument, MeasureRequest
from reverie.testing import World


def phq9_answers(*values: int, difficulty: int | None = None) -> dict[str, int | None]:
    """``phq9_answers(1, 0, ...)`` for nine items; default all 0."""
    items = list(values) + [0] * (9 - len(values))
    answers: dict[str, int | None] = {f"phq9-{n}": v for n, v in enumerate(items, start=1)}
    answers["phq9-difficulty"] = difficulty
    return answers


def form_data(answers: dict[str, int | None], **extra: str) -> dict[str, str]:
    data = {f"item-{k}": str(v) for k, v in answers.items() if v is not None}
    data.update(extra)
    return data


@pytest.fixture
def make_request(world: World) -> Callable[..., MeasureRequest]:
    """An open request of the world's client (opened a minute ago, closing in a week)."""

    def make(code: str = "phq-9", *, client=None, episode=None) -> MeasureRequest:
        episode = episode or world.episode
        return scheduling.create_manual_request(
            trail.system("test"),
            episode=episode,
            instrument=Instrument.objects.get(code=code),
            now=timezone.now() - datetime.timedelta(minutes=1),
        )

    return make
