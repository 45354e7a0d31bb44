"""The CORE-OM (Clinical Outcomes in Routine Evaluation - Outcome Measure) against its sources.

Facts used here, and where they were read:

* Evans et al. 2002, Br J Psychiatry 180:51-60, doi:10.1192/bjp.180.1.51 (abstract): 34 items,
  domains of subjective well-being, problems/symptoms, functioning and risk.
* CORE System Trust, "Information about the CORE-OM": 4, 12, 12 and 6 items per domain; eight
  positively cued items are reverse scored; scores are item means (0-4), often multiplied by 10.
* CORE System Trust, "What's in a name (1): scoring CORE measures": prorate when no more than
  10% of a score's items are missing (3 for the total and for the 28 non-risk items, 1 for
  problems and functioning, none for well-being and risk); clinical score = mean x 10.
* Connell et al. 2007, Br J Psychiatry 190:69-74, doi:10.1192/bjp.bp.105.017657 (abstract):
  clinical cut-off 9.9 on the 0-40 scale, rounded to 10.
* Item wording, domains and reverse-keyed items from independent reproductions that agree
  (see ``source.note`` in coreom.json).

The expected scores are computed by hand in the comments: each option's weight is 10 x its
printed value (reverse-keyed: 40 - 10 x value), every score is the mean of its items' weights
(the clinical score, 0-40), rounded half up.
"""

from __future__ import annotations

import random

import pytest

from reverie.measures.answers import check
from reverie.measures.definitions import load_shipped
from reverie.measures.fhir_questionnaire import (
    definition_to_questionnaire,
    questionnaire_to_definition,
)
from reverie.measures.scoring import ScoringError, score

COREOM = load_shipped()["core-om"]
WELLBEING = (4, 14, 17, 31)
PROBLEMS = (2, 5, 8, 11, 13, 15, 18, 20, 23, 27, 28, 30)
FUNCTIONING = (1, 3, 7, 10, 12, 19, 21, 25, 26, 29, 32, 33)
RISK = (6, 9, 16, 22, 24, 34)
REVERSED = (3, 4, 7, 12, 19, 21, 31, 32)


def _worked_example() -> dict[str, int | None]:
    """Printed values (0-4) of one hand-scored form."""
    raw: dict[int, int] = {}
    # Well-being: 4 (reversed) 'Not at all' -> 40; 14 and 17 'Often' -> 30 each;
    # 31 (reversed) 'Only occasionally' -> 30. Sum 130, mean 32.5 -> 33 (half up).
    raw.update({4: 0, 14: 3, 17: 3, 31: 1})
    # Problems (none reversed): six at 2, four at 3, two at 1 -> 120 + 120 + 20 = 260,
    # mean 21.67 -> 22.
    raw.update(dict(zip(PROBLEMS, (2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1), strict=True)))
    # Functioning: the six reversed items at 1 -> 30 each (180); the other six at 2 -> 20
    # each (120). Sum 300, mean 25.
    raw.update({n: (1 if n in REVERSED else 2) for n in FUNCTIONING})
    # Risk: all 'Not at all' except item 9 'Only occasionally' -> 10. Mean 1.67 -> 2.
    raw.update({n: 0 for n in RISK})
    raw[9] = 1
    # Total: (130 + 260 + 300 + 10) / 34 = 20.59 -> 21. Non-risk: 690 / 28 = 24.64 -> 25.
    return {f"coreom-{n}": v for n, v in raw.items()}


def _subscales(answers: dict[str, int | None]) -> dict[str, float]:
    return {s.id: s.score for s in score(COREOM, answers).subscales}


