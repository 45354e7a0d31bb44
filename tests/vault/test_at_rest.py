"""Nothing a client or therapist writes is stored as plaintext.

Every encrypted field is written through the real views (as the person who writes it),
with a distinctive sentence per field; each is read back through the ORM to prove it was
stored, and then none of the sentences may appear in the database: the whole SQLite file
(a ``VACUUM INTO`` copy, free pages included) or, on PostgreSQL, every column of every
table. A new encrypted field that this test does not write fails it, so coverage cannot
silently fall behind the models.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from reverie.care.models import (
    Appointment,
    Break,
    Episode,
    NoteAddendum,
    ProcessNote,
    ProgressNote,
)
from reverie.directory.models import ConsultationRequest
from reverie.process import theme_runs
from reverie.process.models import (
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeEvidence,
)
from reverie.process.reflection import FEATURE_KEYS
from reverie.testing import World, build_world, sign_in
from reverie.vault import reencrypt
from reverie.vault.fields import EncryptedTextField

pytestmark = pytest.mark.django_db(transaction=True)


def secret(model: type[models.Model], field: str) -> str:
    # Distinct per field, and unlikely anywhere else in the database.
    return f"Secret-{model._meta.label_lower}-{field} about the locked room upstairs"


def _as(world: World, persona: str) -> HttpClient:
    user = world.user(persona)
    assert user is not None
    return sign_in(HttpClient(), user)


def _journal(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "client")
    response = http.post(
        reverse("process:journal_new"),
        {
            "kind": "dream",
            "entry_date": timezone.localdate().isoformat(),
            "title": secret(JournalEntry, "title"),
            "text": secret(JournalEntry, "text"),
            "mood": "2",
            "tags": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = JournalEntry.objects.get()
    return [(entry, "title"), (entry, "text")]


def _ccrt(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "therapist")
    names = ["other_person_note", "narrative", "wish", "response_of_other", "response_of_self"]
    form = {
        "occurred_on": timezone.localdate().isoformat(),
        "source": "session",
        "appointment": "",
        "other_person": "parent",
        "ro_valence": "negative",
        "rs_valence": "negative",
        # other_person_note is a short field (100 characters).
        **{name: secret(RelationshipEpisode, name)[:100] for name in names},
    }
    response = http.post(reverse("process:relationship_new", args=[world.client.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    episode = RelationshipEpisode.objects.get()
    return [(episode, name) for name in names]


def _formulation_group(world: World) -> list[tuple[models.Model, str]]:
    # On the groups page the therapist puts the wish of the episode _ccrt recorded in a
    # group of its own (named after the wish), then renames the group.
    http = _as(world, "therapist")
    episode = RelationshipEpisode.objects.get(client=world.client)
    url = reverse("process:ccrt_groups", args=[world.client.pk])
    response = http.post(url, {"component": "wish", f"g-{episode.pk}": "new"})
    assert response.status_code == 302, response.content.decode()[:2000]
    group = FormulationGroup.objects.get(client=world.client)
    assert group.label == episode.wish
    response = http.post(
        url,
        {
            "component": "wish",
            f"g-{episode.pk}": str(group.pk),
            f"label-{group.pk}": secret(FormulationGroup, "label"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(group, "label")]


def _progress_note(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "therapist")
    names = ["risk_assessment", "interventions", "content", "plan"]
    response = http.post(
        reverse("care:progress_note_new", args=[world.episode.pk]),
        {
            "session_date": timezone.localdate().isoformat(),
            "attendance": "attended",
            "duration_minutes": "50",
            **{name: secret(ProgressNote, name) for name in names},
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    note = ProgressNote.objects.get()
    http.post(reverse("care:progress_note_sign", args=[note.pk]))
    response = http.post(
        reverse("care:progress_note_addendum", args=[note.pk]),
        {"text": secret(NoteAddendum, "text")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(note, name) for name in names] + [(NoteAddendum.objects.get(), "text")]


def _process_note(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "therapist")
    response = http.post(
        reverse("care:process_note_new", args=[world.episode.pk]),
        {"text": secret(ProcessNote, "text")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(ProcessNote.objects.get(), "text")]


def _episode_goals(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "therapist")
    response = http.post(
        reverse("care:episode_new", args=[world.client.pk]),
        {
            "modality": world.episode.modality,
            "sessions_per_week": "1",
            "start_date": timezone.localdate().isoformat(),
            "goals": secret(Episode, "goals"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(Episode.objects.exclude(goals="").get(client=world.client), "goals")]


def _reflection(world: World) -> list[tuple[models.Model, str]]:
    http = _as(world, "therapist")
    session = (
        Appointment.objects.filter(episode=world.episode, starts_at__lt=timezone.now())
        .order_by("starts_at")
        .last()
    )
    assert session is not None
    response = http.post(
        reverse("process:reflect", args=[session.pk]),
        {**dict.fromkeys(FEATURE_KEYS, "3"), "comment": secret(SessionReflection, "comment")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(SessionReflection.objects.get(), "comment")]


def _message(world: World) -> list[tuple[models.Model, str]]:
    from reverie.audit import trail
    from reverie.messaging import actions
    from reverie.messaging.models import Message

    actions.set_practice_messaging(trail.Context(user=world.admin), world.practice, enabled=True)
    response = _as(world, "client").post(
        reverse("messaging:mine"), {"body": secret(Message, "body")}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # The therapist reads it (the read receipt and its audit entry are written too).
    assert (
        _as(world, "therapist").get(reverse("messaging:thread", args=[world.client.pk])).status_code
        == 200
    )
    return [(Message.objects.get(), "body")]


def _consultation(world: World) -> list[tuple[models.Model, str]]:
    # The public form (anonymous), then the practice admin's triage.
    with override_settings(PUBLIC_PRACTICE=world.practice.slug):
        response = HttpClient().post(
            reverse("directory:consult"),
            {
                "intent": "send",
                "name": "Rowan Ash",
                "email": "rowan@example.org",
                "contact_by": "email",
                "availability_note": secret(ConsultationRequest, "availability_note")[:300],
                "message": secret(ConsultationRequest, "message"),
                "website": "",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    request = ConsultationRequest.objects.get()
    response = _as(world, "admin").post(
        reverse("directory:intake_request", args=[request.pk]),
        {
            "status": "contacted",
            "assigned_therapist": world.therapist.pk,
            "triage_notes": secret(ConsultationRequest, "triage_notes"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(request, "availability_note"), (request, "message"), (request, "triage_notes")]


def _erasure_request(world: World) -> list[tuple[models.Model, str]]:
    # No page asks for an erasure yet: the action the page will call, as the admin.
    from reverie.audit import trail
    from reverie.lifecycle import actions
    from reverie.lifecycle.models import ErasureRequest

    request = actions.request_erasure(
        trail.Context(user=world.admin),
        world.client,
        reason=secret(ErasureRequest, "reason"),
        typed_name=f"{world.client.given_name} {world.client.family_name}",
    )
    return [(request, "reason")]


def _diagnoses(world: World) -> list[tuple[models.Model, str]]:
    # The page and the action accept ICD-10-CM codes only (tests/billing), which a sentence
    # is not: the column is written as the action writes it, through the model's save.
    from reverie.billing.models import ClientBilling

    row = ClientBilling.objects.create(
        client=world.client, diagnoses=secret(ClientBilling, "diagnoses")
    )
    return [(row, "diagnoses")]


def _break_and_cancellation(world: World) -> list[Any]:
    # The therapist adds a break (far ahead, so it cancels nothing) and cancels a session
    # with a reason; the client cancels another in the portal, the conditional UPDATE
    # that writes a token sealed beforehand.
    http = _as(world, "therapist")
    far = timezone.localdate() + timezone.timedelta(days=400)
    response = http.post(
        reverse("care:break_new", args=[world.episode.pk]),
        {
            "starts_on": far.isoformat(),
            "ends_on": far.isoformat(),
            "reason": secret(Break, "reason")[:200],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    soon = timezone.now() + timezone.timedelta(days=5)
    by_therapist = Appointment.objects.create(episode=world.episode, starts_at=soon)
    response = http.post(
        reverse("care:attendance", args=[by_therapist.pk]),
        {"attendance": "cancelled", "reason": secret(Appointment, "cancel_reason")[:200]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    by_client = Appointment.objects.create(
        episode=world.episode, starts_at=soon + timezone.timedelta(days=1)
    )
    response = _as(world, "client").post(reverse("scheduling:cancel", args=[by_client.pk]))
    assert response.status_code == 302, response.content.decode()[:2000]
    by_client.refresh_from_db()
    assert by_client.cancel_reason == "cancelled by the client in the portal"
    stored = next(iter(reencrypt._raw_rows_for(Appointment, ["cancel_reason"], by_client.pk)))
    assert stored["cancel_reason"].startswith("v1:")
    return [
        (Break.objects.get(episode=world.episode), "reason"),
        (by_therapist, "cancel_reason"),
        (by_client, "cancel_reason", "cancelled by the client in the portal"),
    ]


def _support_review(world: World) -> list[tuple[models.Model, str]]:
    # The clinical-support checklist after the world's not-on-track alert.
    from reverie.outcomes.models import SupportReview

    response = _as(world, "therapist").post(
        reverse("outcomes:support_review", args=[world.alert.pk]),
        {"reviewed": ["alliance", "events"], "note": secret(SupportReview, "note")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return [(SupportReview.objects.get(alert=world.alert), "note")]


THEME_SENTENCES = [
    "Secret-theme I was locked out of the lighthouse at the harbour again.",
    "Secret-theme Locked out of the lighthouse at the harbour, I waited till dawn.",
    "Secret-theme Again the lighthouse at the harbour, and I was locked out.",
]


def _themes(world: World) -> list[tuple[models.Model, str, Any]]:
    # Three shared entries the client writes, a fallback search the therapist asks for
    # and the worker runs, then the therapist renames the theme it found. The evidence
    # sentences and terms are copies of the client's text, so what is expected of them is
    # what the search stored (read back through the ORM), not a sentence of their own.
    client_http = _as(world, "client")
    for n, text in enumerate(THEME_SENTENCES):
        response = client_http.post(
            reverse("process:journal_new"),
            {
                "kind": "dream",
                "entry_date": (timezone.localdate() - timezone.timedelta(days=30 * n)).isoformat(),
                "title": "",
                "text": text,
                "tags": "",
                "share": "on",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    http = _as(world, "therapist")
    response = http.post(
        reverse("process:themes_run", args=[world.client.pk]), {"embedder": "fallback"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(theme_runs.process_queued(me="test-worker")) == 1
    # The other writers' texts may make themes of their own: the one checked here is the
    # theme whose evidence holds these sentences.
    themes = list(RecurringTheme.objects.filter(client=world.client))
    theme = next(
        t
        for t in themes
        if THEME_SENTENCES[0] in {e.sentence for e in ThemeEvidence.objects.filter(theme=t)}
    )
    assert theme.terms, "the search found the theme's words"
    response = http.post(
        reverse("process:theme_update", args=[theme.pk]),
        {"action": "rename", "label": secret(RecurringTheme, "label")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    # Every sentence kept (the other writers' texts may join the theme too; a process
    # note's sentence is never kept, only its span).
    evidence = list(ThemeEvidence.objects.filter(theme=theme).exclude(sentence=""))
    assert set(THEME_SENTENCES) <= {e.sentence for e in evidence}
    entries = JournalEntry.objects.filter(text__isnull=False, client=world.client)
    others = [t for t in themes if t.pk != theme.pk]
    return [
        *((e, "text", e.text) for e in entries if e.text in THEME_SENTENCES),
        (theme, "label", secret(RecurringTheme, "label")),
        (theme, "terms", list(theme.terms)),
        *((e, "sentence", e.sentence) for e in evidence),
        # Themes made of the other writers' texts hold copies of those texts, encrypted too.
        *((t, "label", t.label) for t in others),
        *((t, "terms", list(t.terms)) for t in others),
        *(
            (e, "sentence", e.sentence)
            for e in ThemeEvidence.objects.filter(theme__in=others).exclude(sentence="")
        ),
    ]


WRITERS: list[Callable[[World], list[Any]]] = [
    _journal,
    _ccrt,
    _formulation_group,
    _progress_note,
    _process_note,
    _episode_goals,
    _reflection,
    _message,
    _consultation,
    _erasure_request,
    _diagnoses,
    _themes,
    _break_and_cancellation,
    _support_review,
]


def _expected(row: models.Model, name: str) -> str:
    field = row._meta.get_field(name)
    limit = getattr(field, "max_length", None)
    text = secret(type(row), name)
    return text[:limit] if limit else text


def _database_contains(needles: list[bytes]) -> set[bytes]:
    found: set[bytes] = set()
    if connection.vendor == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "copy.sqlite3")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [path])
            with open(path, "rb") as handle:
                data = handle.read()
        return {needle for needle in needles if needle in data}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from introspection)
            text = repr(cursor.fetchall()).encode()
            found |= {needle for needle in needles if needle in text}
    return found


def test_every_encrypted_field_is_ciphertext_in_the_database() -> None:
    world = build_world()
    # (row, field, what it must read): a writer names the text when it is not the
    # field's own sentence (theme evidence quotes the client's text).
    written: list[tuple[models.Model, str, Any]] = []
    for writer in WRITERS:
        written += [w if len(w) == 3 else (*w, _expected(*w)) for w in writer(world)]

    # Each field holds what was typed: the views really wrote these fields.
    for row, name, text in written:
        row.refresh_from_db()
        assert getattr(row, name) == text, (row, name)

    covered = {(type(row)._meta.label, name) for row, name, _ in written}
    declared = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    }
    assert declared - covered == set(), "encrypted fields this test does not write"

    # A JSON value as a plain column would hold it.
    needles = [(t if isinstance(t, str) else json.dumps(t)).encode() for _, _, t in written]
    # Sanity: the scan finds a sentence that is stored in plain text.
    world.practice.crisis_info = "Plain-canary-in-the-practice-row"
    world.practice.save(update_fields=["crisis_info"])
    assert _database_contains([b"Plain-canary-in-the-practice-row"]) == {
        b"Plain-canary-in-the-practice-row"
    }
    assert _database_contains(needles) == set()

    # Re-encrypting under new data keys works for every one of these columns: the text
    # reads the same afterwards, and no value is left under a retired key.
    outcome = reencrypt.reencrypt()
    assert outcome.resealed == len(needles) and reencrypt.count_stale() == 0
    for row, name, text in written:
        row.refresh_from_db()
        assert getattr(row, name) == text, (row, name)
    assert _database_contains(needles) == set()
