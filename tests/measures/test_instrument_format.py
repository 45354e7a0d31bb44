"""The instrument format's newer parts (licence block, translations, direction), the CORE-10
against its published figures, the Spanish PHQ-9, and FHIR import of scoring rules.

Published values used here:

* CORE-10 (Barkham et al. 2013, Couns Psychother Res 13:3-13, doi:10.1080/14733145.2012.729069):
  total 0-40, items 2 and 3 reverse-scored, clinical cut-off 11, reliable change index 6
  (90% level), alpha .90. Manual norms (Connell & Barkham 2007): clinical 19.7 (SD 7.7),
  general population 4.7 (SD 4.8).
* Jacobson & Truax (1991) reliable change and cut-off c, computed by hand below.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import math
import random
from typing import Any

import pytest

from reverie.measures.definitions import load_definition, load_shipped
from reverie.measures.fhir_questionnaire import (
    REVERSE_SCORED_URL,
    SCORING_RULES_URL,
    definition_to_questionnaire,
    questionnaire_to_definition,
)
from reverie.measures.scoring import jacobson_truax_threshold, score
from reverie.outcomes.significance import IntakeSums, reference
from reverie.testing import World

SHIPPED = load_shipped()
CORE10 = SHIPPED["core-10"]
PHQ9 = SHIPPED["phq-9"]
LICENCE = {"holder": "Example", "terms": "Free to use.", "electronic_use": "permitted"}


def _doc(code: str) -> dict[str, Any]:
    from importlib import resources

    name = {
        "phq-9": "phq9.json",
        "gad-7": "gad7.json",
        "core-10": "core10.json",
        "core-om": "coreom.json",
        "sparq": "sparq.json",
    }[code]
    text = resources.files("reverie.measures.instruments").joinpath(name).read_text("utf-8")
    return json.loads(text)


def _core10(*values: int) -> dict[str, int | None]:
    return {f"core10-{n}": v for n, v in enumerate(values, start=1)}


def _problems(doc: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as caught:
        load_definition(doc)
    return str(caught.value)


# --- CORE-10 against its published figures ----------------------------------------------------


def test_core10_total_reverses_items_2_and_3() -> None:
    # Every answer "Not at all": the two positively worded items count 4 each.
    assert score(CORE10, _core10(*[0] * 10)).total == 8
    # Every answer "Most or all of the time": 8 items x 4, items 2 and 3 count 0.
    assert score(CORE10, _core10(*[4] * 10)).total == 32
    # The extremes of the published 0-40 range.
    assert score(CORE10, _core10(0, 4, 4, 0, 0, 0, 0, 0, 0, 0)).total == 0
    assert score(CORE10, _core10(4, 0, 0, 4, 4, 4, 4, 4, 4, 4)).total == 40
    assert (CORE10.score_min, CORE10.score_max) == (0, 40)
    items = {item.id: item for item in CORE10.items}
    assert [i for i, item in items.items() if item.reverse] == ["core10-2", "core10-3"]
    assert dict(items["core10-2"].weights) == {0: 4, 1: 3, 2: 2, 3: 1, 4: 0}


def _core10_with_total(total: int) -> dict[str, int | None]:
    """Answers whose CORE-10 total is ``total`` (items 2 and 3 at 'Most or all', = 0)."""
    values = [0, 4, 4] + [0] * 7
    left = total
    for index in (0, 3, 4, 5, 6, 7, 8, 9):
        values[index] = min(4, left)
        left -= values[index]
    assert left == 0
    return _core10(*values)


@pytest.mark.parametrize(
    ("total", "band", "case"),
    [
        (10, "non-clinical", False),
        (11, "mild", True),
        (14, "mild", True),
        (15, "moderate", True),
        (19, "moderate", True),
        (20, "moderate-severe", True),
        (24, "moderate-severe", True),
        (25, "severe", True),
        (32, "severe", True),
    ],
)
def test_core10_band_and_caseness_edges(total: int, band: str, case: bool) -> None:
    result = score(CORE10, _core10_with_total(total))
    assert result.total == total
    assert result.band is not None and result.band.code == band
    assert result.caseness is case


def test_core10_reliable_change_matches_the_published_index_and_its_norms() -> None:
    rc = CORE10.reliable_change
    assert rc is not None and rc.threshold == 6 and rc.improvement == "decrease"
    assert rc.norms.reliability is not None and rc.norms.reliability.value == 0.90
    # Barkham et al. give the index at the 90% level: z = 1.645 with the clinical SD 7.7 and
    # alpha .90 gives 1.645 * 7.7 * sqrt(2 * 0.1) = 5.66, which rounds to the published 6.
    by_hand = 1.645 * 7.7 * math.sqrt(2 * (1 - 0.90))
    assert jacobson_truax_threshold(7.7, 0.90, z=1.645) == pytest.approx(by_hand)
    assert round(by_hand) == 6
    assert CORE10.higher_is_worse and not CORE10.higher_is_better


def test_core10_gets_a_jacobson_truax_reference_from_its_norms() -> None:
    # A practice whose 40 intakes average 19.7 (SD 7.7), as in the manual's clinical sample:
    # c = (4.8 * 19.7 + 7.7 * 4.7) / (4.8 + 7.7) = 10.46 and the 95% reliable change is
    # 1.96 * 7.7 * sqrt(0.2) = 6.75.
    n, m, sd = 40, 19.7, 7.7
    ref = reference(CORE10, IntakeSums(n, n * m, sd * sd * (n - 1) + n * m * m))
    assert ref is not None and ref.kind == "c"
    assert ref.cutoff == pytest.approx((4.8 * 19.7 + 7.7 * 4.7) / 12.5, abs=1e-9)
    assert ref.rc_points == pytest.approx(1.96 * 7.7 * math.sqrt(0.2), abs=1e-9)


def test_core10_risk_item_is_critical_from_only_occasionally() -> None:
    (rule,) = CORE10.critical_items
    assert rule.item_id == "core10-6" and rule.threshold == 1
    assert not score(CORE10, _core10(0, 4, 4, 0, 0, 0, 0, 0, 0, 0)).critical_hits
    hits = score(CORE10, _core10(0, 4, 4, 0, 0, 1, 0, 0, 0, 0)).critical_hits
    assert [hit.item_id for hit in hits] == ["core10-6"]


def test_core10_records_its_licence_and_keeps_the_copyright_line() -> None:
    licence = CORE10.licence
    assert licence.electronic_use == "permitted" and licence.spdx == "CC-BY-NC-ND-4.0"
    assert licence.url == "https://www.coresystemtrust.org.uk/home/copyright-licensing/"
    assert licence.verified_on == "2026-12-06"
    assert (
        licence.attribution
        == "© CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf"
    )


def test_phq9_crisis_rule_is_unchanged() -> None:
    (rule,) = PHQ9.critical_items
    assert (rule.item_id, rule.threshold, rule.direction) == ("phq9-9", 1, "at_or_above")


# --- translations -----------------------------------------------------------------------------


def test_spanish_phq9_words_every_item_and_scores_identically() -> None:
    spanish = PHQ9.localised("es-US")
    assert PHQ9.languages == ("en", "es-US")
    assert spanish.language == "es-US" and spanish.instructions.startswith("Durante las últimas")
    assert [o.display for o in spanish.items[0].options] == [
        "Ningún día",
        "Varios días",
        "Más de la mitad de los días",
        "Casi todos los días",
    ]
    assert spanish.licence.attribution.startswith("Elaborado por los doctores")
    assert [i.id for i in spanish.items] == [i.id for i in PHQ9.items]
    rng = random.Random(18)
    for _ in range(200):
        answers: dict[str, int | None] = {f"phq9-{n}": rng.randint(0, 3) for n in range(1, 10)}
        assert score(spanish, answers) == score(PHQ9, answers)
    # The English definition is untouched, and an unknown tag falls back to it.
    assert PHQ9.items[0].text == "Little interest or pleasure in doing things"
    assert PHQ9.localised("fr") is PHQ9 and PHQ9.localised(None) is PHQ9


def test_a_translation_must_word_every_item_and_option_and_nothing_else() -> None:
    doc = _doc("phq-9")
    spanish = doc["translations"]["es-US"]
    del spanish["items"]["phq9-4"]
    spanish["items"]["phq9-99"] = "¿?"
    del spanish["options"]["LA6571-9"]
    spanish["options"]["LA6573-5"] = ""
    message = _problems(doc)
    assert "$.translations.es-US.items: no translation for phq9-4" in message
    assert "$.translations.es-US.items: unknown key(s) phq9-99" in message
    assert "$.translations.es-US.options: no translation for LA6571-9" in message
    assert "$.translations.es-US.options.LA6573-5: expected a non-empty string" in message


def test_bad_language_tags_are_refused() -> None:
    doc = _doc("phq-9")
    doc["translations"]["Spanish"] = doc["translations"]["es-US"]
    doc["translations"]["en"] = doc["translations"]["es-US"]
    message = _problems(doc)
    assert "$.translations.Spanish: the key must be a BCP 47 tag" in message
    assert "$.translations.en: repeats the definition's own language" in message
    doc = _doc("phq-9")
    doc["language"] = "english"
    assert "$.language: must be a BCP 47 tag" in _problems(doc)


# --- licence block and direction --------------------------------------------------------------


def test_a_band_label_longer_than_the_stored_column_is_refused() -> None:
    doc = _doc("core-10")
    doc["bands"][3]["label"] = "Moderate-to-severe psychological distress"  # 41 characters
    assert "$.bands[3].label: must be at most 40 characters" in _problems(doc)


def test_licence_verified_on_must_be_a_date() -> None:
    doc = _doc("gad-7")
    doc["licence"]["verified_on"] = "6 Dec 2026"
    assert "$.licence.verified_on: must be a date YYYY-MM-DD" in _problems(doc)
    doc["licence"]["verified_on"] = "2026-02-30"
    assert "$.licence.verified_on: must be a date YYYY-MM-DD" in _problems(doc)
    doc["licence"]["licence_url"] = "x"
    assert "unknown field(s) 'licence_url'" in _problems(doc)


def test_direction_can_be_written_either_way_and_must_agree_with_reliable_change() -> None:
    doc = _doc("gad-7")
    doc["scoring"]["higher_is_better"] = True
    message = _problems(doc)
    assert "higher_is_worse and higher_is_better contradict each other" in message
    assert "$.reliable_change.improvement: is 'decrease'" in message
    del doc["scoring"]["higher_is_worse"]
    doc["reliable_change"]["improvement"] = "increase"
    assert load_definition(doc).higher_is_better
    doc["scoring"]["higher_is_better"] = False
    doc["reliable_change"]["improvement"] = "decrease"
    assert load_definition(doc).higher_is_worse


# --- FHIR import of scoring rules -------------------------------------------------------------


@pytest.mark.parametrize("code", ["phq-9", "gad-7", "core-10", "core-om"])
def test_export_then_import_keeps_every_scoring_fact(code: str) -> None:
    shipped = SHIPPED[code]
    imported = questionnaire_to_definition(definition_to_questionnaire(shipped), licence=LICENCE)
    for attribute in ("bands", "caseness", "reliable_change", "critical_items", "missing"):
        assert getattr(imported, attribute) == getattr(shipped, attribute), attribute
    assert imported.higher_is_worse == shipped.higher_is_worse
    assert [i.reverse for i in imported.items] == [i.reverse for i in shipped.items]
    assert [dict(i.weights) for i in imported.items] == [dict(i.weights) for i in shipped.items]
    scored = [item for item in shipped.items if item.scored]
    rng = random.Random(code)
    for _ in range(100):
        answers = {item.id: rng.choice(item.values) for item in scored}
        ours, theirs = score(shipped, answers), score(imported, answers)
        assert (theirs.total, theirs.band, theirs.caseness, theirs.critical_hits) == (
            ours.total,
            ours.band,
            ours.caseness,
            ours.critical_hits,
        )


def _paper(world: World, instrument: Any, answers: dict[str, int | None], **extra: Any) -> Any:
    """The therapist types in ``world.client``'s paper form of ``instrument`` (a session)."""
    from reverie.audit import trail
    from reverie.measures import actions

    return actions.submit(
        trail.Context(user=world.therapist),
        client=world.client,
        instrument=instrument,
        answers=answers,
        source="paper",
        episode=world.episode,
        timepoint="session",
        entered_by=world.therapist,
        **extra,
    )


