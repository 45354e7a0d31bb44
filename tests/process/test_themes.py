"""Tests for reverie.process.themes.

Everything here runs with the deterministic HashingEmbedder except the last section,
which needs the optional all-MiniLM-L6-v2 model and is skipped where it is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reverie.process.embeddings import NLP_INSTALL_HINT, HashingEmbedder, nlp_available
from reverie.process.themes import (
    Document,
    Theme,
    adjusted_rand_index,
    discover_themes,
    document_themes,
    embedding_cache_key,
    match_previous,
    split_sentences,
)

DATA = Path(__file__).resolve().parent / "data" / "theme_eval.json"
needs_model = pytest.mark.skipif(
    not nlp_available(), reason=f"all-MiniLM-L6-v2 is not installed; {NLP_INSTALL_HINT}"
)

TOWER = [
    "I dreamt I was falling from a tall tower.",
    "Falling from the tall tower again in my dream.",
    "The tall tower dream, falling and falling.",
    "Once more the dream of falling from a tall tower.",
]
BOSS = [
    "My boss shouted at me in the weekly meeting.",
    "In the weekly meeting my boss shouted at me again.",
    "The boss shouted at me during the weekly meeting.",
]
NOISE = [
    "The plumber finally repaired the kitchen sink.",
    "We bought tomatoes and basil at the market.",
    "The train to Leeds was cancelled because of snow.",
]


def day(n: int) -> dt.date:
    return dt.date(2025, 1, 1) + dt.timedelta(days=n)


def corpus() -> list[Document]:
    """Four tower dreams, three boss episodes and unrelated filler, on known dates."""
    docs = [
        Document(f"tower-{i}", "journal", day(40 * i), f"{text} {NOISE[i % 3]}", True)
        for i, text in enumerate(TOWER)
    ]
    docs += [
        Document(f"boss-{i}", "episode", day(15 + 30 * i), text, True)
        for i, text in enumerate(BOSS)
    ]
    return docs


class SpyEmbedder:
    """A HashingEmbedder that remembers every text it embedded and every row it returned."""

    suggested_distance_threshold = HashingEmbedder.suggested_distance_threshold

    def __init__(self) -> None:
        self.inner = HashingEmbedder()
        self.name = self.inner.name
        self.texts: list[str] = []
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)


def label_words(theme: Theme) -> set[str]:
    return {word for term in theme.terms for word in term.split()}


# --------------------------------------------------------------------------- splitting


def test_split_sentences_cuts_at_terminal_punctuation_and_line_breaks() -> None:
    text = "I woke at four. Was it the dream?! I don't know\nRed pen\n\nNot good enough..."
    assert [s.text for s in split_sentences(text)] == [
        "I woke at four.",
        "Was it the dream?!",
        "I don't know",
        "Red pen",
        "Not good enough...",
    ]


def test_split_sentences_keeps_abbreviations_initials_and_decimals_inside_a_sentence() -> None:
    text = "Dr. Weiss saw M. at 3.30 today, e.g. after lunch. Then she left."
    assert [s.text for s in split_sentences(text)] == [
        "Dr. Weiss saw M. at 3.30 today, e.g. after lunch.",
        "Then she left.",
    ]


def test_split_sentences_keeps_closing_quotes_with_their_sentence() -> None:
    text = "He said 'talk later.' It sounded like goodbye."
    assert [s.text for s in split_sentences(text)] == [
        "He said 'talk later.'",
        "It sounded like goodbye.",
    ]


def test_split_sentence_spans_point_at_the_exact_text() -> None:
    text = "  First one.   Second one!\n\t Third one  "
    for span in split_sentences(text):
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip()


def test_split_sentences_drops_pieces_without_letters() -> None:
    assert split_sentences(" ... \n 42. !! ") == []


def test_split_sentences_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="text must be a string"):
        split_sentences(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": ""}, "id must be a non-empty string"),
        ({"kind": "dream"}, "kind must be one of"),
        ({"date": "2025-01-01"}, "date must be a datetime.date"),
        ({"text": None}, "text must be a string"),
        ({"cacheable": 1}, "cacheable must be True or False"),
        ({"kind": "process_note", "cacheable": True}, "process notes are never cacheable"),
    ],
)
def test_document_rejects_bad_fields_with_a_clear_message(
    kwargs: dict[str, Any], message: str
) -> None:
    fields: dict[str, Any] = {
        "id": "d1",
        "kind": "journal",
        "date": day(0),
        "text": "x",
        "cacheable": True,
    }
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Document(**fields)


def test_document_reduces_a_datetime_to_its_date() -> None:
    moment = dt.datetime(2025, 3, 4, 22, 30, tzinfo=dt.UTC)
    assert Document("d1", "journal", moment, "x", True).date == dt.date(2025, 3, 4)


# ---------------------------------------------------------------------- discovery


def test_discover_themes_finds_the_two_recurring_themes_and_ignores_filler() -> None:
    themes = discover_themes(corpus(), HashingEmbedder())
    assert len(themes) == 2
    tower, boss = themes  # ordered by number of documents
    assert {"tower", "falling"} <= label_words(tower)
    assert {"boss", "shouted"} & label_words(boss)
    assert set(tower.document_ids) == {f"tower-{i}" for i in range(4)}
    assert set(boss.document_ids) == {f"boss-{i}" for i in range(3)}
    cited = {e.sentence for t in themes for e in t.evidence}
    assert not cited & set(NOISE)


def test_theme_labels_are_short_distinct_terms() -> None:
    for theme in discover_themes(corpus(), HashingEmbedder()):
        assert 1 <= len(theme.terms) <= 3
        assert theme.label == ", ".join(theme.terms)
        words = [w for term in theme.terms for w in term.split()]
        assert len(words) == len(set(words)), "a word may appear in only one label term"


def test_evidence_sentences_are_exact_substrings_of_their_documents() -> None:
    docs = {d.id: d for d in corpus()}
    themes = discover_themes(list(docs.values()), HashingEmbedder())
    assert themes
    for theme in themes:
        for e in theme.evidence:
            assert docs[e.document_id].text[e.start : e.end] == e.sentence
            assert e.sentence in docs[e.document_id].text
            assert e.kind == docs[e.document_id].kind
            assert e.date == docs[e.document_id].date
        assert theme.representative in theme.evidence


def test_first_seen_last_seen_and_monthly_counts_follow_the_document_dates() -> None:
    tower = discover_themes(corpus(), HashingEmbedder())[0]
    assert tower.first_seen == day(0)
    assert tower.last_seen == day(120)
    # Days 0, 40, 80 and 120 of 2025 fall in January, February, March and May.
    assert tower.count_by_month == {"2025-01": 1, "2025-02": 1, "2025-03": 1, "2025-05": 1}
    assert [e.date for e in tower.evidence] == sorted(e.date for e in tower.evidence)


def test_a_theme_confined_to_one_document_is_not_recurring() -> None:
    one_entry = Document("solo", "journal", day(0), " ".join(TOWER), True)
    assert discover_themes([one_entry], HashingEmbedder()) == []
    second = Document("two", "journal", day(9), TOWER[0], True)
    themes = discover_themes([one_entry, second], HashingEmbedder())
    assert len(themes) == 1
    assert set(themes[0].document_ids) == {"solo", "two"}


def test_min_docs_and_min_cluster_size_raise_the_bar() -> None:
    docs = corpus()
    assert len(discover_themes(docs, HashingEmbedder(), min_docs=4)) == 1
    assert len(discover_themes(docs, HashingEmbedder(), min_cluster_size=4)) == 1
    assert discover_themes(docs, HashingEmbedder(), min_docs=5) == []


def test_short_sentences_are_not_clustered() -> None:
    docs = [
        Document(f"d{i}", "journal", day(i), "Slept badly. Slept badly.", True) for i in range(4)
    ]
    assert discover_themes(docs, HashingEmbedder()) == []
    assert discover_themes(docs, HashingEmbedder(), min_sentence_words=2)


def test_an_empty_corpus_has_no_themes() -> None:
    assert discover_themes([], HashingEmbedder()) == []


# ------------------------------------------------------------------------- progress


def test_progress_reports_embedding_then_clustering_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    docs = corpus()
    discover_themes(docs, HashingEmbedder(), progress=lambda d, t: calls.append((d, t)))
    distinct = {s.text for d in docs for s in split_sentences(d.text)}
    total = len(distinct) + 2
    assert calls[0] == (0, total)
    assert calls[-2:] == [(total - 1, total), (total, total)]
    assert all(t == total for _, t in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)


def test_progress_counts_cache_hits_as_already_done() -> None:
    cache: dict[str, np.ndarray] = {}
    docs = corpus()
    discover_themes(docs, HashingEmbedder(), cache=cache)
    calls: list[tuple[int, int]] = []
    discover_themes(
        docs, HashingEmbedder(), cache=cache, progress=lambda d, t: calls.append((d, t))
    )
    first_done, total = calls[0]
    assert first_done == total - 2


def test_an_exception_in_the_progress_callback_cancels_the_run() -> None:
    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        if done > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        discover_themes(corpus(), HashingEmbedder(), progress=cancel)


# --------------------------------------------------------------------- privacy rules


def private_corpus() -> list[Document]:
    """Tower dreams in two journals and two process notes; boss fights only in notes."""
    docs = [
        Document("j0", "journal", day(0), TOWER[0], True),
        Document("j1", "journal", day(10), TOWER[1], True),
        Document("p0", "process_note", day(20), TOWER[2], False),
        Document("p1", "process_note", day(30), TOWER[3], False),
    ]
    docs += [
        Document(f"pb{i}", "process_note", day(40 + i), text, False) for i, text in enumerate(BOSS)
    ]
    return docs


def arrays_in(value: Any) -> Iterator[np.ndarray]:
    """Every numpy array reachable from a theme, including its JSON form."""
    if isinstance(value, np.ndarray):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from arrays_in(getattr(value, f.name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item)
    elif isinstance(value, list | tuple):
        if value and all(isinstance(x, float) for x in value):
            yield np.asarray(value)
        else:
            for item in value:
                yield from arrays_in(item)


def test_a_mixed_theme_centroid_averages_only_cacheable_sentences() -> None:
    embedder = HashingEmbedder()
    themes = discover_themes(private_corpus(), embedder)
    tower = next(t for t in themes if "j0" in t.document_ids)
    assert tower.includes_non_cacheable
    assert {"p0", "p1"} <= set(tower.document_ids)
    expected = embedder.embed(TOWER[:2]).astype(np.float64).mean(axis=0)
    expected /= np.linalg.norm(expected)
    assert tower.centroid is not None
    np.testing.assert_allclose(tower.centroid, expected, atol=1e-6)
    assert tower.centroid_sentences == 2
    assert not tower.centroid.flags.writeable


def test_a_theme_made_only_of_process_notes_carries_no_centroid() -> None:
    themes = discover_themes(private_corpus(), HashingEmbedder())
    boss = next(t for t in themes if "pb0" in t.document_ids)
    assert {e.kind for e in boss.evidence} == {"process_note"}
    assert boss.centroid is None
    assert boss.centroid_sentences == 0
    assert boss.to_dict()["centroid"] is None


def test_no_returned_vector_matches_a_non_cacheable_sentence_embedding() -> None:
    embedder = HashingEmbedder()
    docs = private_corpus()
    themes = discover_themes(docs, embedder)
    private = embedder.embed(
        [s.text for d in docs if not d.cacheable for s in split_sentences(d.text)]
    ).astype(np.float64)
    vectors = [a for t in themes for a in [*arrays_in(t), *arrays_in(t.to_dict())]]
    assert vectors, "the mixed theme should still expose its cacheable centroid"
    for vector in vectors:
        flat = np.asarray(vector, dtype=np.float64).ravel()
        assert flat.size == embedder.dim
        # A vector equal to any private sentence embedding would have cosine 1.
        assert np.max(private @ (flat / np.linalg.norm(flat))) < 0.999


def test_the_cache_only_ever_holds_cacheable_sentences() -> None:
    embedder = HashingEmbedder()
    cache: dict[str, np.ndarray] = {}
    docs = private_corpus()
    discover_themes(docs, embedder, cache=cache)
    allowed = {embedding_cache_key(embedder.name, t) for t in TOWER[:2]}
    assert set(cache) == allowed


def test_a_second_run_reuses_cached_vectors_and_re_embeds_only_private_text() -> None:
    spy = SpyEmbedder()
    cache: dict[str, np.ndarray] = {}
    docs = private_corpus()
    first = discover_themes(docs, spy, cache=cache)
    spy.texts.clear()
    second = discover_themes(docs, spy, cache=cache)
    assert set(spy.texts) == {*TOWER[2:], *BOSS}
    assert [t.to_dict() for t in first] == [t.to_dict() for t in second]


def test_themes_serialise_to_json() -> None:
    themes = discover_themes(private_corpus(), HashingEmbedder())
    decoded = json.loads(json.dumps([t.to_dict() for t in themes]))
    assert decoded[0]["evidence"][0]["sentence"]
    assert all("cacheable" in e for t in decoded for e in t["evidence"])


# ---------------------------------------------------------------------- determinism


def test_discovery_is_deterministic_and_independent_of_input_order() -> None:
    docs = corpus()
    shuffled = docs[:]
    random.Random(7).shuffle(shuffled)
    first = [t.to_dict() for t in discover_themes(docs, HashingEmbedder())]
    second = [t.to_dict() for t in discover_themes(shuffled, HashingEmbedder())]
    assert first == second


# ------------------------------------------------------------ memory across reruns


def test_stable_keys_survive_adding_a_later_entry() -> None:
    docs = corpus()
    before = {t.document_ids[0]: t.stable_key for t in discover_themes(docs, HashingEmbedder())}
    later = Document("tower-late", "journal", day(300), TOWER[1], True)
    after = {
        t.document_ids[0]: t.stable_key for t in discover_themes([*docs, later], HashingEmbedder())
    }
    assert before == after


def test_match_previous_recognises_a_dismissed_theme_after_new_evidence() -> None:
    docs = corpus()
    old = discover_themes(docs, HashingEmbedder())
    dismissed = {t.stable_key: t.centroid for t in old if "tower-0" in t.document_ids}
    # An earlier entry changes the tower theme's earliest sentence, hence its key.
    earlier = Document(
        "tower-early", "journal", day(-30), "A dream of falling from a tall tower.", True
    )
    new = discover_themes([earlier, *docs], HashingEmbedder())
    tower = next(t for t in new if "tower-0" in t.document_ids)
    assert tower.stable_key not in dismissed
    matches = match_previous(new, dismissed, threshold=0.8)
    assert matches == {tower.stable_key: next(iter(dismissed))}


def test_match_previous_pairs_equal_keys_and_skips_themes_without_centroid() -> None:
    themes = discover_themes(private_corpus(), HashingEmbedder())
    boss = next(t for t in themes if t.centroid is None)
    tower = next(t for t in themes if t.centroid is not None)
    some_vector = np.ones_like(tower.centroid)
    assert match_previous(themes, {boss.stable_key: some_vector}) == {
        boss.stable_key: boss.stable_key
    }
    assert match_previous([boss], {"old": some_vector}, threshold=-0.99) == {}


def test_match_previous_is_one_to_one_and_respects_the_threshold() -> None:
    themes = discover_themes(corpus(), HashingEmbedder())
    tower = themes[0]
    assert tower.centroid is not None
    near, far = tower.centroid.copy(), -tower.centroid
    assert match_previous(themes, {"a": near, "b": near}, threshold=0.9) == {tower.stable_key: "a"}
    assert match_previous(themes, {"far": far}, threshold=0.5) == {}


@pytest.mark.parametrize(
    ("previous", "threshold", "message"),
    [
        ({}, 1.5, r"threshold must be in \(-1, 1\]"),
        ({}, True, "threshold must be a number"),
        ({"k": [0.0, 0.0]}, 0.8, "zero vector"),
        ({"k": [[1.0]]}, 0.8, "finite 1-D vector"),
        ({"k": [float("nan")]}, 0.8, "finite 1-D vector"),
        ({"k": [1.0, 0.0, 0.0]}, 0.8, "another model"),
    ],
)
def test_match_previous_rejects_bad_input(
    previous: dict[str, Any], threshold: Any, message: str
) -> None:
    themes = discover_themes(corpus(), HashingEmbedder())
    with pytest.raises(ValueError, match=message):
        match_previous(themes, previous, threshold=threshold)


def test_document_themes_assigns_each_document_its_dominant_theme() -> None:
    themes = discover_themes(corpus(), HashingEmbedder())
    assigned = document_themes(themes)
    assert assigned["tower-2"] == themes[0].stable_key
    assert assigned["boss-1"] == themes[1].stable_key
    assert len(assigned) == 7


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_docs": 1}, "min_docs must be an integer of at least 2"),
        ({"min_cluster_size": True}, "min_cluster_size must be an integer"),
        ({"distance_threshold": 0.0}, r"distance_threshold must be in \(0, 2\)"),
        ({"distance_threshold": 2.5}, r"distance_threshold must be in \(0, 2\)"),
        ({"progress": "yes"}, "progress must be a callable"),
        ({"max_sentences": 3}, "exceed max_sentences=3"),
        ({"sentence_weight": 1.5}, r"sentence_weight must be a number in \[0, 1\]"),
        ({"components": -1}, "components must be an integer from 0 to 16"),
        ({"components": True}, "components must be an integer from 0 to 16"),
    ],
)
def test_discover_themes_rejects_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        discover_themes(corpus(), HashingEmbedder(), **kwargs)


def test_discover_themes_rejects_duplicate_ids_and_foreign_objects() -> None:
    docs = corpus()
    with pytest.raises(ValueError, match="duplicate document id 'tower-0'"):
        discover_themes([*docs, docs[0]], HashingEmbedder())
    with pytest.raises(ValueError, match=r"documents\[0\] is not a Document"):
        discover_themes([{"id": "x"}], HashingEmbedder())  # type: ignore[list-item]
    with pytest.raises(ValueError, match="embedder must provide"):
        discover_themes(docs, object())  # type: ignore[arg-type]


class BrokenEmbedder:
    name = "broken"
    suggested_distance_threshold = 0.5

    def __init__(self, scale: float = 2.0, rows: int | None = None) -> None:
        self.scale, self.rows = scale, rows

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts) if self.rows is None else self.rows
        return np.full((n, 4), self.scale / 2.0, dtype=np.float32)


@pytest.mark.parametrize(
    ("embedder", "message"),
    [
        (BrokenEmbedder(scale=2.0), "L2-normalised"),
        (BrokenEmbedder(scale=1.0, rows=1), "returned shape"),
        (BrokenEmbedder(scale=float("nan")), "non-finite"),
    ],
)
def test_discover_themes_holds_embedders_to_their_contract(
    embedder: BrokenEmbedder, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        discover_themes(corpus(), embedder)


# ------------------------------------------------------------- adjusted Rand index


def test_ari_is_one_for_identical_partitions_whatever_the_label_names() -> None:
    assert adjusted_rand_index([0, 0, 1, 1, 2], ["b", "b", "a", "a", "c"]) == 1.0


def test_ari_matches_hand_computed_values() -> None:
    # Contingency rows (2,1,0) and (0,1,2): Σ C(nij,2) = 2, Σ C(ai,2) = 6, Σ C(bj,2) = 3,
    # C(6,2) = 15, expected = 6·3/15 = 1.2, maximum = 4.5, ARI = 0.8/3.3 = 8/33.
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(8 / 33)
    # Σ C(nij,2) = 1, Σ C(ai,2) = 3+1+0 = 4, Σ C(bj,2) = 3, expected = 4·3/15 = 0.8,
    # maximum = 3.5, ARI = 0.2/2.7 = 2/27.
    assert adjusted_rand_index([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]) == pytest.approx(2 / 27)
    # Every pair disagrees: index 0, expected 2·2/6, maximum 2, ARI = -(2/3)/(4/3) = -1/2.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_ari_is_zero_when_one_partition_is_all_together_and_the_other_all_apart() -> None:
    assert adjusted_rand_index([1, 1, 1, 1], [1, 2, 3, 4]) == 0.0


def test_ari_is_one_for_matching_trivial_partitions() -> None:
    assert adjusted_rand_index([5, 5, 5], ["x", "x", "x"]) == 1.0
    assert adjusted_rand_index([1, 2, 3], [3, 1, 2]) == 1.0


def test_ari_is_symmetric() -> None:
    a, b = [0, 0, 1, 2, 2, 2, 1], [1, 1, 1, 0, 0, 2, 2]
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_index(b, a))


def test_ari_rejects_mismatched_or_too_short_input() -> None:
    with pytest.raises(ValueError, match="differ in length: 2 vs 3"):
        adjusted_rand_index([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="at least two items"):
        adjusted_rand_index([0], [0])


# ---------------------------------------------------------------------- eval data


def load_eval() -> list[dict[str, Any]]:
    return list(json.loads(DATA.read_text(encoding="utf-8"))["entries"])


def test_the_evaluation_set_is_balanced_synthetic_and_valid() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert "SYNTHETIC" in data["description"]
    entries = data["entries"]
    per_theme: dict[str, int] = {}
    for entry in entries:
        per_theme[entry["theme"]] = per_theme.get(entry["theme"], 0) + 1
        Document(
            entry["id"],
            entry["kind"],
            dt.date.fromisoformat(entry["date"]),
            entry["text"],
            entry["cacheable"],
        )
    assert len(per_theme) == 7
    assert set(per_theme.values()) == {16}
    assert {e["split"] for e in entries} == {"dev", "test"}


def eval_documents(split: str | None = None) -> tuple[list[Document], list[str]]:
    docs, truth = [], []
    for entry in load_eval():
        if split is None or entry["split"] == split:
            docs.append(
                Document(
                    entry["id"],
                    entry["kind"],
                    dt.date.fromisoformat(entry["date"]),
                    entry["text"],
                    entry["cacheable"],
                )
            )
            truth.append(entry["theme"])
    return docs, truth


def strict_ari(themes: list[Theme], docs: list[Document], truth: list[str]) -> float:
    assigned = document_themes(themes)
    return adjusted_rand_index(truth, [assigned.get(d.id, f"uncited:{d.id}") for d in docs])


def test_hashing_baseline_runs_on_the_evaluation_set_and_keeps_its_promises() -> None:
    docs, truth = eval_documents()
    by_id = {d.id: d for d in docs}
    themes = discover_themes(docs, HashingEmbedder())
    assert themes
    for theme in themes:
        assert len(theme.document_ids) >= 2
        for e in theme.evidence:
            assert by_id[e.document_id].text[e.start : e.end] == e.sentence
    assert -1.0 <= strict_ari(themes, docs, truth) <= 1.0


# ------------------------------------------------------------------------ real model


@pytest.fixture(scope="module")
def minilm() -> Any:
    from reverie.process.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@needs_model
def test_the_real_model_groups_paraphrases_that_share_no_words(minilm: Any) -> None:
    texts = [
        "In my dream someone was chasing me through a dark forest.",
        "I dreamt a stranger pursued me down empty streets at night.",
        "Last night a figure ran after me in my sleep and I could not escape.",
        "My supervisor criticised my report in front of everyone.",
        "The plumber repaired the kitchen sink on Tuesday.",
    ]
    docs = [Document(f"d{i}", "journal", day(i), t, True) for i, t in enumerate(texts)]
    themes = discover_themes(docs, minilm)
    assert [set(t.document_ids) for t in themes] == [{"d0", "d1", "d2"}]
    baseline = discover_themes(docs, HashingEmbedder())
    assert baseline == [], "the word-based baseline cannot see these paraphrases"


@needs_model
def test_the_real_model_keeps_the_privacy_rules(minilm: Any) -> None:
    docs = private_corpus()
    themes = discover_themes(docs, minilm)
    private = minilm.embed(
        [s.text for d in docs if not d.cacheable for s in split_sentences(d.text)]
    ).astype(np.float64)
    for theme in themes:
        if all(not e.cacheable for e in theme.evidence):
            assert theme.centroid is None
        for vector in arrays_in(theme):
            assert np.max(private @ vector.astype(np.float64)) < 0.999


@needs_model
def test_the_real_model_beats_the_hashing_baseline_on_the_evaluation_set(minilm: Any) -> None:
    docs, truth = eval_documents()
    real = strict_ari(discover_themes(docs, minilm), docs, truth)
    baseline = strict_ari(discover_themes(docs, HashingEmbedder()), docs, truth)
    # Figures at the shipped thresholds were 0.09 versus 0.04 when this was written;
    # see docs/themes.md for why both are low.
    assert real > baseline


@needs_model
def test_the_real_model_gives_reproducible_themes(minilm: Any) -> None:
    docs, _ = eval_documents("dev")
    first = [(t.stable_key, t.label, t.document_ids) for t in discover_themes(docs, minilm)]
    second = [(t.stable_key, t.label, t.document_ids) for t in discover_themes(docs, minilm)]
    assert first == second


# ------------------------------------------------------------- the theme space


def test_theme_space_centres_and_removes_the_leading_direction_of_the_reference() -> None:
    from reverie.process.themes import CENTRING_PRIOR, _theme_space

    rng = np.random.default_rng(7)
    raw = rng.normal(size=(40, 6))
    raw[:, 0] *= 10.0  # one direction dominates the spread
    x = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    groups = [i // 4 for i in range(40)]
    own, around = _theme_space(x, groups, range(40), components=1)
    assert np.allclose(np.linalg.norm(own, axis=1), 1.0)
    assert np.allclose(np.linalg.norm(around, axis=1), 1.0)
    # Nothing of the leading principal direction of the centred rows is left (the mean
    # is shrunk as if CENTRING_PRIOR more sentences sat at zero).
    centred = x - x.sum(axis=0) / (len(x) + CENTRING_PRIOR)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    top = np.linalg.svd(centred, full_matrices=False)[2][0]
    assert np.abs(own @ top).max() < 1e-9
    assert np.abs(around @ top).max() < 1e-9
    # Every document's sentences share one context vector.
    assert np.allclose(around[0], around[3]) and not np.allclose(around[0], around[4])
    # components=0 only centres.
    only_centred, _ = _theme_space(x, groups, range(40), components=0)
    assert np.allclose(only_centred, centred)


def test_theme_space_keeps_every_direction_when_there_are_too_few_rows() -> None:
    from reverie.process.themes import _theme_space

    x = np.eye(5)[:3]
    with_removal, _ = _theme_space(x, [0, 1, 2], range(3), components=1)
    without, _ = _theme_space(x, [0, 1, 2], range(3), components=0)
    assert np.allclose(with_removal, without)


class WriterEmbedder:
    """Vectors built by hand: a strong 'who writes' axis (client or therapist) and a
    weaker axis per theme, so the test controls what the leading direction is."""

    name = "writer-test"
    suggested_distance_threshold = 0.9

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = np.zeros(8)
            v[0] = 3.0 if text.startswith("Client") else -3.0
            v[1 if "tower" in text else 2] = 1.5
            v[3 + sum(map(ord, text)) % 5] = 0.3  # a little per-sentence noise
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def test_centring_each_voice_lets_a_theme_cut_across_writers() -> None:
    # Forty entries per voice, half on each theme (enough for the voice means to count
    # despite CENTRING_PRIOR); each text is distinct.
    texts: dict[str, tuple[str, str]] = {}
    for i in range(40):
        topic = "the tower dream" if i % 2 == 0 else "a quarrel with her sister"
        texts[f"j{i}"] = ("journal", f"I wrote about {topic} once more, entry {i}.")
        texts[f"n{i}"] = ("progress_note", f"Client described {topic} today, session {i}.")
    docs = [
        Document(key, kind, day(i), text, True)
        for i, (key, (kind, text)) in enumerate(texts.items())
    ]

    def groups(**settings: Any) -> set[frozenset[str]]:
        themes = discover_themes(
            docs, WriterEmbedder(), distance_threshold=0.9, sentence_weight=1.0, **settings
        )
        return {frozenset(t.document_ids) for t in themes}

    tower = frozenset(k for k in texts if int(k[1:]) % 2 == 0)
    by_theme = {tower, frozenset(texts) - tower}
    journal = frozenset(k for k in texts if k[0] == "j")
    by_writer = {journal, frozenset(texts) - journal}
    assert groups(by_voice=False, components=0) == by_writer
    assert groups(by_voice=True, components=0) == by_theme
    # Removing the leading principal direction instead also finds the themes here.
    assert groups(by_voice=False, components=1) == by_theme
