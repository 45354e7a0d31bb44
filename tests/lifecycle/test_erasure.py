"""Erasure by key destruction with two admins: who may ask, who may confirm, what is left.

The record is the full one of ``lifecycle_data`` (a row in every model an export carries,
written through the actions), plus an uploaded document and queued mail."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from lifecycle_data import (
    ADDENDUM_TEXT,
    BREAK_REASON_TEXT,
    CANCEL_REASON_TEXT,
    GROUP_LABEL,
    NOTE_TEXT,
    PRIVATE_ENTRY_TEXT,
    SUPPORT_NOTE_TEXT,
    THEME_EVIDENCE_TEXT,
    THEME_LABEL,
    THEME_TERMS,
    FullRecord,
)
from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import (
    Appointment,
    Break,
    Client,
    Episode,
    NoteAddendum,
    ProcessNote,
    ProgressNote,
)
from reverie.directory.models import ConsultationRequest
from reverie.lifecycle import actions, erasure
from reverie.lifecycle.actions import LifecycleActionError
from reverie.lifecycle.models import ErasureRequest, ErasureStatus
from reverie.measures.models import Administration
from reverie.outbox.models import Message
from reverie.outcomes.models import SupportReview
from reverie.paperwork import actions as paperwork_actions
from reverie.paperwork import storage
from reverie.paperwork.models import Document
from reverie.process.models import (
    FormulationGroup,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    ThemeEvidence,
)
from reverie.testing import World, make_user
from reverie.vault import envelope

REASON = "The client asked in writing on 1 December for their record to be erased."
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def second_admin(world: World):
    return make_user(world.practice, Role.ADMIN, "second@harbour.test", "Sam Second")


def _name(client: Client) -> str:
    return f"{client.given_name} {client.family_name}"


def _request(world: World) -> ErasureRequest:
    return actions.request_erasure(
        trail.Context(user=world.admin), world.client, reason=REASON, typed_name=_name(world.client)
    )


def test_a_request_needs_an_admin_a_reason_and_the_typed_name(world: World) -> None:
    ctx = trail.Context(user=world.admin)
    name = _name(world.client)
    for who in (world.therapist, world.client_user):
        with pytest.raises(LifecycleActionError, match="only a practice admin"):
            actions.request_erasure(
                trail.Context(user=who), world.client, reason=REASON, typed_name=name
            )
    with pytest.raises(LifecycleActionError, match="no such client"):
        actions.request_erasure(
            trail.Context(user=world.stranger_admin), world.client, reason=REASON, typed_name=name
        )
    with pytest.raises(LifecycleActionError, match="at least 20 characters"):
        actions.request_erasure(ctx, world.client, reason="  asked  ", typed_name=name)
    with pytest.raises(LifecycleActionError, match="full name exactly"):
        actions.request_erasure(ctx, world.client, reason=REASON, typed_name="Someone Else")
    assert not ErasureRequest.objects.exists()

    row = actions.request_erasure(ctx, world.client, reason=REASON, typed_name=name.upper())
    assert row.status == ErasureStatus.PENDING and row.reason == REASON
    assert row.expires_at - row.created_at == datetime.timedelta(days=7)
    with pytest.raises(LifecycleActionError, match="already waiting"):
        actions.request_erasure(ctx, world.client, reason=REASON, typed_name=name)
    # The reason is sealed with the practice's key: it may name the client.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM lifecycle_erasurerequest WHERE id = %s", [row.pk])
        (stored,) = cursor.fetchone()
    assert envelope.is_token(stored) and REASON not in stored


def test_the_requester_cannot_confirm_their_own_request(world: World, second_admin) -> None:
    row = _request(world)
    with pytest.raises(LifecycleActionError, match="second admin must confirm"):
        actions.confirm_erasure(
            trail.Context(user=world.admin), row.pk, typed_name=_name(world.client)
        )
    with pytest.raises(LifecycleActionError, match="only a practice admin"):
        actions.confirm_erasure(
            trail.Context(user=world.therapist), row.pk, typed_name=_name(world.client)
        )
    with pytest.raises(LifecycleActionError, match="no such erasure request"):
        actions.confirm_erasure(
            trail.Context(user=world.stranger_admin), row.pk, typed_name=_name(world.client)
        )
    with pytest.raises(LifecycleActionError, match="full name exactly"):
        actions.confirm_erasure(trail.Context(user=second_admin), row.pk, typed_name="x")
    row.refresh_from_db()
    assert row.status == ErasureStatus.PENDING
    assert not erasure.is_erased(Client.objects.get(pk=world.client.pk))


def test_withdrawn_and_expired_requests_cannot_be_confirmed(world: World, second_admin) -> None:
    row = _request(world)
    actions.withdraw_erasure(trail.Context(user=world.admin), row.pk)
    row.refresh_from_db()
    assert (row.status, row.decided_by_id) == (ErasureStatus.WITHDRAWN, world.admin.pk)
    with pytest.raises(LifecycleActionError, match="no longer waiting"):
        actions.confirm_erasure(
            trail.Context(user=second_admin), row.pk, typed_name=_name(world.client)
        )

    again = _request(world)
    later = timezone.now() + datetime.timedelta(days=7, seconds=1)
    assert actions.expire_erasure_requests(later) == 1
    again.refresh_from_db()
    assert again.status == ErasureStatus.EXPIRED
    with pytest.raises(LifecycleActionError, match="no longer waiting"):
        actions.confirm_erasure(
            trail.Context(user=second_admin), again.pk, typed_name=_name(world.client)
        )
    kinds = list(
        AuditEntry.objects.filter(object_type="lifecycle.erasurerequest")
        .order_by("seq")
        .values_list("detail", flat=True)
    )
    assert kinds == [
        {"erasure": "requested"},
        {"erasure": "withdrawn"},
        {"erasure": "requested"},
        {"erasure": "expired"},
    ]


def test_the_worker_expires_lapsed_requests_as_the_system(world: World, second_admin) -> None:
    from reverie.core import worker

    lapsed = _request(world)
    other = world.other_client
    waiting = actions.request_erasure(
        trail.Context(user=world.admin), other, reason=REASON, typed_name=_name(other)
    )
    ErasureRequest.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    worker.REGISTRY["lifecycle.expire_erasure_requests"].func()
    lapsed.refresh_from_db()
    waiting.refresh_from_db()
    assert lapsed.status == ErasureStatus.EXPIRED and lapsed.decided_at is not None
    assert waiting.status == ErasureStatus.PENDING  # still inside its 7 days
    entry = AuditEntry.objects.filter(object_type="lifecycle.erasurerequest").latest("seq")
    assert (entry.object_id, entry.detail) == (str(lapsed.pk), {"erasure": "expired"})
    assert (entry.actor_id, entry.actor_label) == (
        None,
        "system:worker.lifecycle.expire_erasure_requests",
    )
    with pytest.raises(LifecycleActionError, match="no longer waiting"):
        actions.confirm_erasure(
            trail.Context(user=second_admin), lapsed.pk, typed_name=_name(world.client)
        )
    # A second pass has nothing left to do and writes nothing.
    seq = entry.seq
    worker.REGISTRY["lifecycle.expire_erasure_requests"].func()
    assert not AuditEntry.objects.filter(seq__gt=seq).exists()


def test_confirming_erases_the_client_and_keeps_statistics(
    world: World,
    full_record: FullRecord,
    second_admin,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
) -> None:
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    client = world.client
    identifying = [client.given_name, client.family_name, client.email, client.user.email]
    document = paperwork_actions.upload_document(
        trail.Context(user=world.therapist), client, kind="other", name="letter.png", data=PNG
    )
    stored_file = storage.root() / document.stored_name
    assert stored_file.is_file()
    Message.objects.create(template="x", recipient=client.user.email, status="pending")
    Message.objects.create(template="x", recipient="someone@else.test", status="pending")
    episodes = Episode.objects.filter(client=client).count()
    scores = Administration.objects.filter(request__client=client).count()

    call_command("audit", "checkpoint", stdout=io.StringIO())
    row = _request(world)
    with django_capture_on_commit_callbacks(execute=True):
        actions.confirm_erasure(trail.Context(user=second_admin), row.pk, typed_name=_name(client))

    row.refresh_from_db()
    assert (row.status, row.decided_by_id) == (ErasureStatus.ERASED, second_admin.pk)
    # The client's key and that of the consultation request they came through.
    assert row.keys_destroyed == 2
    client = Client.objects.get(pk=client.pk)
    assert erasure.is_erased(client)
    assert (client.given_name, client.family_name) == ("Erased", f"client {client.pk}")
    assert (client.email, client.phone, client.date_of_birth) == ("", "", None)
    user = client.user
    assert not user.is_active and not user.has_usable_password()
    assert user.email == f"erased-{user.pk}@erased.invalid"

    # Every text sealed with the client's key reads as erased, whichever app holds it.
    note = ProgressNote.objects.get(pk=full_record.progress_note.pk)
    assert note.content == envelope.ERASED != NOTE_TEXT
    assert NoteAddendum.objects.get(note=note).text == envelope.ERASED != ADDENDUM_TEXT
    assert {e.text for e in JournalEntry.objects.filter(client=client)} == {envelope.ERASED}
    assert PRIVATE_ENTRY_TEXT not in str(list(JournalEntry.objects.values_list("text")))
    assert RelationshipEpisode.objects.get(client=client).narrative == envelope.ERASED
    group = FormulationGroup.objects.get(client=client)
    assert group.label == envelope.ERASED != GROUP_LABEL
    # Break and cancellation reasons (scheduling text a therapist may fill with detail).
    assert {b.reason for b in Break.objects.filter(episode__client=client)} == {envelope.ERASED}
    reasons = {a.cancel_reason for a in Appointment.objects.filter(episode__client=client)}
    assert envelope.ERASED in reasons and CANCEL_REASON_TEXT not in reasons
    assert BREAK_REASON_TEXT not in reasons
    # Theme discovery's copies of the client's words: label, terms, evidence sentences.
    # (The full record holds three themes since accepted, suggested and private ones are
    # told apart in the export; every label reads as erased.)
    assert {t.label for t in RecurringTheme.objects.filter(client=client)} == {envelope.ERASED}
    theme = RecurringTheme.objects.get(client=client, stable_key="full-record-theme")
    assert (theme.label, theme.terms) == (envelope.ERASED, []) != (THEME_LABEL, THEME_TERMS)
    evidence = ThemeEvidence.objects.get(theme=theme)
    assert evidence.sentence == envelope.ERASED != THEME_EVIDENCE_TEXT
    # The note of the clinical-support checklist after a not-on-track alert; the areas
    # (keys from a fixed list) stay, like the scores.
    review = SupportReview.objects.get(alert__client=client)
    assert review.note == envelope.ERASED != SUPPORT_NOTE_TEXT
    assert review.reviewed == ["support", "events"]
    consultation = ConsultationRequest.objects.get(client=client)
    assert (consultation.message, consultation.email) == (envelope.ERASED, "")
    # What only the practice key opens is gone: process notes, the document and its file.
    assert not ProcessNote.objects.filter(episode__client=client).exists()
    assert not Document.objects.filter(client=client).exists()
    assert not stored_file.exists()
    assert list(Message.objects.values_list("recipient", flat=True)) == ["someone@else.test"]
    # Statistics keep their rows.
    assert Episode.objects.filter(client=client).count() == episodes
    assert Administration.objects.filter(request__client=client).count() == scores
    # No new text can be sealed for the erased client.
    with pytest.raises(envelope.VaultError, match="was erased"):
        envelope.seal("client", client.pk, "more")

    # The ledger outside the database names the client and its destroyed key.
    (line,) = erasure.ledger()
    assert line["client"] == client.pk and len(line["keys"]) == 2
    # The audit trail references ids only and still verifies.
    entries = AuditEntry.objects.filter(client_id=client.pk)
    dump = json.dumps(list(entries.values("actor_label", "detail", "object_id")))
    for text in [*identifying, REASON, NOTE_TEXT]:
        assert text not in dump
    # ``reverie audit verify``, with a checkpoint taken before the erasure and one after.
    out = io.StringIO()
    call_command("audit", "checkpoint", stdout=out)
    call_command("audit", "verify", stdout=out)
    assert "OK:" in out.getvalue()


def test_an_erased_client_cannot_be_asked_for_again(world: World, second_admin, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path)
    row = _request(world)
    name = _name(world.client)
    actions.confirm_erasure(trail.Context(user=second_admin), row.pk, typed_name=name)
    client = Client.objects.get(pk=world.client.pk)
    with pytest.raises(LifecycleActionError, match="already erased"):
        actions.request_erasure(
            trail.Context(user=world.admin), client, reason=REASON, typed_name=_name(client)
        )
