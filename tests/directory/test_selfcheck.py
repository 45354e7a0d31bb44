"""Tests for the fit self-check (pure logic, no Django)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reverie.directory.selfcheck import (
    CONCERNS,
    DISCLAIMER,
    ITEMS,
    ITEMS_BY_KEY,
    LEANING_MARGIN,
    Item,
    Option,
    evaluate,
)

PSYCHODYNAMIC_ANSWERS = {
    "roots": "understand",
    "talking": "talking",
    "scope": "big_picture",
    "pace": "gradual",
    "who_leads": "me",
    "feelings": "into_them",
    "time_focus": "past",
}
STRUCTURED_ANSWERS = {
    "roots": "tools",
    "talking": "practising",
    "scope": "one_problem",
    "pace": "short",
    "who_leads": "therapist",
    "feelings": "steady",
    "time_focus": "present",
}


def answers(**extra: object) -> dict[str, object]:
    """A minimal valid submission: only the required wellbeing question, plus ``extra``."""
    return {"wellbeing": "no", **extra}


# --- The questionnaire as data ---------------------------------------------------------------


def test_the_questionnaire_is_short_with_unique_keys() -> None:
    keys = [item.key for item in ITEMS]
    assert 12 <= len(ITEMS) <= 16
    assert len(set(keys)) == len(keys)
    assert set(ITEMS_BY_KEY) == set(keys)


def test_items_and_options_are_frozen_dataclasses() -> None:
    assert isinstance(ITEMS, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ITEMS[0].prompt = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ITEMS[0].options[0].label = "changed"  # type: ignore[misc]


def test_the_questionnaire_covers_every_required_theme() -> None:
    sections = {item.key: item.section for item in ITEMS}
    for key in ("roots", "talking", "scope", "pace"):
        assert sections[key] == "suitability"
    for key in ("who_leads", "feelings", "time_focus", "support_challenge"):
        assert sections[key] == "preferences"
    for key in ("frequency", "budget", "sliding_scale", "insurance", "setting", "language"):
        assert sections[key] == "practical"
    assert ITEMS_BY_KEY["frequency"].values == (
        "weekly",
        "more_than_weekly",
        "fortnightly",
        "not_sure",
    )
    assert ITEMS_BY_KEY["concerns"].values == CONCERNS
    assert ITEMS_BY_KEY["wellbeing"].section == "safety"


def test_the_documentation_lists_every_question_as_written() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "matching.md").read_text(encoding="utf-8")
    for item in ITEMS:
        assert f"`{item.key}`" in docs and item.prompt in docs, item.key
        for option in item.options:
            if option.lean is not None:
                assert f'`{option.value}` "{option.label}" → {option.lean}' in docs


def test_only_the_wellbeing_question_is_required() -> None:
    assert [item.key for item in ITEMS if item.required] == ["wellbeing"]


def test_every_leaning_question_offers_both_directions_and_a_neutral_answer() -> None:
    for item in ITEMS:
        if not item.leans:
            continue
        leans = [option.lean for option in item.options]
        assert "psychodynamic" in leans and "structured" in leans and None in leans, item.key


def test_support_or_challenge_never_counts_towards_the_leaning() -> None:
    assert not ITEMS_BY_KEY["support_challenge"].leans


def test_a_leaning_option_without_an_explanation_is_rejected() -> None:
    with pytest.raises(ValueError, match="no explanation"):
        Option("x", "X", "psychodynamic")


def test_a_choice_item_without_options_is_rejected() -> None:
    with pytest.raises(ValueError, match="without options"):
        Item("x", "practical", "X?", "choice")


# --- Leaning ----------------------------------------------------------------------------------


def test_psychodynamic_answers_lean_psychodynamic_with_counts() -> None:
    result = evaluate(answers(**PSYCHODYNAMIC_ANSWERS))
    assert result.leaning == "leans psychodynamic"
    assert (result.psychodynamic_count, result.structured_count, result.neither_count) == (7, 0, 0)
    assert result.preferences.modality_leaning == "psychodynamic"


def test_structured_answers_lean_structured_with_counts() -> None:
    result = evaluate(answers(**STRUCTURED_ANSWERS))
    assert result.leaning == "leans structured"
    assert (result.psychodynamic_count, result.structured_count) == (0, 7)
    assert result.preferences.modality_leaning == "structured"
    assert "CBT" in result.meaning


def test_a_lead_smaller_than_the_margin_is_mixed() -> None:
    mixed = {
        **PSYCHODYNAMIC_ANSWERS,
        "pace": "short",
        "who_leads": "therapist",
        "feelings": "both",
        "time_focus": "both",
    }
    result = evaluate(answers(**mixed))
    assert (result.psychodynamic_count, result.structured_count) == (3, 2)
    assert result.psychodynamic_count - result.structured_count < LEANING_MARGIN
    assert result.leaning == "mixed"
    assert result.neither_count == 2
    assert result.preferences.modality_leaning is None


def test_a_lead_equal_to_the_margin_is_a_leaning() -> None:
    result = evaluate(answers(roots="understand", talking="talking"))
    assert result.leaning == "leans psychodynamic"


def test_neutral_answers_are_counted_as_neither() -> None:
    result = evaluate(answers(roots="both", talking="both", support_challenge="challenge"))
    assert result.neither_count == 2
    assert result.leaning == "mixed"


def test_no_leaning_answers_says_there_is_nothing_to_show() -> None:
    result = evaluate(answers())
    assert result.leaning == "mixed"
    assert result.summary == "mixed: 0 towards psychodynamic, 0 towards structured, 0 neither"
    assert "did not answer" in result.meaning


def test_each_reason_quotes_the_persons_answer_and_explains_it() -> None:
    result = evaluate(answers(roots="understand", pace="short"))
    (towards_pd,) = result.towards_psychodynamic
    (towards_st,) = result.towards_structured
    label = ITEMS_BY_KEY["roots"].option("understand").label
    assert towards_pd.item == "roots" and towards_pd.answer == "understand"
    assert str(towards_pd).startswith(f'You said: "{label}".')
    assert "roots of feelings" in towards_pd.text
    assert towards_st.lean == "structured" and "shorter course" in towards_st.text


def test_reasons_follow_questionnaire_order_not_submission_order() -> None:
    forwards = evaluate(answers(roots="understand", time_focus="past"))
    backwards = evaluate({"time_focus": "past", "wellbeing": "no", "roots": "understand"})
    assert [r.item for r in forwards.towards_psychodynamic] == ["roots", "time_focus"]
    assert forwards == backwards


def test_the_result_always_says_it_is_not_a_diagnosis_and_suggests_a_consultation() -> None:
    for submission in (answers(), answers(**PSYCHODYNAMIC_ANSWERS), answers(**STRUCTURED_ANSWERS)):
        result = evaluate(submission)
        assert result.disclaimer == DISCLAIMER
        assert "not a diagnosis" in result.disclaimer
        assert "not an assessment" in result.disclaimer
        assert "consultation" in result.disclaimer
        assert "consultation" in result.meaning


def test_the_same_answers_always_give_an_equal_result() -> None:
    submission = answers(**PSYCHODYNAMIC_ANSWERS, concerns=["grief", "anxiety"], budget=80)
    assert evaluate(submission) == evaluate(dict(submission))


# --- Crisis card ------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "shown"), [("no", False), ("yes", True), ("unsure", True)])
def test_any_positive_or_uncertain_wellbeing_answer_shows_the_crisis_card(
    answer: str, shown: bool
) -> None:
    assert evaluate({"wellbeing": answer}).show_crisis_card is shown


def test_the_crisis_card_does_not_change_the_leaning() -> None:
    calm = evaluate({**PSYCHODYNAMIC_ANSWERS, "wellbeing": "no"})
    worried = evaluate({**PSYCHODYNAMIC_ANSWERS, "wellbeing": "yes"})
    assert calm.leaning == worried.leaning
    assert calm.towards_psychodynamic == worried.towards_psychodynamic


def test_the_wellbeing_answer_is_never_passed_on_to_matching() -> None:
    preferences = evaluate({"wellbeing": "yes"}).preferences
    assert "yes" not in {str(value) for value in dataclasses.asdict(preferences).values()}
    assert "wellbeing" not in {f.name for f in dataclasses.fields(preferences)}


# --- Preferences ------------------------------------------------------------------------------


def test_practical_answers_become_preferences() -> None:
    result = evaluate(
        answers(
            concerns=["relationships", "anxiety", "relationships"],
            language="  Spanish ",
            budget=90,
            sliding_scale="yes",
            insurance="Aetna",
            setting="telehealth",
            frequency="more_than_weekly",
            support_challenge="support",
        )
    )
    prefs = result.preferences
    assert prefs.concerns == ("anxiety", "relationships")
    assert prefs.language == "Spanish"
    assert (prefs.budget, prefs.sliding_scale, prefs.insurance) == (90, True, "Aetna")
    assert prefs.setting == "telehealth" and prefs.telehealth_ok and not prefs.in_person_ok
    assert prefs.frequency == "more_than_weekly"
    assert prefs.support_or_challenge == "support"


def test_unanswered_practical_questions_mean_no_preference() -> None:
    prefs = evaluate(answers(language="", insurance="   ", budget=None)).preferences
    assert (prefs.language, prefs.insurance, prefs.budget) == (None, None, None)
    assert prefs.sliding_scale is False
    assert prefs.telehealth_ok and prefs.in_person_ok


# --- Validation -------------------------------------------------------------------------------


def test_an_unknown_item_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown self-check item.*favourite_colour"):
        evaluate(answers(favourite_colour="blue"))


def test_an_answer_outside_the_options_names_the_item_and_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="item 'roots': 'maybe' is not one of: understand"):
        evaluate(answers(roots="maybe"))


def test_a_missing_wellbeing_answer_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="item 'wellbeing' needs an answer"):
        evaluate({"roots": "understand"})


def test_a_single_string_for_concerns_is_rejected() -> None:
    with pytest.raises(ValueError, match="item 'concerns': expected a list"):
        evaluate(answers(concerns="anxiety"))


def test_an_unknown_concern_is_rejected() -> None:
    with pytest.raises(ValueError, match="item 'concerns': 'boredom' is not one of"):
        evaluate(answers(concerns=["anxiety", "boredom"]))


@pytest.mark.parametrize("budget", [True, 80.5, "80", -1, 2001])
def test_a_budget_that_is_not_a_sensible_whole_number_is_rejected(budget: object) -> None:
    with pytest.raises(ValueError, match="item 'budget'"):
        evaluate(answers(budget=budget))


def test_overlong_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="item 'language': keep this under 80"):
        evaluate(answers(language="x" * 81))


def test_a_non_text_choice_is_rejected() -> None:
    with pytest.raises(ValueError, match="item 'setting'"):
        evaluate(answers(setting=1))


def test_answers_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        evaluate([("wellbeing", "no")])  # type: ignore[arg-type]