def _checkin(rules: Any, *, reverse_second: bool = False) -> dict[str, Any]:
    """A small hand-written SDC Questionnaire: three 0-3 items, weights on answerOption."""

    def item(n: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "linkId": f"q{n}",
            "text": f"Question {n}",
            "type": "choice",
            "answerOption": [
                {
                    "valueCoding": {"system": "http://example.org/a", "code": f"a{v}"},
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/itemWeight",
                            "valueDecimal": (3 - v) if (reverse_second and n == 2) else v,
                        }
                    ],
                }
                for v in range(4)
            ],
        }
        if reverse_second and n == 2:
            out["extension"] = [{"url": REVERSE_SCORED_URL, "valueBoolean": True}]
        return out

    q: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": "checkin",
        "status": "active",
        "copyright": "Free to use.",
        "item": [item(1), item(2), item(3)],
    }
    if rules is not None:
        q["extension"] = [
            {
                "url": SCORING_RULES_URL,
                "valueString": rules if isinstance(rules, str) else json.dumps(rules),
            }
        ]
    return q


SOURCE = {"citation": "Example practice's own check-in, 2026."}
RULES = {
    "bands": [
        {"min": 0, "max": 2, "label": "Low", "code": "low"},
        {"min": 3, "max": 9, "label": "High", "code": "high"},
    ],
    "caseness": {"threshold": 3, "direction": "at_or_above", "source": SOURCE},
    "reliable_change": {"threshold": 2, "improvement": "decrease", "source": SOURCE},
    "critical_items": [
        {"item": "q3", "threshold": 3, "direction": "at_or_above", "label": "Ask", "source": SOURCE}
    ],
    "subscales": [{"id": "first-two", "name": "First two", "items": ["q1", "q2"], "method": "sum"}],
}


