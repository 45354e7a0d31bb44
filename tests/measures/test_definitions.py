"""Instrument definitions: shipped files are valid, sourced, licensed and pinned to LOINC."""

from __future__ import annotations

import copy
import dataclasses
import json
from importlib import resources
from typing import Any

import pytest

from reverie.measures.definitions import (
    FORMAT,
    InstrumentDefinition,
    load_definition,
    load_shipped,
)

LOINC = "http://loinc.org"


def _shipped_documents() -> dict[str, dict[str, Any]]:
    package = resources.files("reverie.measures.instruments")
    documents = {}
    for entry in package.iterdir():
        if entry.name.endswith(".json"):
            documents[entry.name] = json.loads(entry.read_text(encoding="utf-8"))
    return documents


def _minimal(**overrides: Any) -> dict[str, Any]:
    """A small valid definition that tests can break one field at a time."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "id": "tiny",
        "version": "1",
        "name": "Tiny test instrument",
        "short_name": "TINY",
        "description": "Two items, for tests only.",
        "language": "en",
        "respondent": "client",
        "response_sets": {
            "yn": [
                {"code": "no", "display": "No", "value": 0},
                {"code": "yes", "display": "Yes", "value": 1},
            ]
        },
        "items": [
            {"id": "a", "text": "Item A", "response_set": "yn"},
            {"id": "b", "text": "Item B", "response_set": "yn"},
        ],
        "scoring": {"method": "sum"},
        "bands": [
            {"min": 0, "max": 0, "label": "None", "code": "none"},
            {"min": 1, "max": 2, "label": "Some", "code": "some"},
        ],
        "source": {"citation": "Written for the Reverie test suite."},
        "licence": {
            "holder": "Reverie contributors",
            "terms": "CC0 1.0",
            "electronic_use": "permitted",
        },
    }
    document.update(overrides)
    return document


@pytest.fixture(scope="module")
def shipped() -> dict[str, InstrumentDefinition]:
    return load_shipped()


# --------------------------------------------------------------------------------------------
# Every shipped instrument
# --------------------------------------------------------------------------------------------


def test_shipped_instruments_include_phq9_and_gad7(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    assert {"phq-9", "gad-7"} <= set(shipped)


@pytest.mark.parametrize("file_name", sorted(_shipped_documents()))
def test_every_shipped_file_loads_with_a_licence_permitting_electronic_use(file_name: str) -> None:
    document = _shipped_documents()[file_name]
    definition = load_definition(document, require_electronic_use_permitted=True)
    assert definition.licence.electronic_use == "permitted"


def test_every_shipped_instrument_has_a_source_and_a_licence(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    for definition in shipped.values():
        assert definition.source.citation.strip(), definition.id
        assert definition.source.doi or definition.source.url, definition.id
        assert definition.licence.holder.strip(), definition.id
        assert definition.licence.terms.strip(), definition.id
        assert definition.licence.verified_via, f"{definition.id}: say where terms were read"
        assert definition.licence.electronic_use == "permitted", definition.id


def test_every_cut_off_and_threshold_cites_a_source(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    for definition in shipped.values():
        if definition.caseness is not None:
            assert definition.caseness.source.citation, definition.id
        if definition.reliable_change is not None:
            assert definition.reliable_change.source.citation, definition.id
            norms = definition.reliable_change.norms
            for figure in (norms.reliability, norms.sd, norms.clinical, norms.non_clinical):
                if figure is not None:
                    assert figure.source.citation, definition.id
        for critical in definition.critical_items:
            assert critical.source.citation, definition.id
        assert definition.missing.source is not None, f"{definition.id}: missing-data rule"


def test_shipped_definitions_are_parsed_once_and_are_immutable(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    again = load_shipped()
    assert again["phq-9"] is shipped["phq-9"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped["phq-9"].id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        shipped["phq-9"].item_index["x"] = shipped["phq-9"].items[0]  # type: ignore[index]
    # Mutating the returned dict does not leak into later calls.
    again.pop("phq-9")
    assert "phq-9" in load_shipped()


# --------------------------------------------------------------------------------------------
# PHQ-9 pinned to published values
# --------------------------------------------------------------------------------------------


def test_phq9_codes_are_the_loinc_panel_total_and_item_codes(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    phq9 = shipped["phq-9"]
    assert [(c.system, c.code) for c in phq9.codes] == [(LOINC, "44249-1")]
    assert phq9.total_code is not None
    assert (phq9.total_code.system, phq9.total_code.code) == (LOINC, "44261-6")
    item_codes = [item.codes[0].code for item in phq9.items if item.scored]
    assert item_codes == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert phq9.item_index["phq9-9"].codes[0].code == "44260-8"


def test_phq9_options_are_loinc_answer_list_ll358_3_scored_zero_to_three(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    for item in shipped["phq-9"].items:
        if not item.scored:
            continue
        assert [(o.code, o.display, o.value, o.weight) for o in item.options] == [
            ("LA6568-5", "Not at all", 0, 0),
            ("LA6569-3", "Several days", 1, 1),
            ("LA6570-1", "More than half the days", 2, 2),
            ("LA6571-9", "Nearly every day", 3, 3),
        ]


def test_phq9_wording_matches_the_published_form(shipped: dict[str, InstrumentDefinition]) -> None:
    phq9 = shipped["phq-9"]
    assert phq9.instructions == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert phq9.item_index["phq9-1"].text == "Little interest or pleasure in doing things"
    assert phq9.item_index["phq9-9"].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )


def test_phq9_difficulty_question_is_present_but_unscored(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    phq9 = shipped["phq-9"]
    difficulty = phq9.item_index["phq9-difficulty"]
    assert difficulty.scored is False
    assert difficulty.codes[0].code == "69722-7"
    assert "phq9-difficulty" not in phq9.scored_item_ids
    assert len(phq9.scored_item_ids) == 9


def test_phq9_bands_are_kroenke_2001(shipped: dict[str, InstrumentDefinition]) -> None:
    phq9 = shipped["phq-9"]
    assert [(b.min, b.max, b.label) for b in phq9.bands] == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ]
    assert (phq9.score_min, phq9.score_max) == (0, 27)
    assert "606-613" in phq9.source.citation


def test_phq9_caseness_and_reliable_change_are_nhs_talking_therapies_values(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    phq9 = shipped["phq-9"]
    assert phq9.caseness is not None and phq9.caseness.threshold == 10
    assert phq9.caseness.direction == "at_or_above"
    assert phq9.reliable_change is not None and phq9.reliable_change.threshold == 6
    assert phq9.reliable_change.improvement == "decrease"


def test_phq9_item_9_is_a_critical_item_at_several_days_or_more(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    (critical,) = shipped["phq-9"].critical_items
    assert (critical.item_id, critical.threshold, critical.direction) == (
        "phq9-9",
        1,
        "at_or_above",
    )


def test_phq9_refuses_missing_items_because_the_source_gives_no_prorating_rule(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    assert shipped["phq-9"].missing.handling == "refuse"
    assert shipped["phq-9"].missing.max_missing == 0


# --------------------------------------------------------------------------------------------
# GAD-7 pinned to published values
# --------------------------------------------------------------------------------------------


def test_gad7_codes_are_the_loinc_panel_total_and_item_codes(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    gad7 = shipped["gad-7"]
    assert [(c.system, c.code) for c in gad7.codes] == [(LOINC, "69737-5")]
    assert gad7.total_code is not None and gad7.total_code.code == "70274-6"
    assert [item.codes[0].code for item in gad7.items] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    ]


def test_gad7_bands_caseness_and_reliable_change_are_pinned(
    shipped: dict[str, InstrumentDefinition],
) -> None:
    gad7 = shipped["gad-7"]
    assert [(b.min, b.max, b.label) for b in gad7.bands] == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 21, "Severe"),
    ]
    assert (gad7.score_min, gad7.score_max) == (0, 21)
    assert gad7.caseness is not None and gad7.caseness.threshold == 8
    assert gad7.reliable_change is not None and gad7.reliable_change.threshold == 4
    assert gad7.critical_items == ()
    assert "1092-1097" in gad7.source.citation


# --------------------------------------------------------------------------------------------
# Validation on load
# --------------------------------------------------------------------------------------------


def test_a_minimal_definition_loads() -> None:
    definition = load_definition(_minimal())
    assert definition.scored_item_ids == ("a", "b")
    assert definition.band_for(0).code == "none"  # type: ignore[union-attr]
    assert definition.band_for(2).code == "some"  # type: ignore[union-attr]


def test_a_definition_without_licence_or_source_is_rejected_naming_both() -> None:
    document = _minimal()
    del document["licence"]
    del document["source"]
    with pytest.raises(ValueError) as error:
        load_definition(document)
    message = str(error.value)
    assert "$.licence" in message and "$.source" in message


def test_every_problem_is_listed_in_one_error() -> None:
    document = _minimal(
        items=[
            {"id": "a", "text": "Item A", "response_set": "yn"},
            {"id": "a", "text": "Item A again", "response_set": "nope"},
        ],
        bands=[
            {"min": 0, "max": 0, "label": "None", "code": "none"},
            {"min": 2, "max": 2, "label": "Some", "code": "some"},
        ],
        caseness={"threshold": 9, "direction": "at_or_above", "source": {"citation": "x"}},
    )
    with pytest.raises(ValueError) as error:
        load_definition(document)
    message = str(error.value)
    assert "duplicate item id 'a'" in message
    assert "no response set named 'nope'" in message
    assert "$.bands[1].min" in message
    assert "$.caseness.threshold" in message
    assert "'tiny'" in message


def test_unknown_fields_are_rejected_so_typos_cannot_hide_a_cut_off() -> None:
    document = _minimal(caseness={"treshold": 1, "direction": "at_or_above", "source": {}})
    with pytest.raises(ValueError, match="unknown field\\(s\\) 'treshold'"):
        load_definition(document)


def test_bands_must_cover_the_whole_score_range() -> None:
    document = _minimal(bands=[{"min": 0, "max": 1, "label": "Low", "code": "low"}])
    with pytest.raises(ValueError, match="highest score 2"):
        load_definition(document)


def test_refuse_handling_with_missing_items_allowed_is_contradictory() -> None:
    document = _minimal(scoring={"method": "sum", "missing": {"max_missing": 1}})
    with pytest.raises(ValueError, match="requires max_missing 0"):
        load_definition(document)


def test_critical_item_must_exist_and_threshold_must_be_a_response_value() -> None:
    document = _minimal(
        critical_items=[
            {
                "item": "z",
                "threshold": 1,
                "direction": "at_or_above",
                "label": "x",
                "source": {"citation": "x"},
            },
            {
                "item": "a",
                "threshold": 5,
                "direction": "at_or_above",
                "label": "x",
                "source": {"citation": "x"},
            },
        ]
    )
    with pytest.raises(ValueError) as error:
        load_definition(document)
    assert "no item with id 'z'" in str(error.value)
    assert "$.critical_items[1].threshold" in str(error.value)


def test_a_licence_that_does_not_permit_electronic_use_cannot_be_shipped() -> None:
    document = _minimal()
    document["licence"] = dict(document["licence"], electronic_use="unknown")
    assert load_definition(document).licence.electronic_use == "unknown"
    with pytest.raises(ValueError, match="only instruments whose licence permits"):
        load_definition(document, require_electronic_use_permitted=True)


def test_a_document_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected an object"):
        load_definition([])  # type: ignore[arg-type]


def test_wrong_format_marker_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\$\.format"):
        load_definition(_minimal(format="something/2"))


def test_reliability_must_lie_between_zero_and_one() -> None:
    document = _minimal(
        reliable_change={
            "threshold": 1,
            "improvement": "decrease",
            "source": {"citation": "x"},
            "norms": {"reliability": {"value": 1.2, "source": {"citation": "x"}}},
        }
    )
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_definition(document)


def test_loading_does_not_modify_the_input_document() -> None:
    document = _minimal()
    before = copy.deepcopy(document)
    load_definition(document)
    assert document == before


def test_subscale_recode_must_cover_every_response_value() -> None:
    document = _minimal(
        subscales=[
            {
                "id": "s",
                "name": "S",
                "method": "sum",
                "items": [{"item": "a", "recode": {"0": 1}}],
            }
        ]
    )
    with pytest.raises(ValueError, match="exactly the item's values"):
        load_definition(document)
