"""Erasure reaches backups taken before it, without rewriting them.

A client with text in every kind of record is backed up; two admins erase them; the live
database holds none of their text or names; the old archive is restored into an empty
database with the same practice keys, and the client's text still cannot be read there,
because ``reverie restore`` applies the erasure ledger kept outside the database
(``lifecycle/erasure.py``; the design and its limit are in docs/data-lifecycle.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from pyrage import x25519

from lifecycle_data import (
    ADDENDUM_TEXT,
    BREAK_REASON_TEXT,
    CANCEL_REASON_TEXT,
    CONSULTATION_TEXT,
    GROUP_LABEL,
    NARRATIVE_TEXT,
    NOTE_TEXT,
    PRIVATE_ENTRY_TEXT,
    PRIVATE_THEME_LABEL,
    PROCESS_NOTE_TEXT,
    REFLECTION_TEXT,
    SHARED_ENTRY_TEXT,
    SUGGESTED_THEME_LABEL,
    SUPPORT_NOTE_TEXT,
    THEME_EVIDENCE_TEXT,
    THEME_LABEL,
    THEME_TERMS,
    build_full_record,
)
from reverie.accounts.models import Role
from reverie.audit import protection, trail
from reverie.backups import actions as backup_actions
from reverie.backups.restore import restore
from reverie.care.models import (
    Appointment,
    Break,
    Client,
    NoteAddendum,
    ProcessNote,
    ProgressNote,
)
from reverie.directory.models import ConsultationRequest
from reverie.lifecycle import actions, erasure
from reverie.outcomes.models import SupportReview
from reverie.paperwork import actions as paperwork_actions
from reverie.paperwork import storage
from reverie.process.models import (
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeEvidence,
)
from reverie.testing import build_world, make_user
from reverie.vault import envelope

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TEXTS = [
    NOTE_TEXT,
    ADDENDUM_TEXT,
    NARRATIVE_TEXT,
    GROUP_LABEL,
    REFLECTION_TEXT,
    SHARED_ENTRY_TEXT,
    PRIVATE_ENTRY_TEXT,
    PROCESS_NOTE_TEXT,
    CONSULTATION_TEXT,
    THEME_LABEL,
    THEME_EVIDENCE_TEXT,
    *THEME_TERMS,
    SUGGESTED_THEME_LABEL,
    PRIVATE_THEME_LABEL,
    BREAK_REASON_TEXT,
    CANCEL_REASON_TEXT,
    SUPPORT_NOTE_TEXT,
]


def _client_texts(client_id: int) -> list[str]:
    """Every text of the client that the ORM opens, as a reader would see it."""
    texts: list[str] = []
    for note in ProgressNote.objects.filter(episode__client_id=client_id):
        texts += [note.content, note.plan, note.risk_assessment, note.interventions]
    texts += [a.text for a in NoteAddendum.objects.filter(note__episode__client_id=client_id)]
    texts += [e.text for e in JournalEntry.objects.filter(client_id=client_id)]
    texts += [r.narrative for r in RelationshipEpisode.objects.filter(client_id=client_id)]
    texts += [g.label for g in FormulationGroup.objects.filter(client_id=client_id)]
    texts += [
        r.comment
        for r in SessionReflection.objects.filter(appointment__episode__client_id=client_id)
    ]
    texts += [c.message for c in ConsultationRequest.objects.filter(client_id=client_id)]
    texts += [b.reason for b in Break.objects.filter(episode__client_id=client_id)]
    texts += [a.cancel_reason for a in Appointment.objects.filter(episode__client_id=client_id)]
    for theme in RecurringTheme.objects.filter(client_id=client_id):
        # Terms read as an empty list once their key is gone.
        texts += [theme.label, *theme.terms]
    texts += [e.sentence for e in ThemeEvidence.objects.filter(theme__client_id=client_id)]
    texts += [r.note for r in SupportReview.objects.filter(alert__client_id=client_id)]
    return [t for t in texts if t]


def _raw_database(needles: list[bytes]) -> set[bytes]:
    """Which needles the database holds: on SQLite the file itself (after a checkpoint,
    so the write-ahead log is in it), free space included; on PostgreSQL every column of
    every table as the server returns it."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        name = str(connection.settings_dict["NAME"])
        data = b""
        for path in (name, name + "-wal"):
            if os.path.exists(path):
                data += Path(path).read_bytes()
        return {n for n in needles if n in data}
    found: set[bytes] = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from introspection)
            text = repr(cursor.fetchall()).encode()
            found |= {n for n in needles if n in text}
    return found


def test_after_erasure_no_text_is_readable_live_or_in_an_older_backup(
    backup_key: x25519.Identity, tmp_path: Path, settings
) -> None:
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "outside-the-database")
    world = build_world()
    build_full_record(world)
    client = world.client
    client.phone = "+44 7700 900123"
    client.save(update_fields=["phone"])
    identifying = [client.given_name, client.family_name, client.email, client.phone]
    second = make_user(world.practice, Role.ADMIN, "second@harbour.test", "Sam Second")
    # (A set: the suggested theme quotes the same sentence as the accepted one.)
    assert set(_client_texts(client.pk)) == set(TEXTS) - {PROCESS_NOTE_TEXT}
    assert ProcessNote.objects.filter(episode__client=client).exists()
    document = paperwork_actions.upload_document(
        trail.Context(user=world.therapist), client, kind="other", name="letter.png", data=PNG
    )

    old = backup_actions.create(trail.system("test"), tmp_path / "out", by="test").run.path

    name = f"{client.given_name} {client.family_name}"
    reason = "The client asked for erasure in writing; retention has passed."
    row = actions.request_erasure(
        trail.Context(user=world.admin), client, reason=reason, typed_name=name
    )
    actions.confirm_erasure(trail.Context(user=second), row.pk, typed_name=name)

    # Live: nothing of the client reads, and nothing of it is in the database's bytes.
    assert set(_client_texts(client.pk)) == {envelope.ERASED}
    needles = [t.encode() for t in [*TEXTS, *identifying]]
    assert _raw_database(needles) == set()

    # The old archive, restored into an empty database with the same practice keys.
    with connection.cursor() as cursor:
        protection.remove(cursor, connection.vendor)
    call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        protection.install(cursor, connection.vendor)
    storage.root().rename(tmp_path / "documents-live")
    assert settings.ENCRYPTION_KEYS
    done = restore(Path(old), by="test")

    assert done.erased_again == 1
    restored = Client.objects.get(pk=client.pk)
    assert erasure.is_erased(restored)
    assert set(_client_texts(client.pk)) == {envelope.ERASED}
    assert not ProcessNote.objects.filter(episode__client_id=client.pk).exists()
    assert done.documents == 1 and not (storage.root() / document.stored_name).exists()
    assert _raw_database(needles) == set()
    # The other client of the archive is untouched.
    assert Client.objects.get(pk=world.other_client.pk).given_name == world.other_client.given_name
    assert trail.verify(use_checkpoints=False).ok
