"""Checking a client's answers item by item, before anything is stored.

:func:`reverie.measures.scoring.score` stops at the first problem, which is right for an
engine but not for a person filling in a form: they need to see every question that still
needs an answer at once. :func:`check` lists every problem, each naming its item and
phrased for the person answering. No Django, no database.

>>> from reverie.measures.definitions import load_shipped
>>> gad7 = load_shipped()["gad-7"]
>>> problems = check(gad7, {"gad7-1": 2, "gad7-2": 9}, complete=True)
>>> problems["gad7-2"]
'Question 2: that answer is not one of the choices.'
>>> problems["gad7-3"]
'Question 3 has no answer yet. Choose the answer that fits best.'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reverie.measures.definitions import InstrumentDefinition

__all__ = ["FIELD_PREFIX", "AnswerProblems", "check", "from_form", "from_json"]

#: Name of the form field that carries an item's answer: ``item-<item id>``.
FIELD_PREFIX = "item-"


class AnswerProblems(ValueError):
    """Answers that cannot be stored; ``problems`` maps item id to a message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        first = next(iter(self.problems.values()), "the answers are incomplete")
        super().__init__(first)


def from_form(
    definition: InstrumentDefinition, data: Mapping[str, Any]
) -> tuple[dict[str, int | None], dict[str, str]]:
    """Read ``item-<id>`` fields of a submitted form: (answers, problems).

    Empty fields are unanswered; anything that is not a whole number is a problem for that
    item. Fields for unknown items are ignored, because a form only ever posts its own.
    """
    answers: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for item in definition.items:
        raw = data.get(FIELD_PREFIX + item.id)
        if raw is None or str(raw).strip() == "":
            answers[item.id] = None
            continue
        text = str(raw).strip()
        if not text.lstrip("-").isdigit():
            problems[item.id] = f"Question {item.number}: that answer is not one of the choices."
            continue
        answers[item.id] = int(text)
    return answers, problems


def from_json(
    definition: InstrumentDefinition, data: Any
) -> tuple[dict[str, int | None], dict[str, str]]:
    """Read ``{"<item id>": <int or null>, ...}`` from a JSON body: (answers, problems)."""
    if not isinstance(data, Mapping):
        return {}, {"": "answers must be an object mapping question ids to answer values"}
    answers: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for key, value in data.items():
        item = definition.item_index.get(str(key))
        if item is None:
            problems[str(key)] = f"There is no question {key!r} in this questionnaire."
        elif value is None:
            answers[item.id] = None
        elif type(value) is not int:
            problems[item.id] = f"Question {item.number}: the answer must be a whole number."
        else:
            answers[item.id] = value
    return answers, problems


def check(
    definition: InstrumentDefinition,
    answers: Mapping[str, int | None],
    *,
    complete: bool,
) -> dict[str, str]:
    """Every problem with ``answers``, keyed by item id, in form order.

    Parameters
    ----------
    complete : bool
        ``True`` for a final submission: scored items missing beyond what the definition's
        missing-data rule allows are problems, and so are a subscale's items missing beyond
        its own rule. ``False`` for a draft: only values are checked.
    """
    problems: dict[str, str] = {}
    for key in answers:
        if key not in definition.item_index:
            problems[key] = f"There is no question {key!r} in this questionnaire."
    missing: list[str] = []
    for item in definition.items:
        value = answers.get(item.id)
        if value is None:
            if item.scored:
                missing.append(item.id)
            continue
        if type(value) is not int or value not in item.weights:
            problems[item.id] = f"Question {item.number}: that answer is not one of the choices."
    unanswered: list[str] = []
    if complete and len(missing) > definition.missing.max_missing:
        unanswered.extend(missing)
    if complete:
        # A subscale may count items the total does not (the SPARQ's Negative affect items);
        # its own missing-data rule applies to them.
        for subscale in definition.subscales:
            gaps = [m.item_id for m in subscale.members if answers.get(m.item_id) is None]
            if len(gaps) > subscale.missing.max_missing:
                unanswered.extend(gaps)
    for item_id in unanswered:
        number = definition.item_index[item_id].number
        problems[item_id] = (
            f"Question {number} has no answer yet. Choose the answer that fits best."
        )
    order = {item.id: index for index, item in enumerate(definition.items)}
    return dict(sorted(problems.items(), key=lambda kv: order.get(kv[0], -1)))
