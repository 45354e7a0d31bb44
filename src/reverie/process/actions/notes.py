"""Process notes: the therapist's private notes, sealed with the client's key and readable
by their author alone; every write and every read is audited.

The model is still ``care.ProcessNote`` (table ``care_processnote``, audit object type
``care.processnote``; docs/architecture.md says why it stays). Refusals raise care's
``CareActionError`` with the messages they always had.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import crypto
from reverie.care.actions.alerts import CareActionError
from reverie.care.models import Appointment, Episode, ProcessNote


def _author(ctx: trail.Context) -> User:
    if ctx.user is None:
        raise CareActionError("notes are written by a signed-in therapist")
    return ctx.user


def save_process_note(
    ctx: trail.Context,
    *,
    episode: Episode,
    text: str,
    note: ProcessNote | None = None,
    appointment: Appointment | None = None,
) -> ProcessNote:
    """Store a process note, sealed with the client's data key. Only its author may change
    it."""
    author = _author(ctx)
    if note is not None and note.author_id != author.pk:
        raise CareActionError("only the author may change a process note")
    crypto.cipher()  # no practice key: a clear error before anything is written
    with transaction.atomic():
        if note is None:
            note = ProcessNote.objects.create(
                author=author, episode=episode, appointment=appointment, text=text
            )
            trail.record(ctx, Action.CREATE, note, client_id=episode.client_id)
        else:
            note.text = text
            note.updated_at = timezone.now()
            note.save(update_fields=["text", "updated_at"])
            trail.record(ctx, Action.UPDATE, note, client_id=episode.client_id)
    return note


def read_process_note(ctx: trail.Context, note: ProcessNote) -> str:
    """The text, for the author only; every read is audited."""
    reader = _author(ctx)
    if note.author_id != reader.pk:
        raise CareActionError("a process note is readable only by its author")
    trail.record(ctx, Action.VIEW, note, client_id=note.episode.client_id)
    text: str = note.text
    return text
