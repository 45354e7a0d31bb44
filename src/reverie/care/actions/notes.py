"""Progress notes (part of the record). Process notes, private to their author, are the
process app's (``process/actions/notes.py``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.actions.alerts import CareActionError
from reverie.care.models import Appointment, Episode, NoteAddendum, ProgressNote

PROGRESS_FIELDS = (
    "session_date",
    "attendance",
    "duration_minutes",
    "place",
    "risk_assessment",
    "interventions",
    "content",
    "plan",
)


def _author(ctx: trail.Context) -> User:
    if ctx.user is None:
        raise CareActionError("notes are written by a signed-in therapist")
    return ctx.user


def save_progress_note(
    ctx: trail.Context,
    *,
    episode: Episode,
    fields: dict[str, Any],
    note: ProgressNote | None = None,
    appointment: Appointment | None = None,
) -> ProgressNote:
    """Create or update a draft. A signed note is locked: changes become addenda."""
    author = _author(ctx)
    if note is not None and note.is_signed:
        raise CareActionError("this note is signed and locked; add an addendum instead")
    if note is not None and note.author_id != author.pk:
        raise CareActionError("only the note's author may edit the draft")
    unknown = set(fields) - set(PROGRESS_FIELDS)
    if unknown:
        raise CareActionError(f"unknown note fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        if note is None:
            note = ProgressNote(episode=episode, appointment=appointment, author=author, **fields)
            note.save()
            trail.record(ctx, Action.CREATE, note, client_id=episode.client_id)
        else:
            changed = [f for f in fields if getattr(note, f) != fields[f]]
            if not changed:
                return note
            for name in changed:
                setattr(note, name, fields[name])
            note.updated_at = timezone.now()
            note.save(update_fields=[*changed, "updated_at"])
            trail.record(
                ctx, Action.UPDATE, note, client_id=episode.client_id, detail={"fields": changed}
            )
    return note


def sign_progress_note(ctx: trail.Context, note: ProgressNote) -> None:
    author = _author(ctx)
    if note.author_id != author.pk:
        raise CareActionError("only the author can sign a note")
    if note.is_signed:
        raise CareActionError("this note is already signed")
    with transaction.atomic():
        # The conditional update makes a double-clicked "sign" harmless.
        if ProgressNote.objects.filter(pk=note.pk, signed_at__isnull=True).update(
            signed_at=timezone.now()
        ):
            trail.record(
                ctx, Action.UPDATE, note, client_id=note.episode.client_id, detail={"signed": True}
            )
    note.refresh_from_db()


def add_addendum(ctx: trail.Context, note: ProgressNote, text: str) -> NoteAddendum:
    author = _author(ctx)
    if not note.is_signed:
        raise CareActionError("a draft can still be edited; addenda are for signed notes")
    if not text.strip():
        raise CareActionError("the addendum is empty")
    with transaction.atomic():
        addendum = NoteAddendum.objects.create(note=note, author=author, text=text.strip())
        trail.record(
            ctx, Action.CREATE, addendum, client_id=note.episode.client_id, detail={"note": note.pk}
        )
    return addendum
