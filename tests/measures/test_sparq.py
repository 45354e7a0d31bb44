"""The SPARQ (in-Session Patient Affective Reactions Questionnaire) against its source.

Source: Stefana A, Langfus JA, Vieta E, Fusar-Poli P, Youngstrom EA. J Clin Med
2023;12(15):5156, doi:10.3390/jcm12155156, Appendix A.1: eight items rated 0 ('Not at All')
to 4 ('Very Much'); a four-item Positive affect scale and a four-item Negative affect scale
(abstract). Licence: CC BY 4.0 (MDPI, https://www.mdpi.com/openaccess).

The expected scores below are computed by hand from those facts: each scale is the sum of its
four items (0-16); Reverie's total is the Positive affect scale.
"""

from __future__ import annotations

import itertools
import random

import pytest

from reverie.measures.answers import check
from reverie.measures.definitions import load_shipped
from reverie.measures.fhir_questionnaire import (
    definition_to_questionnaire,
    questionnaire_to_definition,
)
from reverie.measures.scoring import ScoringError, score

SPARQ = load_shipped()["sparq"]
POSITIVE = ("sparq-1", "sparq-6", "sparq-7", "sparq-8")
NEGATIVE = ("sparq-2", "sparq-3", "sparq-4", "sparq-5")


def _answers(*values: int) -> dict[str, int | None]:
    return {f"sparq-{n}": v for n, v in enumerate(values, start=1)}


def _scales(values: tuple[int, ...]) -> tuple[int, int, int]:
    result = score(SPARQ, _answers(*values))
    subs = {s.id: s.score for s in result.subscales}
    return int(result.total), int(subs["positive-affect"]), int(subs["negative-affect"])


def test_items_and_labels_are_the_appendix_wording() -> None:
    texts = [item.text for item in SPARQ.items]
    assert len(texts) == 8
    assert texts[0] == "I felt happy to see my therapist."
    assert texts[2] == "I felt worried my therapist couldn\u2019t help me."
    # Kept exactly as printed, including 'to spoke'.
    assert texts[4] == (
        "I felt afraid to spoke my mind, for fear of being judged, criticized, disliked by my "
        "therapist."
    )
    assert texts[7] == "I felt appreciated by my therapist."
    for item in SPARQ.items:
        assert [(o.display, o.value) for o in item.options] == [
            ("Not at All", 0),
            ("A Little", 1),
            ("Somewhat", 2),
            ("A Lot", 3),
            ("Very Much", 4),
        ]
        assert not item.reverse


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((0,) * 8, (0, 0, 0)),
        ((4,) * 8, (16, 16, 16)),
        # positive 4+4+3+2 = 13; negative 1+0+2+3 = 6
        ((4, 1, 0, 2, 3, 4, 3, 2), (13, 13, 6)),
        # a rupture-like session: little positive, much negative
        ((0, 4, 4, 3, 4, 1, 0, 0), (1, 1, 15)),
    ],
)
def test_scales_are_sums_of_their_four_items(values: tuple[int, ...], expected: tuple) -> None:
    assert _scales(values) == expected


def test_every_answer_set_scores_like_the_hand_rule() -> None:
    for values in itertools.islice(itertools.product(range(5), repeat=8), 0, None, 97):
        positive = sum(values[n - 1] for n in (1, 6, 7, 8))
        negative = sum(values[n - 1] for n in (2, 3, 4, 5))
        assert _scales(values) == (positive, positive, negative)


def test_direction_and_the_absence_of_unpublished_rules() -> None:
    assert SPARQ.higher_is_better
    assert (SPARQ.score_min, SPARQ.score_max) == (0, 16)
    assert SPARQ.bands == () and SPARQ.caseness is None and SPARQ.reliable_change is None
    assert SPARQ.critical_items == ()
    assert SPARQ.scored_item_ids == POSITIVE
    assert [m.item_id for m in SPARQ.subscales[1].members] == list(NEGATIVE)


def test_a_missing_negative_item_is_refused_not_scored_as_zero() -> None:
    answers = _answers(4, 1, 0, 2, 3, 4, 3, 2)
    answers["sparq-3"] = None
    with pytest.raises(ScoringError) as caught:
        score(SPARQ, answers)
    assert caught.value.item_id == "sparq-3"
    # The form check names the question, so the client sees it before anything is stored.
    assert list(check(SPARQ, answers, complete=True)) == ["sparq-3"]
    assert check(SPARQ, answers, complete=False) == {}


def test_the_licence_is_cc_by_with_the_source_credited_on_the_form() -> None:
    licence = SPARQ.licence
    assert (licence.electronic_use, licence.spdx) == ("permitted", "CC-BY-4.0")
    assert licence.url == "https://www.mdpi.com/openaccess"
    assert licence.verified_on == "2026-12-06"
    assert licence.attribution is not None and "10.3390/jcm12155156" in licence.attribution
    assert SPARQ.source.doi == "10.3390/jcm12155156"


def test_fhir_export_then_import_keeps_both_scales() -> None:
    questionnaire = definition_to_questionnaire(SPARQ)
    negative = next(i for i in questionnaire["item"] if i["linkId"] == "sparq-2")
    # Unscored for the total but weighted, because the Negative affect scale counts it.
    assert not negative["required"]
    assert all("extension" in option for option in negative["answerOption"])
    imported = questionnaire_to_definition(
        questionnaire, licence={"holder": "x", "terms": "y", "electronic_use": "permitted"}
    )
    assert imported.timing == "after_session"
    rng = random.Random("sparq")
    for _ in range(200):
        answers = {item.id: rng.choice(item.values) for item in SPARQ.items}
        ours, theirs = score(SPARQ, answers), score(imported, answers)
        assert theirs.total == ours.total
        assert [s.score for s in theirs.subscales] == [s.score for s in ours.subscales]


def test_the_sparq_is_asked_after_sessions_and_other_instruments_before() -> None:
    shipped = load_shipped()
    assert SPARQ.timing == "after_session"
    assert {shipped[code].timing for code in ("phq-9", "gad-7", "core-10")} == {"before_session"}


def test_an_unknown_timing_is_refused_with_the_field_named() -> None:
    import copy
    import json
    from importlib import resources

    from reverie.measures.definitions import load_definition

    text = resources.files("reverie.measures.instruments").joinpath("sparq.json").read_text("utf-8")
    doc = copy.deepcopy(json.loads(text))
    doc["timing"] = "during_session"
    with pytest.raises(ValueError) as caught:
        load_definition(doc)
    assert "$.timing" in str(caught.value)
