"""FHIR R4 Questionnaire export/import and QuestionnaireResponse scoring."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from reverie.measures.definitions import InstrumentDefinition, load_shipped
from reverie.measures.fhir_questionnaire import (
    CALCULATED_EXPRESSION_URL,
    ITEM_WEIGHT_URL,
    ORDINAL_VALUE_URL,
    QUESTIONNAIRE_UNIT_URL,
    TOTAL_SCORE_LINK_ID,
    answers_from_questionnaire_response,
    definition_to_questionnaire,
    questionnaire_to_definition,
    score_questionnaire_response,
)
from reverie.measures.scoring import ScoringError, score

DATA = Path(__file__).parent / "data"
LOINC = "http://loinc.org"
FREQUENCY = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def phq9() -> InstrumentDefinition:
    return load_shipped()["phq-9"]


@pytest.fixture(scope="module")
def gad7() -> InstrumentDefinition:
    return load_shipped()["gad-7"]


def _response(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items}


def _coded(link_id: str, code: str, system: str | None = LOINC) -> dict[str, Any]:
    coding = {"code": code} if system is None else {"system": system, "code": code}
    return {"linkId": link_id, "answer": [{"valueCoding": coding}]}


def _random_answers(definition: InstrumentDefinition, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(0, 3) for _ in definition.scored_item_ids]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument_id", ["phq-9", "gad-7"])
def test_exported_questionnaire_validates_against_the_r4b_model(instrument_id: str) -> None:
    resource = definition_to_questionnaire(load_shipped()[instrument_id])
    parsed = Questionnaire.model_validate(resource)
    assert parsed.id == instrument_id


def test_exported_canonical_url_uses_the_default_base(phq9: InstrumentDefinition) -> None:
    resource = definition_to_questionnaire(phq9)
    assert resource["url"] == "http://reverie.local/fhir/Questionnaire/phq-9"
    assert resource["version"] == phq9.version


def test_exported_canonical_url_uses_a_configured_base(phq9: InstrumentDefinition) -> None:
    resource = definition_to_questionnaire(phq9, base_url="https://fhir.practice.example/r4/")
    assert resource["url"] == "https://fhir.practice.example/r4/Questionnaire/phq-9"


def test_exported_phq9_carries_loinc_panel_item_and_total_codes(phq9: InstrumentDefinition) -> None:
    resource = definition_to_questionnaire(phq9)
    assert resource["code"] == [
        {
            "system": LOINC,
            "code": "44249-1",
            "display": "PHQ-9 quick depression assessment panel [Reported.PHQ]",
        }
    ]
    by_link = {item["linkId"]: item for item in resource["item"]}
    assert by_link["phq9-9"]["code"] == [{"system": LOINC, "code": "44260-8"}]
    total = by_link[TOTAL_SCORE_LINK_ID]
    assert total["code"][0]["code"] == "44261-6"
    assert total["readOnly"] is True and total["type"] == "integer"
    urls = [extension["url"] for extension in total["extension"]]
    assert QUESTIONNAIRE_UNIT_URL in urls and CALCULATED_EXPRESSION_URL in urls
    assert resource["copyright"].endswith(
        "No permission required to reproduce, translate, display or distribute."
    )


def test_exported_options_carry_ordinal_value_on_the_coding_and_item_weight_on_the_option(
    phq9: InstrumentDefinition,
) -> None:
    resource = definition_to_questionnaire(phq9)
    item = next(i for i in resource["item"] if i["linkId"] == "phq9-3")
    assert item["type"] == "choice" and item["required"] is True
    for weight, option in enumerate(item["answerOption"]):
        assert option["valueCoding"]["code"] == FREQUENCY[weight]
        assert option["valueCoding"]["extension"] == [
            {"url": ORDINAL_VALUE_URL, "valueDecimal": weight}
        ]
        assert option["extension"] == [{"url": ITEM_WEIGHT_URL, "valueDecimal": weight}]


def test_exported_unscored_item_has_no_weights_and_is_not_required(
    phq9: InstrumentDefinition,
) -> None:
    resource = definition_to_questionnaire(phq9)
    item = next(i for i in resource["item"] if i["linkId"] == "phq9-difficulty")
    assert item["required"] is False
    assert all("extension" not in option for option in item["answerOption"])
    assert all("extension" not in option["valueCoding"] for option in item["answerOption"])


def test_exported_instructions_are_a_display_item(gad7: InstrumentDefinition) -> None:
    first = definition_to_questionnaire(gad7)["item"][0]
    assert first["type"] == "display"
    assert first["text"] == gad7.instructions


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument_id", ["phq-9", "gad-7"])
def test_export_then_import_scores_exactly_like_the_shipped_definition(instrument_id: str) -> None:
    shipped = load_shipped()[instrument_id]
    imported = questionnaire_to_definition(definition_to_questionnaire(shipped))
    assert imported.scored_item_ids == shipped.scored_item_ids
    assert imported.total_code == shipped.total_code
    assert [item.codes for item in imported.items] == [item.codes for item in shipped.items]
    assert [item.text for item in imported.items] == [item.text for item in shipped.items]
    for seed in range(25):
        answers = dict(zip(shipped.scored_item_ids, _random_answers(shipped, seed), strict=True))
        assert score(imported, answers).total == score(shipped, answers).total


def test_imported_unscored_item_stays_unscored_through_a_round_trip(
    phq9: InstrumentDefinition,
) -> None:
    imported = questionnaire_to_definition(definition_to_questionnaire(phq9))
    assert imported.item_index["phq9-difficulty"].scored is False
    assert imported.licence.electronic_use == "unknown"


def test_import_reads_weights_from_a_contained_value_set(phq9: InstrumentDefinition) -> None:
    imported = questionnaire_to_definition(_fixture("phq9-sdc-valueset.json"))
    assert imported.id == "phq9-sdc-valueset"
    assert [c.code for c in imported.codes] == ["44249-1"]
    assert imported.total_code is not None and imported.total_code.code == "44261-6"
    assert imported.instructions == phq9.instructions
    assert [item.codes[0].code for item in imported.items] == [
        item.codes[0].code for item in phq9.items if item.scored
    ]
    for seed in range(25):
        values = _random_answers(phq9, seed)
        ours = score(phq9, dict(zip(phq9.scored_item_ids, values, strict=True)))
        theirs = score(imported, dict(zip(imported.scored_item_ids, values, strict=True)))
        assert theirs.total == ours.total


def test_import_reads_weights_from_a_contained_code_system_property(
    gad7: InstrumentDefinition,
) -> None:
    imported = questionnaire_to_definition(_fixture("gad7-sdc-codesystem.json"))
    assert imported.total_code is not None and imported.total_code.code == "70274-6"
    first = imported.items[0]
    assert [(o.code, o.display, o.weight) for o in first.options] == [
        ("not-at-all", "Not at all", 0),
        ("several-days", "Several days", 1),
        ("more-than-half", "More than half the days", 2),
        ("nearly-every-day", "Nearly every day", 3),
    ]
    assert score(imported, {f"gad7-{n}": 3 for n in range(1, 8)}).total == 21


def test_import_reads_ordinal_value_item_weight_and_integer_answer_options() -> None:
    imported = questionnaire_to_definition(_fixture("checkin-answeroption-weights.json"))
    q1, q2, q3 = imported.items
    assert [o.weight for o in q1.options] == [0, 1, 2]  # ordinalValue on valueCoding
    assert [o.weight for o in q2.options] == [2, 1, 0]  # itemWeight on answerOption
    assert [(o.code, o.weight) for o in q3.options] == [("0", 0), ("1", 1), ("2", 2), ("3", 3)]
    response = _response(
        [
            _coded("q1", "agree", "http://example.org/fhir/CodeSystem/agreement"),
            _coded("q2", "agree", "http://example.org/fhir/CodeSystem/agreement"),
            {"linkId": "q3", "answer": [{"valueInteger": 3}]},
        ]
    )
    assert score_questionnaire_response(imported, response).total == 2 + 0 + 3


def test_import_reads_weights_from_a_value_set_expansion() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": "expansion-example",
        "status": "draft",
        "copyright": "Reverie test fixture, CC0.",
        "contained": [
            {
                "resourceType": "ValueSet",
                "id": "yn",
                "status": "active",
                "expansion": {
                    "timestamp": "2024-01-01T00:00:00Z",
                    "contains": [
                        {
                            "system": "http://example.org/yn",
                            "code": "n",
                            "display": "No",
                            "extension": [{"url": ITEM_WEIGHT_URL, "valueDecimal": 0}],
                        },
                        {
                            "system": "http://example.org/yn",
                            "code": "y",
                            "display": "Yes",
                            "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": 1}],
                        },
                    ],
                },
            }
        ],
        "item": [
            {"linkId": "a", "text": "A?", "type": "choice", "answerValueSet": "#yn"},
            {"linkId": "b", "text": "B?", "type": "choice", "answerValueSet": "#yn"},
        ],
    }
    imported = questionnaire_to_definition(questionnaire)
    assert score(imported, {"a": 1, "b": 1}).total == 2


# --------------------------------------------------------------------------------------------
# Import: bad Questionnaires give clear errors
# --------------------------------------------------------------------------------------------


def test_import_refuses_something_that_is_not_a_questionnaire() -> None:
    with pytest.raises(ValueError, match="expected a FHIR Questionnaire"):
        questionnaire_to_definition({"resourceType": "Patient"})


def test_import_refuses_a_structurally_invalid_questionnaire() -> None:
    with pytest.raises(ValueError, match="not a valid FHIR R4 Questionnaire"):
        questionnaire_to_definition(
            {"resourceType": "Questionnaire", "status": "active", "item": [{"type": "choice"}]}
        )


def test_import_names_the_link_id_and_code_of_an_option_without_a_weight() -> None:
    questionnaire = _fixture("phq9-sdc-valueset.json")
    concept = questionnaire["contained"][0]["compose"]["include"][0]["concept"][2]
    del concept["extension"]
    with pytest.raises(ValueError) as error:
        questionnaire_to_definition(questionnaire)
    assert "'/44250-9'" in str(error.value) and "'LA6570-1'" in str(error.value)


def test_import_refuses_conflicting_weights_for_one_option() -> None:
    questionnaire = _fixture("checkin-answeroption-weights.json")
    option = questionnaire["item"][1]["answerOption"][0]
    option["valueCoding"]["extension"] = [{"url": ORDINAL_VALUE_URL, "valueDecimal": 5}]
    with pytest.raises(ValueError, match=r"item 'q2'.*conflicting weights \[2, 5\]"):
        questionnaire_to_definition(questionnaire)


def test_import_refuses_an_external_value_set_because_weights_cannot_be_resolved() -> None:
    questionnaire = _fixture("phq9-sdc-valueset.json")
    questionnaire["item"][0]["item"][0]["answerValueSet"] = "http://loinc.org/vs/LL358-3"
    with pytest.raises(ValueError, match="not a contained ValueSet"):
        questionnaire_to_definition(questionnaire)


def test_import_refuses_a_missing_contained_value_set() -> None:
    questionnaire = _fixture("phq9-sdc-valueset.json")
    questionnaire["contained"] = []
    with pytest.raises(ValueError, match="no contained ValueSet with id 'phq9-frequency'"):
        questionnaire_to_definition(questionnaire)


def test_import_refuses_a_questionnaire_without_copyright_unless_a_licence_is_given() -> None:
    questionnaire = _fixture("checkin-answeroption-weights.json")
    del questionnaire["copyright"]
    with pytest.raises(ValueError, match="no copyright statement"):
        questionnaire_to_definition(questionnaire)
    licence = {"holder": "Reverie", "terms": "CC0 1.0", "electronic_use": "permitted"}
    assert questionnaire_to_definition(questionnaire, licence=licence).licence.holder == "Reverie"


def test_import_refuses_unscorable_item_types_naming_the_link_id() -> None:
    questionnaire = _fixture("checkin-answeroption-weights.json")
    questionnaire["item"].append({"linkId": "free", "text": "Anything else?", "type": "string"})
    with pytest.raises(ValueError, match="item 'free': type 'string' cannot be scored"):
        questionnaire_to_definition(questionnaire)


def test_import_refuses_a_questionnaire_without_choice_items() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "copyright": "x",
        "item": [{"linkId": "d", "text": "Hello", "type": "display"}],
    }
    with pytest.raises(ValueError, match="no choice items"):
        questionnaire_to_definition(questionnaire)


def test_an_item_without_weights_can_be_imported_as_unscored_when_named() -> None:
    questionnaire = _fixture("checkin-answeroption-weights.json")
    for option in questionnaire["item"][0]["answerOption"]:
        del option["valueCoding"]["extension"]
    with pytest.raises(ValueError, match="item 'q1'"):
        questionnaire_to_definition(questionnaire)
    imported = questionnaire_to_definition(questionnaire, unscored_link_ids={"q1"})
    assert imported.item_index["q1"].scored is False
    assert imported.scored_item_ids == ("q2", "q3")


def test_import_does_not_modify_the_questionnaire() -> None:
    questionnaire = _fixture("gad7-sdc-codesystem.json")
    before = copy.deepcopy(questionnaire)
    questionnaire_to_definition(questionnaire)
    assert questionnaire == before


# --------------------------------------------------------------------------------------------
# QuestionnaireResponse
# --------------------------------------------------------------------------------------------


def test_response_codings_map_to_raw_values(phq9: InstrumentDefinition) -> None:
    response = _response([_coded(f"phq9-{n}", FREQUENCY[n % 4]) for n in range(1, 10)])
    answers = answers_from_questionnaire_response(phq9, response)
    assert answers == {f"phq9-{n}": n % 4 for n in range(1, 10)}


def test_scoring_a_response_raises_the_item_9_flag(phq9: InstrumentDefinition) -> None:
    items = [_coded(f"phq9-{n}", FREQUENCY[0]) for n in range(1, 9)]
    items.append(_coded("phq9-9", FREQUENCY[1]))
    result = score_questionnaire_response(phq9, _response(items))
    assert result.total == 1
    assert [hit.item_id for hit in result.critical_hits] == ["phq9-9"]


def test_response_items_may_be_nested_in_groups_and_carry_value_integer(
    gad7: InstrumentDefinition,
) -> None:
    response = _response(
        [
            {
                "linkId": "group",
                "item": [
                    {"linkId": f"gad7-{n}", "answer": [{"valueInteger": 2}]} for n in range(1, 8)
                ],
            }
        ]
    )
    # "group" is not an item of the definition but has children, so it is walked through.
    assert score_questionnaire_response(gad7, response).total == 14


def test_response_total_score_item_is_ignored(gad7: InstrumentDefinition) -> None:
    items = [_coded(f"gad7-{n}", FREQUENCY[3]) for n in range(1, 8)]
    items.append({"linkId": TOTAL_SCORE_LINK_ID, "answer": [{"valueInteger": 21}]})
    assert score_questionnaire_response(gad7, _response(items)).total == 21


def test_response_with_an_unknown_link_id_is_refused_naming_it(gad7: InstrumentDefinition) -> None:
    response = _response([_coded("gad7-1", FREQUENCY[0]), _coded("gad7-99", FREQUENCY[0])])
    with pytest.raises(ValueError, match="'gad7-99' is not an item of 'gad-7'"):
        answers_from_questionnaire_response(gad7, response)
    relaxed = answers_from_questionnaire_response(gad7, response, strict=False)
    assert relaxed == {"gad7-1": 0}


def test_response_with_a_code_that_is_not_an_option_is_refused_naming_the_link_id(
    gad7: InstrumentDefinition,
) -> None:
    response = _response([_coded("gad7-3", "LA18938-3")])
    with pytest.raises(ValueError, match=r"item 'gad7-3': answer http://loinc.org\|LA18938-3"):
        answers_from_questionnaire_response(gad7, response)


def test_response_coding_from_another_system_does_not_match(gad7: InstrumentDefinition) -> None:
    response = _response([_coded("gad7-3", "LA6568-5", "http://snomed.info/sct")])
    with pytest.raises(ValueError, match="'gad7-3'"):
        answers_from_questionnaire_response(gad7, response)


def test_response_coding_without_a_system_matches_by_code(gad7: InstrumentDefinition) -> None:
    response = _response([_coded("gad7-3", "LA6571-9", None)])
    assert answers_from_questionnaire_response(gad7, response) == {"gad7-3": 3}


def test_response_with_two_answers_for_one_item_is_refused(gad7: InstrumentDefinition) -> None:
    item = _coded("gad7-2", FREQUENCY[0])
    item["answer"].append({"valueCoding": {"system": LOINC, "code": FREQUENCY[1]}})
    with pytest.raises(ValueError, match="'gad7-2' has 2 answers"):
        answers_from_questionnaire_response(gad7, _response([item]))


def test_response_with_a_repeated_link_id_is_refused(gad7: InstrumentDefinition) -> None:
    response = _response([_coded("gad7-2", FREQUENCY[0]), _coded("gad7-2", FREQUENCY[1])])
    with pytest.raises(ValueError, match="'gad7-2' appears twice"):
        answers_from_questionnaire_response(gad7, response)


def test_response_with_an_unsupported_value_type_is_refused(gad7: InstrumentDefinition) -> None:
    response = _response([{"linkId": "gad7-4", "answer": [{"valueString": "a lot"}]}])
    with pytest.raises(ValueError, match="'gad7-4': cannot use answer \\['valueString'\\]"):
        answers_from_questionnaire_response(gad7, response)


def test_response_without_an_answer_counts_as_missing_and_scoring_names_it(
    gad7: InstrumentDefinition,
) -> None:
    items = [_coded(f"gad7-{n}", FREQUENCY[1]) for n in range(1, 7)]
    items.append({"linkId": "gad7-7"})
    with pytest.raises(ScoringError) as error:
        score_questionnaire_response(gad7, _response(items))
    assert error.value.item_id == "gad7-7"


def test_response_value_integer_out_of_range_is_refused_by_scoring_naming_the_link_id(
    gad7: InstrumentDefinition,
) -> None:
    values = [1, 1, 1, 1, 9, 1, 1]
    items: list[dict[str, Any]] = [
        {"linkId": f"gad7-{n}", "answer": [{"valueInteger": value}]}
        for n, value in enumerate(values, start=1)
    ]
    with pytest.raises(ScoringError) as error:
        score_questionnaire_response(gad7, _response(items))
    assert error.value.item_id == "gad7-5"


def test_a_malformed_answer_list_is_refused_naming_the_link_id(gad7: InstrumentDefinition) -> None:
    response = _response([{"linkId": "gad7-1", "answer": {"valueInteger": 1}}])
    with pytest.raises(ValueError, match="'gad7-1': answer must be a list"):
        answers_from_questionnaire_response(gad7, response)


def test_something_that_is_not_a_response_is_refused(gad7: InstrumentDefinition) -> None:
    with pytest.raises(ValueError, match="expected a FHIR QuestionnaireResponse"):
        answers_from_questionnaire_response(gad7, {"resourceType": "Questionnaire"})


def test_imported_fixture_scores_a_response_that_uses_its_own_link_ids() -> None:
    imported = questionnaire_to_definition(_fixture("phq9-sdc-valueset.json"))
    items = [_coded(link_id, FREQUENCY[2]) for link_id in imported.scored_item_ids]
    items.append({"linkId": "/44261-6", "answer": [{"valueInteger": 18}]})
    response = _response([{"linkId": "phq9", "item": items}])
    with pytest.raises(ValueError, match="'/44261-6'"):
        score_questionnaire_response(imported, response)
    result = score_questionnaire_response(imported, response, ignore_link_ids={"/44261-6"})
    assert result.total == 18
