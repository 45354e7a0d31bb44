"""Fixtures for measurement tests: open requests and answer sets for the world's client."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

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


def mean_scored_instrument(world: World) -> Instrument:
    """An instrument whose total is the mean of its items (a total such as 5/3), with a
    crisis item. Imports refuse it, so the row is written directly, as one that skipped the
    import check would be."""
    from reverie.measures.fhir_questionnaire import SCORING_RULES_URL, questionnaire_to_document

    source = Path(__file__).parent / "data" / "checkin-answeroption-weights.json"
    questionnaire = json.loads(source.read_text())
    rules = {
        "method": "mean",
        "critical_items": [
            {
                "item": "q1",
                "threshold": 2,
                "direction": "at_or_above",
                "label": "Ask",
                "source": {"citation": "Reverie test suite."},
            }
        ],
    }
    # An id and version of its own: parsed definitions are cached per (pk, code, version),
    # and SQLite reuses a rolled-back pk.
    questionnaire |= {
        "id": "checkin-mean-portal",
        "version": "checkin-mean-portal",
        "extension": [{"url": SCORING_RULES_URL, "valueString": json.dumps(rules)}],
    }
    document = questionnaire_to_document(
        questionnaire,
        instrument_id=f"{world.practice.slug}-checkin-mean-portal",
        licence={"holder": "Example", "terms": "Free to use.", "electronic_use": "permitted"},
    )
    return Instrument.objects.create(
        code=document["id"], name="Check-in", definition=document, practice=world.practice
    )
