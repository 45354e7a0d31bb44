"""``resources.validated`` accepts and refuses exactly what whole-resource validation does.

``validated`` checks a QuestionnaireResponse's items one by one and remembers items it has
already found valid; it remembers the rest of the resource (its shell) too, once the
elements that differ per response are checked and stood in for. These tests hold that
shortcut to the verdict of validating the whole resource with its R4B model at once, on
resources the API really emits and on broken ones.
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
    # The per-response elements that are checked on their own and stood in for.
    ("id has a space", _set(["id"], "1 2")),
    ("id is a number", _set(["id"], 12)),
    ("id is empty", _set(["id"], "")),
    (
        "lastUpdated is a day that does not exist",
        _set(["meta", "lastUpdated"], "2026-02-30T10:00:00Z"),
    ),
    ("lastUpdated at 24:00", _set(["meta", "lastUpdated"], "2026-02-03T24:00:00Z")),
    ("lastUpdated without a zone", _set(["meta", "lastUpdated"], "2026-02-03T10:00:00")),
    ("authored is a day that does not exist", _set(["authored"], "2026-13-01T10:00:00Z")),
    ("meta is a string", _set(["meta"], "2026-02-03T10:00:00Z")),
    ("subject reference is empty", _set(["subject", "reference"], "")),
    ("subject reference is a number", _set(["subject", "reference"], 7)),
    ("subject has an unknown element", _set(["subject", "colour"], "blue")),
    ("source reference is a list", _set(["source", "reference"], ["Patient/1"])),
    ("identifier value is a number", _set(["identifier", "value"], 5)),
    ("identifier has an unknown element", _set(["identifier", "colour"], "blue")),
    ("identifier is a list", _set(["identifier"], [{"value": "x"}])),
    ("identifier is empty", _set(["identifier"], {})),
    ("an unknown top-level element", _set(["colour"], "blue")),
    # Changes the model accepts: these must stay accepted.
    ("a different valid authored", _set(["authored"], "1999-12-31T23:59:59Z")),
    ("a long numeric id", _set(["id"], "9" * 18)),
    ("a dateTime to the day", _set(["authored"], "2026-11-20")),
    ("authored is a number (the R4B model reads it as a year)", _set(["authored"], 20261201)),
]
#: Breaks after which the resource is still valid R4B (whole-resource verdict: accepted).
STILL_VALID = {
    "no items at all",
    "identifier is empty",
    "a different valid authored",
    "a long numeric id",
    "a dateTime to the day",
    "authored is a number (the R4B model reads it as a year)",
}


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
    assert {k for k, v in verdicts.items() if v} == STILL_VALID, verdicts


def test_responses_to_one_questionnaire_share_one_remembered_shell(world: World) -> None:
    """The point of the stand-ins: ids, times, subjects and identifiers differ between
    responses, yet the rest of the resource is validated once per questionnaire."""
    resources._VALID_ENTRIES.clear()
    emitted = _emitted(world, "phq-9", random.Random(3), 6)
    assert len({r["id"] for r in emitted}) == 6
    assert len({r["identifier"]["value"] for r in emitted}) == 6
    for resource in emitted:
        resources.validated(resource)
    shells = [k for k in resources._VALID_ENTRIES if k.startswith("QuestionnaireResponse:")]
    assert len(shells) == 1, shells
    # Stand-ins go into a copy: the resource sent is the one built, unchanged.
    before = copy.deepcopy(emitted[1])
    assert resources.validated(emitted[1]) is emitted[1]
    assert emitted[1] == before


def test_the_memory_of_valid_items_is_bounded(world: World, monkeypatch) -> None:
    monkeypatch.setattr(resources, "_VALID_ENTRIES_MAX", 5)
    resources._VALID_ENTRIES.clear()
    for resource in _emitted(world, "phq-9", random.Random(7), 3):
        resources.validated(resource)
    assert len(resources._VALID_ENTRIES) == 5


def test_an_identifier_checked_on_the_way_in_is_remembered_and_a_long_one_is_not() -> None:
    resources._VALID_ENTRIES.clear()
    short = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"}
    assert resources.identifier_problem(short) is None
    assert [k for k in resources._VALID_ENTRIES if k.startswith("Identifier:")] == [
        f"Identifier:{short!r}"
    ]
    # Valid, but longer than the cache keeps: accepted, and not held in memory.
    long = {"system": "urn:ietf:rfc:3986", "value": "x" * 5000}
    assert resources.identifier_problem(long) is None
    assert len(resources._VALID_ENTRIES) == 1
    # A refused identifier is never remembered, on the way in or out.
    assert resources.identifier_problem({"value": 5}) is not None
    assert len(resources._VALID_ENTRIES) == 1
    # A remembered entry never stands for a look-alike of another type: the string "5" is
    # a valid value, the number 5, 5.0 and True are not, however often "5" was seen.
    assert resources.identifier_problem({"value": "5"}) is None
    for other in (5, 5.0, True):
        assert resources.identifier_problem({"value": other}) is not None
