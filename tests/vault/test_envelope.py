"""The vault's envelope encryption: per-owner keys, tokens, destruction and re-wrapping."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.process import actions
from reverie.process.models import JournalEntry
from reverie.testing import World
from reverie.vault import envelope
from reverie.vault.migrating import seal_columns
from reverie.vault.models import DataKey

TEXT = "I kept the letter from my father in the drawer for ten years."


def _entry(world: World, text: str = TEXT) -> JournalEntry:
    return actions.create_journal_entry(
        trail.Context(user=world.client_user),
        fields={"kind": "dream", "entry_date": timezone.localdate(), "title": "", "text": text},
    )


def _stored(entry: JournalEntry, column: str = "text") -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM process_journalentry WHERE id = %s",  # noqa: S608
            [entry.pk],
        )
        return str(cursor.fetchone()[0])


def test_text_is_stored_as_a_token_naming_the_clients_key(world: World) -> None:
    entry = _entry(world)
    stored = _stored(entry)
    key = DataKey.objects.get(scope="client", owner_id=world.client.pk)
    assert stored.startswith(f"v1:{key.pk}:")
    assert TEXT not in stored
    assert JournalEntry.objects.get(pk=entry.pk).text == TEXT
    # A blank field stays blank (that it is empty is not a secret), not a token.
    assert _stored(entry, "title") == ""
    # The data key itself is stored only wrapped by the practice key.
    raw = envelope.practice_cipher().decrypt(key.wrapped.encode())
    assert raw not in key.wrapped.encode()


def test_each_client_has_their_own_key(world: World) -> None:
    first = envelope.seal("client", world.client.pk, TEXT)
    second = envelope.seal("client", world.other_client.pk, TEXT)
    assert envelope.key_id_of(first) != envelope.key_id_of(second)
    assert envelope.unseal(first) == envelope.unseal(second) == TEXT
    # Sealing again reuses the client's key (and a fresh IV gives a different token).
    again = envelope.seal("client", world.client.pk, TEXT)
    assert envelope.key_id_of(again) == envelope.key_id_of(first) and again != first
    assert DataKey.objects.count() == 2


def test_destroying_a_key_erases_only_that_clients_text(world: World) -> None:
    entry = _entry(world)
    other = envelope.seal("client", world.other_client.pk, TEXT)
    assert envelope.destroy_client(world.client.pk) == 1
    assert JournalEntry.objects.get(pk=entry.pk).text == envelope.ERASED
    assert envelope.unseal(other) == TEXT
    tombstone = DataKey.objects.get(scope="client", owner_id=world.client.pk)
    assert tombstone.wrapped == "" and tombstone.destroyed_at is not None
    # No new text can be written for an erased client (it would only be readable again).
    with pytest.raises(envelope.VaultError, match="erased"):
        _entry(world, "a new entry")


def test_damaged_or_unknown_tokens_read_as_a_placeholder(world: World) -> None:
    token = envelope.seal("client", world.client.pk, TEXT)
    assert envelope.unseal(token[:-8] + "AAAAAAAA") == envelope.UNREADABLE
    assert envelope.unseal("v1:999999:gAAAA") == envelope.UNREADABLE
    assert envelope.unseal("v1:x:y") == envelope.UNREADABLE


def test_plaintext_never_reaches_the_column_by_update_or_lookup(world: World) -> None:
    entry = _entry(world)
    with pytest.raises(envelope.VaultError, match="is encrypted"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(text="plain")
    with pytest.raises(envelope.VaultError, match="is encrypted"), transaction.atomic():
        list(JournalEntry.objects.filter(text=TEXT))
    # Blank is stored as blank, so "is it blank" still works as a filter.
    assert JournalEntry.objects.filter(title="").count() == 1
    assert _stored(entry) != "plain"


def test_rewrap_moves_keys_to_the_newest_practice_key(world: World, settings) -> None:
    entry = _entry(world)
    old = settings.ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new, old]
    assert envelope.rewrap_all() == 1
    settings.ENCRYPTION_KEYS = [new]
    envelope.clear_cache()
    assert JournalEntry.objects.get(pk=entry.pk).text == TEXT
    # With only the retired practice key, the data key cannot be unwrapped: a clear error.
    settings.ENCRYPTION_KEYS = [old]
    envelope.clear_cache()
    with pytest.raises(envelope.VaultUnavailable, match="no longer"):
        JournalEntry.objects.get(pk=entry.pk)


def test_without_a_practice_key_nothing_is_written(world: World, settings) -> None:
    settings.ENCRYPTION_KEYS = []
    with pytest.raises(envelope.VaultUnavailable, match="REVERIE_ENCRYPTION_KEYS"):
        _entry(world)
    assert not JournalEntry.objects.exists()


def test_data_migration_seals_old_plaintext_and_can_undo_it(world: World) -> None:
    entry = _entry(world)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE process_journalentry SET text = %s, title = %s WHERE id = %s",
            ["written before the vault", "", entry.pk],
        )
    assert JournalEntry.objects.get(pk=entry.pk).text == "written before the vault"
    # The model states just after and just before the migration that encrypted the journal.
    loader = MigrationExecutor(connection).loader
    after = loader.project_state(("process", "0002_encrypt_journal_and_ccrt")).apps
    before = loader.project_state(("process", "0001_journal_reflections_ccrt_and_themes")).apps
    forward, backward = seal_columns("process", "JournalEntry", ["title", "text"])
    forward(after, None)
    assert envelope.is_token(_stored(entry))
    assert JournalEntry.objects.get(pk=entry.pk).text == "written before the vault"
    forward(after, None)  # idempotent: tokens are left alone
    assert JournalEntry.objects.get(pk=entry.pk).text == "written before the vault"
    backward(before, None)
    assert _stored(entry) == "written before the vault"


def test_without_a_practice_key_the_journal_page_says_so_and_saves_nothing(
    world: World, as_user, settings
) -> None:
    http = as_user("client")
    settings.ENCRYPTION_KEYS = []
    response = http.post(
        reverse("process:journal_new"),
        {
            "kind": "dream",
            "entry_date": timezone.localdate().isoformat(),
            "title": "",
            "text": TEXT,
            "tags": "",
        },
    )
    assert response.status_code == 503
    assert "REVERIE_ENCRYPTION_KEYS" in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_keys_rotate_rewraps_data_keys(world: World, settings) -> None:
    entry = _entry(world)
    old = settings.ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("keys", "rotate", stdout=out, stderr=io.StringIO())
    assert "re-wrapped 1 data key under the newest practice key" in out.getvalue()
    settings.ENCRYPTION_KEYS = [new]
    envelope.clear_cache()
    assert JournalEntry.objects.get(pk=entry.pk).text == TEXT


def test_a_bulk_writer_looks_each_owners_key_up_once_and_no_longer_after(
    world: World, django_assert_num_queries
) -> None:
    envelope.seal("client", world.client.pk, TEXT)  # the client's key exists
    with envelope.one_lookup_per_owner(), django_assert_num_queries(1):
        sealed = [envelope.seal("client", world.client.pk, f"{TEXT} {n}") for n in range(5)]
    assert [envelope.unseal(s) for s in sealed] == [f"{TEXT} {n}" for n in range(5)]
    # Outside the block every seal asks again, so an erased client's key is never reused.
    assert envelope.destroy_client(world.client.pk) == 1
    with pytest.raises(envelope.VaultError, match="erased"):
        envelope.seal("client", world.client.pk, "after the erasure")
