"""``reverie keys rotate --reencrypt``: new data keys for all text, resumable after a kill."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.process import actions
from reverie.process.models import JournalEntry
from reverie.testing import World
from reverie.vault import envelope, reencrypt
from reverie.vault.models import DataKey


def _entry(world: World, text: str, *, other: bool = False) -> JournalEntry:
    user = world.other_client_user if other else world.client_user
    return actions.create_journal_entry(
        trail.Context(user=user),
        fields={"kind": "dream", "entry_date": timezone.localdate(), "title": "", "text": text},
    )


def _tokens() -> list[str]:
    return [
        token
        for model, names in reencrypt.encrypted_columns()
        for _, row in reencrypt._raw_rows(model, names)
        for token in row.values()
        if token
    ]


def _rotate() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("keys", "rotate", "--reencrypt", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_an_interrupted_reencryption_resumes_and_leaves_nothing_under_old_keys(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = {_entry(world, f"Dream number {i} about the flooded cellar.").pk: i for i in range(6)}
    erased = _entry(world, "A dream of the other client's.", other=True)
    envelope.destroy_client(world.other_client.pk)
    old_keys = set(DataKey.objects.filter(destroyed_at__isnull=True).values_list("pk", flat=True))
    assert old_keys and all(
        envelope.key_id_of(t) in old_keys | {envelope.key_id_of(_stored(erased))} for t in _tokens()
    )

    # Kill the run after two rows: the third re-seal raises as a SIGINT would.
    real = reencrypt._reseal
    calls = {"n": 0}

    def dies_midway(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reencrypt, "_reseal", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        _rotate()
    monkeypatch.setattr(reencrypt, "_reseal", real)

    # Midway: the old keys are retired, two values moved, four still under old keys.
    assert reencrypt.retired_ids() == old_keys
    assert reencrypt.count_stale() == 4
    # Text written while the run is stopped is sealed with a new key, never a retired one.
    later = _entry(world, "Written between the two runs.")
    assert envelope.key_id_of(_stored(later)) not in old_keys

    output = _rotate()
    assert "resumed an unfinished re-encryption: re-encrypted 4 values" in output
    assert "re-encrypted 4 of 4 values" in output  # the progress counter

    # Nothing is encrypted under a retired key, and the retired keys are gone.
    assert reencrypt.count_stale(old_keys) == 0
    assert not DataKey.objects.filter(pk__in=old_keys).exists()
    live = set(DataKey.objects.filter(destroyed_at__isnull=True).values_list("pk", flat=True))
    destroyed = set(DataKey.objects.filter(destroyed_at__isnull=False).values_list("pk", flat=True))
    assert {envelope.key_id_of(t) for t in _tokens()} <= live | destroyed
    # All text still reads; the erased client's stays erased (its key was not revived).
    envelope.clear_cache()
    for entry in JournalEntry.objects.filter(pk__in=texts):
        assert entry.text == f"Dream number {texts[entry.pk]} about the flooded cellar."
    assert JournalEntry.objects.get(pk=later.pk).text == "Written between the two runs."
    assert JournalEntry.objects.get(pk=erased.pk).text == envelope.ERASED
    runs = [
        e.detail
        for e in AuditEntry.objects.filter(object_type="vault.datakey").order_by("seq")
        if "reencrypted" in e.detail
    ]
    assert runs == [
        {"reencrypted": 4, "retired": 0, "deleted": len(old_keys), "resumed": True}
    ]  # the killed run never got to record itself


def test_a_finished_reencryption_starts_afresh_next_time(world: World) -> None:
    entry = _entry(world, "The staircase went on past the roof.")
    first = envelope.key_id_of(_stored(entry))
    assert "re-encrypted 1 values" in _rotate()
    second = envelope.key_id_of(_stored(entry))
    assert second != first
    output = _rotate()
    assert "resumed" not in output and "re-encrypted 1 values" in output
    assert envelope.key_id_of(_stored(entry)) not in {first, second}
    assert JournalEntry.objects.get(pk=entry.pk).text == "The staircase went on past the roof."


def test_without_a_practice_key_reencrypt_changes_nothing(world: World, settings) -> None:
    entry = _entry(world, "Kept as it was.")
    before = _stored(entry)
    settings.ENCRYPTION_KEYS = []
    with pytest.raises(Exception, match="REVERIE_ENCRYPTION_KEYS"):
        _rotate()
    assert _stored(entry) == before
    assert not DataKey.objects.filter(retired_at__isnull=False).exists()


def _stored(entry: JournalEntry) -> str:
    return next(iter(reencrypt._raw_rows_for(JournalEntry, ["text"], entry.pk)))["text"]
