from __future__ import annotations

import io
import os
import tempfile

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions, crypto
from reverie.care.models import ProcessNote, ProgressNote
from reverie.process import actions as process_actions
from reverie.testing import World, build_world
from reverie.vault import envelope
from reverie.vault.models import DataKey

SECRET = "She dreamt the house had a room she had never been allowed to enter"


def _draft(world: World) -> ProgressNote:
    return actions.save_progress_note(
        trail.Context(user=world.therapist),
        episode=world.episode,
        fields={
            "session_date": timezone.localdate(),
            "content": "Talked about her father",
            "plan": "Continue",
        },
    )


def test_sign_and_lock_asks_first_and_says_signing_is_final(world: World, as_user) -> None:
    note = _draft(world)
    http = as_user("therapist")
    editor = http.get(reverse("care:progress_note", args=[note.pk])).content.decode()
    confirm_url = reverse("care:progress_note_sign", args=[note.pk])
    assert f'href="{confirm_url}"' in editor  # a link to the confirmation, not a signing form
    page = http.get(confirm_url).content.decode()
    assert "Signing is final" in page and 'method="post"' in page
    note.refresh_from_db()
    assert not note.is_signed  # asking signs nothing
    assert http.post(confirm_url).status_code == 302
    note.refresh_from_db()
    assert note.is_signed
    # Once signed, the confirmation step just leads back to the note.
    assert http.get(confirm_url)["Location"] == reverse("care:progress_note", args=[note.pk])


def test_client_search_finds_preferred_and_family_names_as_the_list_shows_them(
    world: World, as_user
) -> None:
    from reverie.care.models import Client

    Client.objects.create(
        practice=world.practice, given_name="Abigail", preferred_name="Abby", family_name="Alvarez"
    )
    actions_http = as_user("admin")
    for query in ("Abb", "abby alv", "Alvarez", "Abigail"):
        page = actions_http.get(reverse("care:clients"), {"q": query}).content.decode()
        assert "Abby Alvarez" in page, query
    assert (
        "Abby Alvarez"
        not in actions_http.get(reverse("care:clients"), {"q": "Abby Client"}).content.decode()
    )


def test_signed_progress_note_is_locked_and_takes_addenda(world: World, as_user) -> None:
    note = _draft(world)
    http = as_user("therapist")
    http.post(reverse("care:progress_note_sign", args=[note.pk]))
    note.refresh_from_db()
    assert note.is_signed
    response = http.post(
        reverse("care:progress_note_save", args=[note.pk]),
        {
            "session_date": note.session_date.isoformat(),
            "attendance": "attended",
            "duration_minutes": "50",
            "content": "rewritten",
        },
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.content == "Talked about her father"
    http.post(
        reverse("care:progress_note_addendum", args=[note.pk]),
        {"text": "Correction: mother, not father."},
    )
    assert [a.text for a in note.addenda.all()] == ["Correction: mother, not father."]
    actions_seen = list(
        AuditEntry.objects.filter(client_id=world.client.pk).values_list("action", "object_type")
    )
    assert ("update", "care.progressnote") in actions_seen and (
        "create",
        "care.noteaddendum",
    ) in actions_seen


def test_autosave_creates_then_updates_one_draft(world: World, as_user) -> None:
    http = as_user("therapist")
    data = {
        "session_date": timezone.localdate().isoformat(),
        "attendance": "attended",
        "duration_minutes": "50",
        "content": "first words",
    }
    first = http.post(
        reverse("care:progress_note_new", args=[world.episode.pk]), data, HTTP_X_AUTOSAVE="1"
    ).json()
    data["content"] = "first words, then more"
    second = http.post(first["save_url"], data, HTTP_X_AUTOSAVE="1").json()
    assert first["id"] == second["id"]
    assert ProgressNote.objects.get().content == "first words, then more"


def test_process_note_is_encrypted_and_read_only_by_its_author(world: World, as_user) -> None:
    note = process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text=SECRET
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM care_processnote WHERE id = %s", [note.pk])
        stored = cursor.fetchone()[0]
    # Sealed with the client's data key, like all clinical text.
    key = DataKey.objects.get(scope="client", owner_id=world.client.pk)
    assert stored.startswith(f"v1:{key.pk}:") and SECRET not in stored
    page = as_user("therapist").get(reverse("care:process_note", args=[note.pk])).content.decode()
    assert SECRET in page
    assert (
        AuditEntry.objects.filter(
            action="view", object_type="care.processnote", actor=world.therapist
        ).count()
        == 1
    )
    assert as_user("colleague").get(reverse("care:process_note", args=[note.pk])).status_code == 404
    assert as_user("admin").get(reverse("care:process_note", args=[note.pk])).status_code == 403
    assert as_user("client").get(reverse("care:process_note", args=[note.pk])).status_code == 403
    with pytest.raises(actions.CareActionError, match="only by its author"):
        process_actions.read_process_note(trail.Context(user=world.colleague), note)


def test_process_note_never_appears_in_audit_detail_or_client_page(world: World, as_user) -> None:
    process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text=SECRET
    )
    assert not any(SECRET in str(e.detail) for e in AuditEntry.objects.all())
    assert (
        SECRET
        not in as_user("therapist")
        .get(reverse("care:client", args=[world.client.pk]))
        .content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_plaintext_appears_nowhere_in_the_database() -> None:
    world = build_world()
    process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text=SECRET
    )
    needle = SECRET.encode()
    if connection.vendor == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "copy.sqlite3")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [path])
            with open(path, "rb") as handle:
                assert needle not in handle.read()
    else:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
            for table in tables:
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from introspection)
                for row in cursor.fetchall():
                    assert needle not in repr(row).encode(), table


def test_rotation_keeps_process_notes_readable_under_the_new_key(world: World, settings) -> None:
    note = process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text=SECRET
    )
    old_key = settings.ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key, old_key]
    call_command("keys", "rotate", stdout=io.StringIO(), stderr=io.StringIO())
    settings.ENCRYPTION_KEYS = [new_key]
    envelope.clear_cache()
    note.refresh_from_db()
    assert process_actions.read_process_note(trail.Context(user=world.therapist), note) == SECRET
    settings.ENCRYPTION_KEYS = [old_key]
    envelope.clear_cache()
    with pytest.raises(crypto.EncryptionUnavailable):
        note.refresh_from_db()


def test_erasing_the_clients_key_shreds_their_process_notes(world: World) -> None:
    note = process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text=SECRET
    )
    envelope.destroy_client(world.client.pk)
    note.refresh_from_db()
    assert note.text == envelope.ERASED


def test_without_a_key_process_notes_are_refused_clearly(world: World, as_user, settings) -> None:
    settings.ENCRYPTION_KEYS = []
    response = as_user("therapist").get(
        reverse("care:process_note_new", args=[world.episode.pk]), follow=True
    )
    assert "need an encryption key" in response.content.decode()
    assert not ProcessNote.objects.exists()
