"""The demo's template grammar (``reverie.demo.texts``)."""

from __future__ import annotations

import pytest

from reverie.demo import texts
from reverie.demo.texts import Words


def test_the_same_seed_gives_the_same_words() -> None:
    a, b = Words(3), Words(3)
    case_a = texts.case_material(a, pronouns="they/them", concerns=("anxiety", "grief"))
    case_b = texts.case_material(b, pronouns="they/them", concerns=("anxiety", "grief"))
    assert texts.process_note(a, case_a) == texts.process_note(b, case_b)
    assert texts.journal_entry(a, case_a, "dream") == texts.journal_entry(b, case_b, "dream")


def test_templates_are_filled_and_sentences_capitalised() -> None:
    words = Words(1)
    out = words.expand("{subj} spoke. then {subj} left.", {"subj": "she"}, {})
    assert out == "She spoke. Then she left."
    assert words.expand("{x}", {}, {"x": ("a {y}",), "y": ("b",)}) == "A b"


def test_an_unknown_slot_is_an_error_not_a_silent_gap() -> None:
    with pytest.raises(KeyError, match="nope"):
        Words(1).expand("{nope}", {}, {})


def test_a_self_referencing_rule_stops() -> None:
    with pytest.raises(ValueError, match="recurses"):
        Words(1).expand("{x}", {}, {"x": ("{x}",)})


@pytest.mark.parametrize("pronouns", ["she/her", "he/him", "they/them"])
def test_pronouns_agree_with_their_verbs(pronouns: str) -> None:
    words = Words(11)
    case = texts.case_material(words, pronouns=pronouns, concerns=("relationships",))
    writing = " ".join(
        texts.relationship_episode(words, case, transference=False, positive_share=0.0).narrative
        + texts.progress_note(words, case, modality="psychodynamic", attendance="attended").content
        for _ in range(200)
    )
    if pronouns == "they/them":
        assert "they was" not in writing.lower() and "they has" not in writing.lower()
    else:
        assert " were small" not in writing


def test_sample_draws_distinct_items_and_between_is_inclusive() -> None:
    words = Words(5)
    assert sorted(words.sample(range(5), 5)) == [0, 1, 2, 3, 4]
    assert {words.between(1, 3) for _ in range(200)} == {1, 2, 3}
