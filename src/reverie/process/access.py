"""Object lookups for process views: each answers 404 for anything outside the person's
relationship, so a stranger learns nothing, not even that an object exists.

The rules, on top of ``care.access``:

* Relationship episodes, reflections and the CCRT belong to the client's clinical
  record: every therapist who may see the client may read them. Only the treating
  therapist reflects on a session, and only the therapist who recorded an episode
  changes it.
* A journal entry is its client's. Clinicians see it only while it is shared.
* Recurring themes and theme runs belong to the therapist who ran the search.
* A process note is its author's alone: not a colleague's, not an admin's, not the
  client's. It is written on an episode (and optionally a session) of a client the author
  may see clinically.
* A practice admin sees none of it; category sets are the admin's, per practice.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from reverie.accounts.models import User
from reverie.care.access import clinical_clients
from reverie.care.models import Appointment, Client, Episode, ProcessNote
from reverie.process.models import (
    CategorySet,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    ThemeRun,
)
from reverie.vault.fields import unread


def client_for(user: User, pk: int) -> Client:
    return get_object_or_404(clinical_clients(user).select_related("practice"), pk=pk)


def session_to_reflect(user: User, pk: int) -> Appointment:
    """A session of one of the therapist's own episodes."""
    return get_object_or_404(
        Appointment.objects.select_related("episode__client").defer(*unread(Episode, "episode")),
        pk=pk,
        episode__therapist=user,
        episode__client__in=clinical_clients(user),
    )


def episode_for(user: User, pk: int) -> Episode:
    return get_object_or_404(
        Episode.objects.select_related("client", "therapist").defer(*unread(Episode)),
        pk=pk,
        client__in=clinical_clients(user),
    )


def relationship_episode_for(user: User, pk: int) -> RelationshipEpisode:
    return get_object_or_404(
        RelationshipEpisode.objects.select_related("client", "author"),
        pk=pk,
        client__in=clinical_clients(user),
    )


def shared_entry_for(user: User, pk: int) -> JournalEntry:
    """A journal entry a therapist may read: shared, and of a client in their care."""
    return get_object_or_404(
        JournalEntry.objects.select_related("client", "appointment"),
        pk=pk,
        shared_at__isnull=False,
        client__in=clinical_clients(user),
    )


def own_entry(user: User, pk: int) -> JournalEntry:
    """A client's own journal entry."""
    return get_object_or_404(
        JournalEntry.objects.select_related("client"), pk=pk, client__user=user
    )


def theme_for(user: User, pk: int) -> RecurringTheme:
    return get_object_or_404(
        RecurringTheme.objects.select_related("client", "last_run"),
        pk=pk,
        owner=user,
        client__in=clinical_clients(user),
    )


def run_for(user: User, pk: int) -> ThemeRun:
    return get_object_or_404(
        ThemeRun.objects, pk=pk, requested_by=user, client__in=clinical_clients(user)
    )


def category_set_for(user: User, pk: int) -> CategorySet:
    return get_object_or_404(CategorySet, pk=pk, practice_id=user.practice_id)


def clinical_session(user: User, pk: int) -> Appointment:
    """A session of a client whose clinical record ``user`` may read (the rule care's
    record pages use for a session)."""
    return get_object_or_404(
        Appointment.objects.select_related("episode__client", "series").defer(
            *unread(Episode, "episode")
        ),
        pk=pk,
        episode__client__in=clinical_clients(user),
    )


def process_note_for(user: User, pk: int) -> ProcessNote:
    """A process note, for its author only: authorship is the whole rule."""
    return get_object_or_404(
        ProcessNote.objects.select_related("episode__client").defer(*unread(Episode, "episode")),
        pk=pk,
        author=user,
    )