def test_items_labels_domains_and_reverse_keying_are_as_published() -> None:
    texts = [item.text for item in COREOM.items]
    assert len(texts) == 34 and [item.number for item in COREOM.items] == list(range(1, 35))
    assert texts[0] == "I have felt terribly alone and isolated"
    assert texts[3] == "I have felt O.K. about myself"
    assert texts[10] == "Tension and anxiety have prevented me doing important things"
    assert texts[15] == "I made plans to end my life"
    assert texts[33] == "I have hurt myself physically or taken dangerous risks with my health"
    for item in COREOM.items:
        assert [(o.display, o.value, o.weight) for o in item.options] == [
            ("Not at all", 0, 0),
            ("Only occasionally", 1, 10),
            ("Sometimes", 2, 20),
            ("Often", 3, 30),
            ("Most or all the time", 4, 40),
        ]
    assert tuple(item.number for item in COREOM.items if item.reverse) == REVERSED
    assert dict(COREOM.item_index["coreom-3"].weights) == {0: 40, 1: 30, 2: 20, 3: 10, 4: 0}
    domains = {
        s.id: tuple(int(m.item_id.split("-")[1]) for m in s.members) for s in COREOM.subscales
    }
    assert domains == {
        "wellbeing": WELLBEING,
        "problems": PROBLEMS,
        "functioning": FUNCTIONING,
        "risk": RISK,
        "non-risk": tuple(sorted(WELLBEING + PROBLEMS + FUNCTIONING)),
    }
    assert (COREOM.score_min, COREOM.score_max, COREOM.integer_scores) == (0, 40, True)
    # The CORE-10's items are CORE-OM items, worded the same.
    core10 = {item.text for item in load_shipped()["core-10"].items}
    assert core10 <= set(texts)


def test_the_worked_example_scores_as_computed_by_hand() -> None:
    result = score(COREOM, _worked_example())
    assert result.total == 21 and abs(result.raw_total - 700 / 34) < 1e-9
    assert not result.prorated and result.missing == ()
    assert _subscales(_worked_example()) == {
        "wellbeing": 33,  # 32.5 rounds half up (Python's round would give 32)
        "problems": 22,
        "functioning": 25,
        "risk": 2,
        "non-risk": 25,
    }
    assert result.caseness is True and result.band is None
    assert result.critical_hits == ()  # item 9 is a risk item but not a flagged one


def test_clinical_score_is_ten_times_the_mean_item_score() -> None:
    rng = random.Random("core-om")
    for _ in range(300):
        answers: dict[str, int | None] = {item.id: rng.randint(0, 4) for item in COREOM.items}
        mean_item = (
            sum(
                (4 - v) if int(k.split("-")[1]) in REVERSED else v
                for k, v in answers.items()
                if v is not None
            )
            / 34
        )
        result = score(COREOM, answers)
        assert abs(result.raw_total - 10 * mean_item) < 1e-9
        assert result.total == int(10 * mean_item + 0.5)


def test_every_item_reversed_or_not_at_its_middle_gives_twenty() -> None:
    answers: dict[str, int | None] = {item.id: 2 for item in COREOM.items}
    result = score(COREOM, answers)
    assert result.total == 20 and set(_subscales(answers).values()) == {20}
    # Reversed items at 'Often' and the rest at 'Only occasionally' all weigh 10.
    answers = {f"coreom-{n}": (3 if n in REVERSED else 1) for n in range(1, 35)}
    result = score(COREOM, answers)
    assert result.total == 10 and result.caseness is True
    assert set(_subscales(answers).values()) == {10}
    # One step lower everywhere that matters: 9 (below the cut-off of 10).
    answers["coreom-1"] = 0
    answers["coreom-2"] = 0
    answers["coreom-5"] = 0
    answers["coreom-8"] = 0  # 300 / 34 = 8.82 -> 9
    assert score(COREOM, answers).total == 9
    assert score(COREOM, answers).caseness is False


def test_one_problems_and_one_functioning_item_may_be_missing() -> None:
    answers = _worked_example()
    answers["coreom-1"] = None  # functioning, printed 2 -> weight 20
    result = score(COREOM, answers)
    # Functioning 280 / 11 = 25.45 -> 25; total 680 / 33 = 20.61 -> 21;
    # non-risk 670 / 27 = 24.81 -> 25.
    assert result.prorated and result.missing == ("coreom-1",) and result.total == 21
    subs = {s.id: s for s in result.subscales}
    assert subs["functioning"].score == 25 and subs["functioning"].prorated
    assert subs["non-risk"].score == 25 and not subs["wellbeing"].prorated
    answers["coreom-2"] = None  # problems, printed 2 -> 20: 240 / 11 = 21.8 -> 22
    result = score(COREOM, answers)
    assert result.missing == ("coreom-1", "coreom-2") and result.total == 21  # 660/32 = 20.6
    assert {s.id: s.score for s in result.subscales}["problems"] == 22


