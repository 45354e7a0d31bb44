"""Seeded themes: the therapist marks a few sentences, Reverie ranks the others.

The engine (``themes.rank_by_seeds``) is tested on its own; the pages are tested end to
end without a browser on both databases, with the word-overlap fallback (the ``no_model``
fixture) so the test does not depend on the model being installed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.urls import reverse

from reverie.audit import trail
from reverie.process import actions as process_actions
from reverie.process import seeded
from reverie.process.embeddings import HashingEmbedder
from reverie.process.models import EvidenceRole, RecurringTheme, ThemeEvidence
from reverie.process.themes import Document, embedding_cache_key, rank_by_seeds
from reverie.testing import World

DAY = dt.date(2025, 3, 3)


def _doc(doc_id: str, text: str, cacheable: bool = True, kind: str = "journal") -> Document:
    return Document(doc_id, kind, DAY, text, cacheable)


DOCS = [
    _doc("journal:1", "I dreamt I was falling from the old tower again. I woke up shaking."),
    _doc("journal:2", "Falling from a tower in my dream, the same tower as before."),
    _doc("journal:3", "We bought apples and pears at the weekend market with friends."),
    _doc("journal:4", "The market had apples, pears and cheap flowers this weekend."),
    _doc("journal:5", "Another dream of falling from that tower, the ground rushing up."),
]


def _span(doc: Document, index: int = 0) -> tuple[str, int, int]:
    from reverie.process.themes import split_sentences

    s = split_sentences(doc.text)[index]
    return (doc.id, s.start, s.end)


# ----------------------------------------------------------------------------- engine


def test_sentences_like_the_seed_rank_first_with_their_scores() -> None:
    matches = rank_by_seeds(DOCS, [_span(DOCS[0])], HashingEmbedder(), limit=10)
    ids = [m.evidence.document_id for m in matches]
    # The seed's own entry and the two other falling dreams first (context counts: "I woke
    # up shaking." stands in the seed's entry), the market entries last.
    assert set(ids[:3]) == {"journal:1", "journal:2", "journal:5"}
    assert set(ids[3:]) == {"journal:3", "journal:4"}
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    top = matches[0]
    assert top.score == pytest.approx(0.2 * top.sentence_similarity + 0.8 * top.context_similarity)
    assert all(
        m.evidence.sentence in DOCS[int(m.evidence.document_id[-1]) - 1].text for m in matches
    )


def test_seeds_and_excluded_sentences_are_never_suggested() -> None:
    seed = _span(DOCS[0])
    excluded = _span(DOCS[1])
    matches = rank_by_seeds(DOCS, [seed], HashingEmbedder(), exclude=[excluded], limit=50)
    keys = {(m.evidence.document_id, m.evidence.start, m.evidence.end) for m in matches}
    assert seed not in keys and excluded not in keys
    assert len(matches) == 4  # 6 long-enough sentences, less the seed and the excluded one


def test_a_seed_that_is_not_a_sentence_of_its_document_is_ignored() -> None:
    assert rank_by_seeds(DOCS, [("journal:1", 3, 9)], HashingEmbedder()) == []
    assert rank_by_seeds(DOCS, [("journal:99", 0, 10)], HashingEmbedder()) == []


def test_process_note_vectors_never_touch_the_cache() -> None:
    docs = [
        *DOCS,
        _doc("process_note:7", "Falling tower dream, her fear of it.", False, "process_note"),
    ]
    cache: dict[str, np.ndarray] = {}
    embedder = HashingEmbedder()
    matches = rank_by_seeds(docs, [_span(DOCS[0])], embedder, cache=cache, limit=50)
    assert any(m.evidence.kind == "process_note" for m in matches)
    assert embedding_cache_key(embedder.name, "Falling tower dream, her fear of it.") not in cache
    assert embedding_cache_key(embedder.name, DOCS[1].text) in cache


def _first_pass(docs: list[Document], seed: tuple[str, int, int]) -> list[tuple[str, float]]:
    """The ranking before feedback, rebuilt here from its definition: the query is the
    mean of the seed's centred sentence vector and its centred entry vector, and each
    candidate scores 0.2 of its own cosine plus 0.8 of its entry's (DOCS: one voice,
    one date, ids in order)."""
    from reverie.process.themes import _theme_space, _unit_rows, split_sentences

    rows = [(d, s) for d in docs for s in split_sentences(d.text) if len(s.text.split()) >= 4]
    x = HashingEmbedder().embed([s.text for _, s in rows]).astype(np.float64)
    is_seed = [(d.id, s.start, s.end) == seed for d, s in rows]
    candidates = [i for i, flag in enumerate(is_seed) if not flag]
    xc, cc = _theme_space(x, [d.id for d, _ in rows], candidates, 0, ["client"] * len(rows))
    s = is_seed.index(True)
    query = _unit_rows(xc[s] + cc[s])
    scored = [(rows[i][0].id, 0.2 * xc[i] @ query + 0.8 * cc[i] @ query) for i in candidates]
    return sorted(scored, key=lambda r: -r[1])


def test_without_feedback_the_ranking_is_the_first_pass_whatever_the_count() -> None:
    seed = _span(DOCS[0])
    expected = _first_pass(DOCS, seed)
    for count in (1, 3, 50):
        matches = rank_by_seeds(
            DOCS, [seed], HashingEmbedder(), limit=50, feedback_weight=0.0, feedback_count=count
        )
        assert [m.evidence.document_id for m in matches] == [d for d, _ in expected]
        assert [m.score for m in matches] == pytest.approx([v for _, v in expected])


SHAME = {
    "seed": "My mother criticised my cooking at the family dinner.",
    "close": "At the family dinner my mother criticised me, and I felt small, ashamed and useless.",
    "echo": "Once more I felt small, ashamed and useless, like a child.",
    "lure": "The dinner table at the restaurant was booked for eight.",
    "market": "We bought apples and pears at the weekend market with friends.",
    "train": "The train to Leeds was cancelled because of heavy snow.",
    "sink": "The plumber finally repaired the kitchen sink on Tuesday.",
    "flat": "My cousin is moving to a new flat near the river soon.",
}


def test_feedback_lifts_a_near_duplicate_of_the_best_match() -> None:
    # "echo" shares no content word with the seed, only with its best match ("close");
    # "lure" shares one word ("dinner") with the seed and nothing else.
    docs = [_doc(key, text) for key, text in SHAME.items()]
    seed = ("seed", 0, len(SHAME["seed"]))

    def order(**kwargs: Any) -> list[str]:
        matches = rank_by_seeds(docs, [seed], HashingEmbedder(), limit=50, **kwargs)
        return [m.evidence.document_id for m in matches]

    before = order(feedback_weight=0.0)
    after = order(feedback_weight=1.0, feedback_count=1)
    assert before[:2] == ["close", "lure"] and before.index("echo") > 1
    assert after[:2] == ["close", "echo"]
    assert set(after) == set(before) == set(SHAME) - {"seed"}


def test_an_aside_in_a_matching_entry_ranks_below_its_on_theme_sentence() -> None:
    # The shipped settings (feedback included): an entry on the theme lifts its aside
    # with it, but never above the entry's own sentence on the theme.
    docs = [
        *DOCS,
        _doc("journal:6", "The falling tower dream came back. The plumber fixed the sink."),
    ]
    matches = rank_by_seeds(docs, [_span(DOCS[0])], HashingEmbedder(), limit=50)
    own = [m.evidence.sentence for m in matches if m.evidence.document_id == "journal:6"]
    assert own == ["The falling tower dream came back.", "The plumber fixed the sink."]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"sentence_weight": 1.5},
        {"context_weight": -0.1},
        {"min_sentence_words": 0},
        {"components": -1},
        {"components": 2.0},
        {"feedback_weight": 1.5},
        {"feedback_weight": -0.1},
        {"feedback_count": 0},
        {"feedback_count": 2.0},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        rank_by_seeds(DOCS, [_span(DOCS[0])], HashingEmbedder(), **kwargs)


def test_form_keys_round_trip_and_reject_junk() -> None:
    assert seeded.parse_key(seeded.sentence_key("journal:12", 3, 40)) == ("journal:12", 3, 40)
    for junk in ("", "journal:1:2", "secret:1:2:3", "journal:x:2:3", "journal:1:2:99999999999"):
        assert seeded.parse_key(junk) is None


# ----------------------------------------------------------------------------- pages

FALLING = [
    "I dreamt I was falling from the old tower again and could not stop.",
    "Falling from the tower in my dream, the same tower as last month.",
    "Another dream of falling from that tower, the ground rushing up at me.",
]
MARKET = "We bought apples and pears at the weekend market with my friends."


@pytest.fixture
def record(world: World, proc: Any) -> dict[str, Any]:
    entries = [proc.entry(t, days_ago=60 - 20 * i) for i, t in enumerate(FALLING)]
    market = proc.entry(MARKET, days_ago=5)
    hidden = proc.entry("Falling from the tower, but I keep this dream to myself.", share=False)
    note = process_actions.save_process_note(
        trail.Context(user=world.therapist),
        episode=world.episode,
        text="She returns to the falling tower dream whenever her mother visits.",
    )
    return {"entries": entries, "market": market, "hidden": hidden, "note": note}


def _key(entry: Any) -> str:
    return seeded.sentence_key(f"journal:{entry.pk}", 0, len(entry.text))


def test_therapist_seeds_a_theme_sees_ranked_evidence_and_judges_it(
    world: World, as_user: Any, record: dict[str, Any], audit_mark: Any, no_model: None
) -> None:
    http = as_user("therapist")
    page = http.get(reverse("process:theme_seed", args=[world.client.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert FALLING[0] in body and MARKET in body
    assert "keep this dream to myself" not in body  # unshared entries are never offered
    assert "whenever her mother visits" in body  # the therapist's own process note is
    filtered = http.get(reverse("process:theme_seed", args=[world.client.pk]), {"q": "apples"})
    assert MARKET in filtered.content.decode() and FALLING[0] not in filtered.content.decode()

    audit_mark()
    made = http.post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Falling dreams", "seed": [_key(record["entries"][0])]},
    )
    theme = RecurringTheme.objects.get(origin="seeded")
    assert made.status_code == 302 and made["Location"] == reverse("process:theme", args=[theme.pk])
    assert theme.label == "Falling dreams" and theme.owner == world.therapist
    created = [r for r in audit_mark() if r[1] == "create"]
    assert created and created[0][2] == "process.recurringtheme" and created[0][5]["seeded"]

    detail = http.get(made["Location"])
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Ranked by shared words only" in html  # the fallback is labelled
    ranked = html[html.index("Sentences most like this theme") :]
    # Even the word-overlap fallback puts the closest paraphrase above the market.
    assert ranked.index(FALLING[1]) < ranked.index(MARKET)
    assert "score" in ranked

    second = _key(record["entries"][1])
    audit_mark()
    judged = http.post(
        reverse("process:theme_judge", args=[theme.pk]), {"sentence": second, "verdict": "accept"}
    )
    assert judged.status_code == 302
    row = ThemeEvidence.objects.get(theme=theme, role=EvidenceRole.ACCEPTED)
    assert row.sentence == FALLING[1] and row.score is not None
    updated = [r for r in audit_mark() if r[1] == "update"]
    assert updated[0][5]["verdict"] == "accept"

    market = _key(record["market"])
    http.post(
        reverse("process:theme_judge", args=[theme.pk]), {"sentence": market, "verdict": "reject"}
    )
    rejected = ThemeEvidence.objects.get(theme=theme, role=EvidenceRole.REJECTED)
    assert rejected.sentence == ""  # a rejected suggestion is remembered, not quoted
    again = http.get(reverse("process:theme", args=[theme.pk])).content.decode()
    suggestions = again[again.index("Sentences most like this theme") :]
    assert MARKET not in suggestions and FALLING[1] not in suggestions
    assert "1 suggestion rejected" in again

    # Judging the same sentence twice is refused with a message, not an error page.
    twice = http.post(
        reverse("process:theme_judge", args=[theme.pk]),
        {"sentence": market, "verdict": "accept"},
        follow=True,
    )
    assert twice.status_code == 200 and "already been judged" in twice.content.decode()

    # The client's record carries the seeded theme with its seed and the accepted sentence,
    # never the rejected suggestion.
    from reverie.lifecycle.record import accepted_themes

    exported = next(t for t in accepted_themes(world.client) if t.theme.pk == theme.pk)
    assert sorted(e.role for e in exported.evidence) == ["accepted", "seed"]


def test_accepted_sentences_are_sealed_at_rest(
    world: World, as_user: Any, record: dict[str, Any], no_model: None
) -> None:
    http = as_user("therapist")
    http.post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Unmistakable seeded label", "seed": [_key(record["entries"][0])]},
    )
    theme = RecurringTheme.objects.get(origin="seeded")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sentence FROM process_themeevidence WHERE theme_id = %s", [theme.pk])
        raw = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT label FROM process_recurringtheme WHERE id = %s", [theme.pk])
        label = cursor.fetchone()[0]
    assert raw and all("falling" not in str(v).lower() for v in raw)
    assert "Unmistakable" not in str(label)


def test_a_process_note_seed_keeps_only_its_span(
    world: World, as_user: Any, record: dict[str, Any], no_model: None
) -> None:
    note = record["note"]
    text = "She returns to the falling tower dream whenever her mother visits."
    http = as_user("therapist")
    http.post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Tower", "seed": [seeded.sentence_key(f"process_note:{note.pk}", 0, len(text))]},
    )
    row = ThemeEvidence.objects.get(role=EvidenceRole.SEED)
    assert row.kind == "process_note" and row.sentence == "" and row.end == len(text)
    page = http.get(reverse("process:theme", args=[row.theme_id])).content.decode()
    assert text in page  # cut from the decrypted note for its author


@pytest.mark.parametrize(
    "data",
    [
        {"label": "X", "seed": ["journal:999999:0:10"]},
        {"label": "X", "seed": ["not a key"]},
        {"label": "", "seed": []},
        {"label": "   ", "seed": ["journal:1:0:5"]},
        {"label": "x" * 201},
    ],
)
def test_bad_seed_forms_get_a_clear_400(
    world: World, as_user: Any, record: dict[str, Any], data: dict[str, Any], no_model: None
) -> None:
    response = as_user("therapist").post(
        reverse("process:theme_seed", args=[world.client.pk]), data
    )
    assert response.status_code == 400
    assert not RecurringTheme.objects.filter(origin="seeded").exists()


def test_bad_judgements_redirect_with_a_message(
    world: World, as_user: Any, record: dict[str, Any], no_model: None
) -> None:
    http = as_user("therapist")
    http.post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Falling", "seed": [_key(record["entries"][0])]},
    )
    theme = RecurringTheme.objects.get(origin="seeded")
    url = reverse("process:theme_judge", args=[theme.pk])
    for data in (
        {"sentence": "junk", "verdict": "accept"},
        {"sentence": _key(record["entries"][1]), "verdict": "maybe"},
        {"sentence": _key(record["hidden"]), "verdict": "accept"},
    ):
        response = http.post(url, data)
        assert response.status_code == 302
    assert not ThemeEvidence.objects.filter(theme=theme).exclude(role=EvidenceRole.SEED).exists()


def test_colleagues_see_nothing_of_a_seeded_theme(
    world: World, as_user: Any, record: dict[str, Any], no_model: None
) -> None:
    as_user("therapist").post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Falling", "seed": [_key(record["entries"][0])]},
    )
    theme = RecurringTheme.objects.get(origin="seeded")
    colleague = as_user("colleague")
    assert colleague.get(reverse("process:theme", args=[theme.pk])).status_code == 404
    assert (
        colleague.post(
            reverse("process:theme_judge", args=[theme.pk]),
            {"sentence": _key(record["entries"][1]), "verdict": "accept"},
        ).status_code
        == 404
    )


def test_theme_searches_leave_seeded_themes_alone(
    world: World, as_user: Any, record: dict[str, Any], no_model: None
) -> None:
    from reverie.process import theme_runs
    from reverie.process.models import ThemeRun

    as_user("therapist").post(
        reverse("process:theme_seed", args=[world.client.pk]),
        {"label": "Falling", "seed": [_key(record["entries"][0])]},
    )
    run = ThemeRun.objects.create(
        client=world.client, requested_by=world.therapist, use_fallback=True
    )
    theme_runs.save_results(trail.Context(user=world.therapist), run, [])
    theme = RecurringTheme.objects.get(origin="seeded")
    assert theme.evidence.filter(role=EvidenceRole.SEED).count() == 1
