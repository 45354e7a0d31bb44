"""Read-only questions about messaging: is it on, who is in the conversation, what is
unread. The rules of who may message whom live here and in ``care.access``; the
actions and the views both ask here."""

from __future__ import annotations

import datetime

from django.db.models import Count, Max, QuerySet

from reverie.accounts.models import Role, User
from reverie.care.access import current_care_clients
from reverie.care.models import CareGrant, Client, Episode, EpisodeStatus
from reverie.messaging.models import Message, PracticeMessaging, Thread


def practice_enabled(practice_id: int) -> bool:
    """Whether the practice uses secure messages; a practice that never chose is off."""
    return PracticeMessaging.objects.filter(practice_id=practice_id, enabled=True).exists()


def thread_of(client: Client) -> Thread | None:
    return Thread.objects.filter(client=client).first()


def client_enabled(client: Client) -> bool:
    """Messages are on for this client: the practice uses them and no therapist turned
    them off for the client."""
    if not practice_enabled(client.practice_id):
        return False
    thread = thread_of(client)
    return thread is None or thread.enabled


def current_therapists(client: Client) -> list[User]:
    """The therapists in the client's care now, as ``care.access.current_care_clients``
    decides: an episode of theirs that has not ended, or a grant not revoked. A former
    therapist is not among them and can neither read nor write the client's messages."""
    treating = Episode.objects.filter(client=client).exclude(status=EpisodeStatus.ENDED)
    covering = CareGrant.objects.filter(client=client, revoked_at__isnull=True)
    ids = set(treating.values_list("therapist_id", flat=True)) | set(
        covering.values_list("therapist_id", flat=True)
    )
    return list(
        User.objects.filter(
            pk__in=ids, role=Role.THERAPIST, practice_id=client.practice_id, is_active=True
        ).order_by("pk")
    )


def therapist_clients(user: User) -> QuerySet[Client]:
    """Clients whose messages ``user`` may read and answer: current care only."""
    return current_care_clients(user)


def unread_for(user: User) -> int:
    """Messages waiting for ``user``: for a client, their therapists' unread messages; for a
    therapist, the unread messages of the clients in their care now. Admins: none."""
    if user.role == Role.CLIENT:
        return Message.objects.filter(
            thread__client__user=user, from_client=False, read_at__isnull=True
        ).count()
    if user.role == Role.THERAPIST:
        return Message.objects.filter(
            thread__client__in=current_care_clients(user), from_client=True, read_at__isnull=True
        ).count()
    return 0


def unread_from_clients(client_ids: list[int]) -> dict[int, int]:
    """``{client id: unread messages from the client}`` for many clients in one query."""
    rows = (
        Message.objects.filter(
            thread__client_id__in=client_ids, from_client=True, read_at__isnull=True
        )
        .values("thread__client_id")
        .annotate(n=Count("pk"))
    )
    return {row["thread__client_id"]: row["n"] for row in rows}


def last_message_times(client_ids: list[int]) -> dict[int, datetime.datetime]:
    """``{client id: when the newest message was sent}``, in one query."""
    rows = (
        Message.objects.filter(thread__client_id__in=client_ids)
        .values("thread__client_id")
        .annotate(last=Max("sent_at"))
    )
    return {row["thread__client_id"]: row["last"] for row in rows}
