"""The client's journal: writing, sharing, deleting; the therapist links an entry to a session."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Client
from reverie.process.actions.common import (
    ProcessActionError,
    _client_of,
    _has_access,
    _text,
    _user,
)
from reverie.process.models import (
    JournalEntry,
    JournalKind,
    Mood,
    ThemeEvidence,
)

JOURNAL_FIELDS = ("kind", "title", "text", "mood", "tags", "entry_date")
MAX_TAGS = 10
MAX_TAG_LENGTH = 30
_TAG = re.compile(r"^[\w][\w \-']*$")


def clean_tags(tags: object) -> list[str]:
    """Lower-cased, de-duplicated tags; refuses anything a person could not have typed
    as a short label."""
    if tags is None:
        return []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ProcessActionError("tags must be a list of words")
    out: list[str] = []
    for raw in tags:
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ProcessActionError(f"a tag is longer than {MAX_TAG_LENGTH} characters")
        if not _TAG.match(tag):
            raise ProcessActionError("tags may use letters, numbers, spaces, hyphens")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ProcessActionError(f"use at most {MAX_TAGS} tags")
    return out


def _clean_journal_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(JOURNAL_FIELDS)
    if unknown:
        raise ProcessActionError(f"unknown fields: {', '.join(sorted(unknown))}")
    data = {name: fields.get(name) for name in JOURNAL_FIELDS}
    if data["kind"] not in JournalKind.values:
        raise ProcessActionError("choose what kind of entry this is")
    data["title"] = _text(data["title"], "the title", limit=120)
    data["text"] = _text(data["text"], "the entry", required=True, limit=50_000)
    if data["mood"] in ("", None):
        data["mood"] = None
    elif data["mood"] not in Mood.values:
        raise ProcessActionError("choose a mood from the list, or none")
    data["tags"] = clean_tags(data["tags"])
    day = data["entry_date"]
    if not isinstance(day, datetime.date):
        raise ProcessActionError("give the date of the entry")
    if day > timezone.localdate():
        raise ProcessActionError("the date is in the future")
    return data


def create_journal_entry(
    ctx: trail.Context, *, fields: Mapping[str, Any], share: bool = False
) -> JournalEntry:
    """A client writes in their journal; it stays private unless ``share`` is true."""
    _, client = _client_of(ctx, "writing in the journal")
    data = _clean_journal_fields(fields)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            client=client, shared_at=timezone.now() if share else None, **data
        )
        trail.record(
            ctx, Action.CREATE, entry, client_id=client.pk, detail={"shared": entry.is_shared}
        )
    return entry


def _own_entry(ctx: trail.Context, entry: JournalEntry, doing: str) -> Client:
    _, client = _client_of(ctx, doing)
    if entry.client_id != client.pk:
        raise ProcessActionError("that entry is not yours")
    return client


def update_journal_entry(
    ctx: trail.Context, entry: JournalEntry, fields: Mapping[str, Any]
) -> list[str]:
    client = _own_entry(ctx, entry, "changing a journal entry")
    data = _clean_journal_fields(fields)
    changed = [name for name in JOURNAL_FIELDS if getattr(entry, name) != data[name]]
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(entry, name, data[name])
        entry.updated_at = timezone.now()
        entry.save(update_fields=[*changed, "updated_at"])
        trail.record(ctx, Action.UPDATE, entry, client_id=client.pk, detail={"fields": changed})
    return changed


def set_journal_sharing(ctx: trail.Context, entry: JournalEntry, shared: bool) -> bool:
    """Share an entry with the clinicians treating the client, or take it back.

    Taking it back also blanks every theme sentence quoted from it, so the therapist's
    theme pages stop showing it at once (the next theme run leaves it out entirely).
    Returns whether anything changed.
    """
    client = _own_entry(ctx, entry, "sharing a journal entry")
    if entry.is_shared == shared:
        return False
    with transaction.atomic():
        entry.shared_at = timezone.now() if shared else None
        entry.save(update_fields=["shared_at"])
        withdrawn = 0
        if not shared:
            withdrawn = ThemeEvidence.objects.filter(journal_entry=entry).update(
                sentence="", withdrawn=True
            )
        trail.record(
            ctx,
            Action.UPDATE,
            entry,
            client_id=client.pk,
            detail={"shared": shared, "evidence_withdrawn": withdrawn},
        )
    return True


def delete_journal_entry(ctx: trail.Context, entry: JournalEntry) -> None:
    """The client removes an entry for good, with any theme sentences quoted from it.
    A relationship episode the therapist made from it keeps the therapist's own record."""
    client = _own_entry(ctx, entry, "deleting a journal entry")
    with transaction.atomic():
        pk = entry.pk
        trail.record(
            ctx,
            Action.DELETE,
            object_type="process.journalentry",
            object_id=pk,
            client_id=client.pk,
            detail={"was_shared": entry.is_shared},
        )
        entry.delete()


def link_journal_entry(
    ctx: trail.Context, entry: JournalEntry, appointment: Appointment | None
) -> None:
    """The therapist links a shared entry to the session where it was discussed."""
    user = _user(ctx, Role.THERAPIST, "linking an entry")
    if not entry.is_shared or not _has_access(user, entry.client):
        raise ProcessActionError("that entry is not shared with you")
    if appointment is not None and appointment.episode.client_id != entry.client_id:
        raise ProcessActionError("that session is not this client's")
    if entry.appointment_id == (appointment.pk if appointment else None):
        return
    with transaction.atomic():
        entry.appointment = appointment
        entry.save(update_fields=["appointment"])
        trail.record(
            ctx,
            Action.UPDATE,
            entry,
            client_id=entry.client_id,
            detail={"appointment": appointment.pk if appointment else None},
        )


# ---------------------------------------------------------------------------- themes
