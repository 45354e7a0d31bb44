"""``resources.validated`` accepts and refuses exactly what whole-resource validation does.

``validated`` checks a QuestionnaireResponse's items one by one and remembers items it has
already found valid; these tests hold that shortcut to the verdict of validating the whole
resource with its R4B model at once, on resources the API really emits and on broken ones.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from reverie.audit import trail
from reverie.fhir import resources
from reverie.measures import actions
from reverie.measures.models import Instrument, Source
from reverie.testing import World

pytestmark = pytest.mark.django_db


def _whole_is_valid(resource: dict[str, Any]) -> bool:
    try:
        QuestionnaireResponse.model_validate(resource)
    except ValidationError:
        return False
    return True


def _shortcut_is_valid(resource: dict[str, Any]) -> bool:
    try:
        resources.validated(resource)
    except resources.InvalidResource:
        return False
    return True


def _emitted(world: World, code: str, rng: random.Random, n: int) -> list[dict[str, Any]]:
    instrument = Instrument.objects.get(code=code)
    from reverie.measures.registry import definition_for

    definition = definition_for(instrument)
    out = []
    for i in range(n):
        answers = {item.id: rng.choice(item.options).value for item in definition.items}
        submission = actions.submit(
            trail.Context(user=world.therapist),
            client=world.client,
            instrument=instrument,
            answers=answers,
            source=Source.FHIR,
            identifier={"system": "urn:test", "value": f"{code}-{i}"},
        )
        out.append(resources.questionnaire_response(submission.administration))
    return out


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(resource: dict[str, Any]) -> None:
        target: Any = resource
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


BREAKS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("last item's code has spaces", _set(["item", -2, "answer", 0, "valueCoding", "code"], " a b")),
    ("first item's text is a number", _set(["item", 0, "text"], 5)),
    ("an item without its linkId", lambda r: r["item"][3].pop("linkId")),
    ("total is not an integer", _set(["item", -1, "answer", 0, "valueInteger"], "many")),
    ("an item is null", _set(["item", 2], None)),
    ("an unknown element in an item", _set(["item", 1, "colour"], "blue")),
    ("authored is not a dateTime", _set(["authored"], "yesterday")),
    ("subject is a string", _set(["subject"], "Patient/1")),
    ("item is not a list", _set(["item"], {"linkId": "x"})),
    ("no items at all", _set(["item"], [])),
]


def test_emitted_resources_get_the_same_verdict_and_broken_items_are_caught_after_caching(
    world: World,
) -> None:
    rng = random.Random(20261204)
    emitted = _emitted(world, "phq-9", rng, 12) + _emitted(world, "gad-7", rng, 12)
    for resource in emitted:
        assert _whole_is_valid(resource) and _shortcut_is_valid(resource)
    # Every item of every emitted resource is now remembered as valid; each break below
    # changes one element of a resource whose other items are all remembered.
    for name, change in BREAKS:
        for resource in emitted[:3] + emitted[-3:]:
            broken = copy.deepcopy(resource)
            change(broken)
            assert _shortcut_is_valid(broken) == _whole_is_valid(broken), name
    # The breaks that make the resource invalid are refused (and one does not).
    verdicts = {}
    for name, change in BREAKS:
        broken = copy.deepcopy(emitted[0])
        change(broken)
        verdicts[name] = _shortcut_is_valid(broken)
    assert not any(v for k, v in verdicts.items() if k != "no items at all"), verdicts


def test_the_memory_of_valid_items_is_bounded(world: World, monkeypatch) -> None:
    monkeypatch.setattr(resources, "_VALID_ENTRIES_MAX", 5)
    resources._VALID_ENTRIES.clear()
    for resource in _emitted(world, "phq-9", random.Random(7), 3):
        resources.validated(resource)
    assert len(resources._VALID_ENTRIES) == 5
