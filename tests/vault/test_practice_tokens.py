"""``reverie keys rotate`` moves what the practice keys seal directly (uploaded documents,
their files, queued mail) onto the newest practice key, resumably, so the old key can be
retired; audited like the rest of the rotation."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.outbox import sealing
from reverie.outbox.models import Message
from reverie.paperwork import actions as paperwork_actions
from reverie.paperwork import storage
from reverie.paperwork.models import Document
from reverie.testing import World
from reverie.vault import envelope, practice_tokens

PNG = b"\x89PNG\r\n\x1a\n" + b"\1" * 64


def _rotate() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("keys", "rotate", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_an_interrupted_rotation_resumes_and_the_old_key_can_go(
    world: World, settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DATA_DIR = str(tmp_path)
    old = settings.ENCRYPTION_KEYS[0]
    ctx = trail.Context(user=world.therapist)
    documents = [
        paperwork_actions.upload_document(
            ctx, world.client, kind="other", name=f"letter-{n}.png", data=PNG
        )
        for n in range(3)
    ]
    body, encrypted = sealing.seal(b"Subject: your link\n\nhttps://example.test/one-time")
    mail = Message.objects.create(template="x", recipient="c@example.test", body=body)
    assert encrypted

    new = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new, old]
    envelope.key_ring.cache_clear()

    # Killed after two values: the third rotation raises as a SIGINT would.
    real = practice_tokens._rotate
    calls = {"n": 0}

    def dies_midway(token: bytes) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(token)

    monkeypatch.setattr(practice_tokens, "_rotate", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        _rotate()
    monkeypatch.setattr(practice_tokens, "_rotate", real)
    newest = Fernet(new.encode())
    names = [bytes(d.name_ciphertext) for d in Document.objects.order_by("pk")]
    assert [practice_tokens._done(newest, n) for n in names] == [True, True, False]

    output = _rotate()
    # The second run moves only what the first left: one name, the mail body, three files.
    assert "re-encrypted 5 practice-key values under the newest key" in output
    entry = AuditEntry.objects.filter(object_type="vault.datakey").order_by("seq")
    counts = [e.detail["practice_key_values"] for e in entry if "practice_key_values" in e.detail]
    assert counts == [
        {
            "paperwork.FormRequest": 0,
            "paperwork.Document": 1,
            "outbox.Message": 1,
            "document files": 3,
        }
    ]
    assert all(e.actor_label == "system:keys" for e in entry)
    # Nothing left to move: a third run moves nothing.
    assert "re-encrypted 0 practice-key values" in _rotate()

    # The old key retired: everything still opens with the new key alone.
    settings.ENCRYPTION_KEYS = [new]
    envelope.key_ring.cache_clear()
    for n, document in enumerate(Document.objects.order_by("pk")):
        assert paperwork_actions.document_name(document) == f"letter-{n}.png"
        assert newest.decrypt(storage.read(document.stored_name)) == PNG
    mail.refresh_from_db()
    assert sealing.unseal(bytes(mail.body), True).endswith(b"one-time")
    assert {d.pk for d in documents} == set(Document.objects.values_list("pk", flat=True))