@pytest.mark.parametrize(
    ("gaps", "named"),
    [
        (("coreom-1", "coreom-3"), "coreom-1"),  # two functioning items
        (("coreom-2", "coreom-5"), "coreom-2"),  # two problems items
        (("coreom-4",), "coreom-4"),  # a well-being item
        (("coreom-16",), "coreom-16"),  # a risk item
    ],
)
def test_a_domain_missing_more_than_its_rule_allows_is_refused(
    gaps: tuple[str, ...], named: str
) -> None:
    answers = _worked_example()
    for item_id in gaps:
        answers[item_id] = None
    with pytest.raises(ScoringError) as caught:
        score(COREOM, answers)
    assert caught.value.item_id == named and caught.value.reason == "too_many_missing"
    assert named in check(COREOM, answers, complete=True)
    assert check(COREOM, answers, complete=False) == {}


def test_plans_to_end_life_is_flagged_as_on_the_core10() -> None:
    (rule,) = COREOM.critical_items
    assert (rule.item_id, rule.threshold, rule.direction) == ("coreom-16", 1, "at_or_above")
    (core10_rule,) = load_shipped()["core-10"].critical_items
    core10 = load_shipped()["core-10"].item_index[core10_rule.item_id]
    assert COREOM.item_index["coreom-16"].text == core10.text
    answers = _worked_example()
    answers["coreom-16"] = 1
    assert [hit.item_id for hit in score(COREOM, answers).critical_hits] == ["coreom-16"]


def test_cut_off_licence_and_sources_are_recorded() -> None:
    assert COREOM.caseness is not None
    assert (COREOM.caseness.threshold, COREOM.caseness.direction) == (10, "at_or_above")
    assert COREOM.caseness.source.doi == "10.1192/bjp.bp.105.017657"
    assert COREOM.reliable_change is None  # not verified; see the file's notes
    assert COREOM.source.doi == "10.1192/bjp.180.1.51"
    assert COREOM.missing.max_missing == 3 and COREOM.missing.handling == "prorate"
    assert COREOM.missing.source is not None and COREOM.missing.source.url == (
        "https://www.coresystemtrust.org.uk/whats-in-a-name-1-scoring-core-measures/"
    )
    licence = COREOM.licence
    assert (licence.electronic_use, licence.spdx) == ("permitted", "CC-BY-NC-ND-4.0")
    assert licence.url == "https://www.coresystemtrust.org.uk/home/copyright-licensing/"
    assert licence.verified_on == "2026-12-07"
    assert licence.attribution == (
        "© CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf"
    )


def test_fhir_export_then_import_gives_the_same_scores() -> None:
    questionnaire = definition_to_questionnaire(COREOM)
    imported = questionnaire_to_definition(
        questionnaire, licence={"holder": "x", "terms": "y", "electronic_use": "permitted"}
    )
    assert imported.method == "mean" and imported.missing == COREOM.missing
    assert [s.missing for s in imported.subscales] == [s.missing for s in COREOM.subscales]
    rng = random.Random("core-om-fhir")
    for _ in range(200):
        answers: dict[str, int | None] = {item.id: rng.randint(0, 4) for item in COREOM.items}
        if rng.random() < 0.5:
            answers[f"coreom-{rng.choice(FUNCTIONING)}"] = None
        ours, theirs = score(COREOM, answers), score(imported, answers)
        assert (theirs.total, theirs.caseness, theirs.critical_hits, theirs.prorated) == (
            ours.total,
            ours.caseness,
            ours.critical_hits,
            ours.prorated,
        )
        assert [(s.id, s.score) for s in theirs.subscales] == [
            (s.id, s.score) for s in ours.subscales
        ]