def test_an_imported_questionnaire_gets_bands_caseness_rci_critical_items_and_subscales() -> None:
    d = questionnaire_to_definition(_checkin(RULES, reverse_second=True), licence=LICENCE)
    assert [b.code for b in d.bands] == ["low", "high"]
    assert d.caseness is not None and d.caseness.threshold == 3
    assert d.reliable_change is not None and d.reliable_change.threshold == 2
    assert d.items[1].reverse and dict(d.items[1].weights) == {0: 3, 1: 2, 2: 1, 3: 0}
    result = score(d, {"q1": 1, "q2": 3, "q3": 3})  # 1 + 0 + 3
    assert (result.total, result.band.code, result.caseness) == (4, "high", True)
    assert [s.score for s in result.subscales] == [1]
    assert [hit.item_id for hit in result.critical_hits] == ["q3"]
    plain = questionnaire_to_definition(_checkin(None), licence=LICENCE)
    assert (plain.bands, plain.caseness, plain.reliable_change, plain.critical_items) == (
        (),
        None,
        None,
        (),
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("{not json", "scoring-rules extension is not valid JSON"),
        ("[1, 2]", "valueString must hold a JSON object"),
        ({"bandz": []}, "unknown key(s) bandz"),
        (
            {
                **RULES,
                "bands": [
                    {"min": 0, "max": 1, "label": "Low", "code": "low"},
                    {"min": 3, "max": 9, "label": "High", "code": "high"},
                ],
            },
            "$.bands[1].min: must be 2",
        ),
        (
            {**RULES, "caseness": {"threshold": 30, "direction": "at_or_above", "source": SOURCE}},
            "$.caseness.threshold: must lie within the score range 0-9",
        ),
        (
            {**RULES, "critical_items": [{**RULES["critical_items"][0], "item": "q9"}]},
            "$.critical_items[0].item: no item with id 'q9'",
        ),
        ({**RULES, "higher_is_better": True}, "$.reliable_change.improvement: is 'decrease'"),
    ],
)
def test_bad_scoring_rules_are_refused_with_the_field_named(rules: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        questionnaire_to_definition(_checkin(rules), licence=LICENCE)
    assert message in str(caught.value)


def test_every_shipped_file_validates_and_permits_electronic_use() -> None:
    assert set(SHIPPED) >= {"phq-9", "gad-7", "core-10", "core-om"}
    for definition in SHIPPED.values():
        licence = definition.licence
        assert licence.electronic_use == "permitted"
        assert licence.url and licence.verified_on and licence.name, definition.id
        # The doc is valid on its own, and a deep copy loads to an equal definition.
        assert load_definition(copy.deepcopy(_doc(definition.id))) == definition


def test_answers_in_every_language_score_identically_for_every_shipped_translation() -> None:
    for definition in SHIPPED.values():
        for tag in definition.translations:
            localised = definition.localised(tag)
            scored = [item for item in definition.items if item.scored]
            for values in itertools.islice(
                itertools.product(*(item.values for item in scored)), 0, 4 ** len(scored), 997
            ):
                answers = dict(zip((item.id for item in scored), values, strict=True))
                assert score(localised, answers).total == score(definition, answers).total


# --- an imported questionnaire in a client's trajectory ---------------------------------------


@pytest.mark.django_db
def test_an_imported_questionnaire_with_rules_gets_a_trajectory_like_a_shipped_one(world) -> None:
    from django.utils import timezone

    from reverie.audit import trail
    from reverie.measures import actions
    from reverie.outcomes import trajectory

    instrument = actions.import_instrument(
        trail.Context(user=world.admin),
        practice=world.practice,
        questionnaire=_checkin(RULES, reverse_second=True),
        licence_holder="Example practice",
        licence_terms="Free to use.",
        permits_electronic_use=True,
    )
    now = timezone.now()
    for days, answers in ((14, {"q1": 3, "q2": 0, "q3": 3}), (0, {"q1": 0, "q2": 3, "q3": 0})):
        _paper(world, instrument, answers, completed_at=now - datetime.timedelta(days=days))
    (traj,) = [t for t in trajectory.load(world.client).instruments if t.code == instrument.code]
    assert (traj.caseness, traj.reliable_change) == (3.0, 2.0)
    assert [p.total for p in traj.points] == [9, 0]
    assert [p.band for p in traj.points] == ["High", "Low"]
    (span,) = traj.episodes
    assert span.category == "a reliable improvement"


# --- totals are stored exactly: whole numbers only, never truncated ---------------------------

#: The check-in scored as the unrounded mean of its three items: totals such as 8/3.
MEAN_RULES = {"method": "mean"}


def _renamed(questionnaire: dict[str, Any], name: str) -> dict[str, Any]:
    # Parsed definitions are cached per (pk, code, version), and SQLite reuses a rolled-back
    # pk: an id and version of its own keep another test's check-in out of this one.
    return {**questionnaire, "id": name, "version": name}


def test_every_shipped_instrument_has_whole_number_totals() -> None:
    # Administration.total holds whole numbers; a shipped file that could score 2.6 would
    # have no exact place to go. PHQ-9, GAD-7, CORE-10 and SPARQ sum whole weights and
    # refuse gaps; the CORE-OM rounds its clinical scores half up.
    for definition in SHIPPED.values():
        assert definition.integer_scores, definition.id
        assert isinstance(definition.score_min, int) and isinstance(definition.score_max, int)


def test_stored_total_is_the_engine_total_or_an_error_never_a_truncation() -> None:
    from reverie.measures.scoring import stored_total

    mean = questionnaire_to_definition(_checkin(MEAN_RULES), licence=LICENCE)
    assert not mean.integer_scores
    fractional = score(mean, {"q1": 3, "q2": 2, "q3": 3})
    assert fractional.total == pytest.approx(8 / 3)
    with pytest.raises(ValueError, match="not a whole number"):
        stored_total(fractional)
    whole = score(mean, {"q1": 3, "q2": 3, "q3": 3})  # a mean of 3.0
    assert (stored_total(whole), type(stored_total(whole))) == (3, int)
    phq9 = score(PHQ9, {f"phq9-{n}": 1 for n in range(1, 10)})
    assert (stored_total(phq9), type(stored_total(phq9))) == (9, int)


@pytest.mark.django_db
def test_a_questionnaire_with_fractional_totals_is_refused_on_import(world: World) -> None:
    from reverie.audit import trail
    from reverie.measures import actions
    from reverie.measures.models import Instrument

    with pytest.raises(actions.MeasureActionError, match="not whole numbers"):
        actions.import_instrument(
            trail.Context(user=world.admin),
            practice=world.practice,
            questionnaire=_checkin(MEAN_RULES),
            licence_holder="Example practice",
            licence_terms="Free to use.",
            permits_electronic_use=True,
        )
    assert not Instrument.objects.filter(practice=world.practice).exists()


@pytest.mark.django_db
def test_a_fractional_total_is_refused_at_submission_not_stored_truncated(world: World) -> None:
    # An instrument row whose definition scores fractions (written by hand, or by code that
    # skipped the import check) must not get a total of 2 stored beside a score of 2.67.
    from reverie.measures import actions
    from reverie.measures.fhir_questionnaire import questionnaire_to_document
    from reverie.measures.models import Administration, Instrument

    document = questionnaire_to_document(
        _renamed(_checkin(MEAN_RULES), "checkin-mean"),
        instrument_id=f"{world.practice.slug}-checkin-mean",
        licence=LICENCE,
    )
    instrument = Instrument.objects.create(
        code=document["id"], name="Check-in", definition=document, practice=world.practice
    )
    with pytest.raises(actions.MeasureActionError, match="whole number"):
        _paper(world, instrument, {"q1": 3, "q2": 2, "q3": 3})
    assert not Administration.objects.filter(instrument=instrument).exists()


@pytest.mark.django_db
def test_a_fractional_subscale_score_is_stored_and_observed_exactly(world: World) -> None:
    # The whole-number rule is for the total (its column); subscale scores live in the
    # result JSON and may be fractional: 2.5 stays 2.5 there and in the FHIR Observation.
    from reverie.audit import trail
    from reverie.fhir.resources import observations
    from reverie.measures import actions

    rules = {
        **RULES,
        "subscales": [
            {"id": "first-two", "name": "First two", "items": ["q1", "q2"], "method": "mean"}
        ],
    }
    instrument = actions.import_instrument(
        trail.Context(user=world.admin),
        practice=world.practice,
        questionnaire=_renamed(_checkin(rules), "checkin-mean-subscale"),
        licence_holder="Example practice",
        licence_terms="Free to use.",
        permits_electronic_use=True,
    )
    stored = _paper(world, instrument, {"q1": 3, "q2": 2, "q3": 0}).administration
    stored.refresh_from_db()
    assert (stored.total, stored.band, stored.result["subscales"]) == (
        5,
        "High",
        {"first-two": 2.5},
    )
    total, subscale = observations(stored)
    assert total["valueInteger"] == 5
    assert subscale["valueQuantity"]["value"] == 2.5
