"""Object lookups for process views: each answers 404 for anything outside the person's
relationship, so a stranger learns nothing, not even that an object exists.

The rules, on top of ``care.access``:

* Relationship episodes, reflections and the CCRT belong to the client's clinical
  record: every therapist who may see the client may read them. Only the treating
  therapist reflects on a session, and only the therapist who recorded an episode
  changes it.
* A journal entry is its client's. Clinicians see it only while it is shared.
* Recurring themes and theme runs belong to the therapist who ran the search.
* A practice admin sees none of it; category sets are the admin's, per practice.
"""

from __future__ import annotations

from django.http import Http404

from reverie.accounts.models import User
from reverie.care.access import clinical_clients
from reverie.care.models import Appointment, Client, Episode
from reverie.process.models import (
    CategorySet,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    ThemeRun,
)


def client_for(user: User, pk: int) -> Client:
    try:
        return clinical_clients(user).select_related("practice").get(pk=pk)
    except Client.DoesNotExist:
        raise Http404("No such client") from None


def own_client(user: User) -> Client | None:
    """The client record of a signed-in client, if their account is linked to one."""
    return Client.objects.filter(user=user).select_related("practice").first()


def session_to_reflect(user: User, pk: int) -> Appointment:
    """A session of one of the therapist's own episodes."""
    try:
        return Appointment.objects.select_related("episode__client").get(
            pk=pk, episode__therapist=user, episode__client__in=clinical_clients(user)
        )
    except Appointment.DoesNotExist:
        raise Http404("No such session") from None


def episode_for(user: User, pk: int) -> Episode:
    try:
        return Episode.objects.select_related("client", "therapist").get(
            pk=pk, client__in=clinical_clients(user)
        )
    except Episode.DoesNotExist:
        raise Http404("No such episode") from None


def relationship_episode_for(user: User, pk: int) -> RelationshipEpisode:
    try:
        return RelationshipEpisode.objects.select_related("client", "author").get(
            pk=pk, client__in=clinical_clients(user)
        )
    except RelationshipEpisode.DoesNotExist:
        raise Http404("No such episode") from None


def shared_entry_for(user: User, pk: int) -> JournalEntry:
    """A journal entry a therapist may read: shared, and of a client in their care."""
    try:
        return JournalEntry.objects.select_related("client", "appointment").get(
            pk=pk, shared_at__isnull=False, client__in=clinical_clients(user)
        )
    except JournalEntry.DoesNotExist:
        raise Http404("No such entry") from None


def own_entry(user: User, pk: int) -> JournalEntry:
    """A client's own journal entry."""
    try:
        return JournalEntry.objects.select_related("client").get(pk=pk, client__user=user)
    except JournalEntry.DoesNotExist:
        raise Http404("No such entry") from None


def theme_for(user: User, pk: int) -> RecurringTheme:
    try:
        return RecurringTheme.objects.select_related("client", "last_run").get(
            pk=pk, owner=user, client__in=clinical_clients(user)
        )
    except RecurringTheme.DoesNotExist:
        raise Http404("No such theme") from None


def run_for(user: User, pk: int) -> ThemeRun:
    try:
        return ThemeRun.objects.get(pk=pk, requested_by=user, client__in=clinical_clients(user))
    except ThemeRun.DoesNotExist:
        raise Http404("No such run") from None


def category_set_for(user: User, pk: int) -> CategorySet:
    try:
        return CategorySet.objects.get(pk=pk, practice_id=user.practice_id)
    except CategorySet.DoesNotExist:
        raise Http404("No such category set") from None
