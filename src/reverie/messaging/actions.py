"""Every change to messaging, each writing its audit entry in the same transaction.

Views call these and never save messaging models themselves. A refused change raises
:class:`MessagingError` with a sentence that is safe to show, and changes nothing.
Audit entries carry identifiers only (message and thread ids), never the text.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client
from reverie.messaging import emails, queries
from reverie.messaging.models import MAX_LENGTH, Message, PracticeMessaging, Thread


class MessagingError(ValueError):
    """The change cannot be made; the message says why and is safe to show."""


def _actor(ctx: trail.Context) -> User:
    if ctx.user is None:
        raise MessagingError("Only a signed-in person can send or change messages")
    return ctx.user


def _require_party(user: User, client: Client) -> None:
    """The client themselves, or a therapist in the client's care now."""
    if user.role == Role.CLIENT and client.user_id == user.pk:
        return
    if user.role == Role.THERAPIST and user in queries.current_therapists(client):
        return
    raise MessagingError("Only the client and the therapists caring for them now can do this")


def set_practice_messaging(ctx: trail.Context, practice: Practice, *, enabled: bool) -> None:
    """The practice admin turns secure messages on or off for the whole practice."""
    user = _actor(ctx)
    if user.role != Role.ADMIN or user.practice_id != practice.pk:
        raise MessagingError("Only an admin of this practice can change this setting")
    with transaction.atomic():
        row, _ = PracticeMessaging.objects.select_for_update().get_or_create(practice=practice)
        if row.enabled == enabled:
            return
        row.enabled = enabled
        row.updated_at = timezone.now()
        row.updated_by = user
        row.save(update_fields=["enabled", "updated_at", "updated_by"])
        trail.record(ctx, Action.UPDATE, row, detail={"enabled": enabled})


def _thread(client: Client) -> Thread:
    """The client's thread, made on first use, locked for the rest of the transaction so
    two messages sent at once agree on which of them starts an unread batch."""
    Thread.objects.get_or_create(client=client)
    return Thread.objects.select_for_update().get(client=client)


def set_client_messaging(ctx: trail.Context, client: Client, *, enabled: bool) -> Thread:
    """A therapist in the client's care turns messages off (or back on) for this client.
    The messages already sent stay readable; nobody can send new ones while it is off."""
    user = _actor(ctx)
    if user.role != Role.THERAPIST or user not in queries.current_therapists(client):
        raise MessagingError(
            "Only a therapist caring for this client now can turn their messages on or off"
        )
    with transaction.atomic():
        thread = _thread(client)
        if thread.enabled == enabled:
            return thread
        thread.enabled = enabled
        thread.changed_at = timezone.now()
        thread.changed_by = user
        thread.save(update_fields=["enabled", "changed_at", "changed_by"])
        trail.record(ctx, Action.UPDATE, thread, client_id=client.pk, detail={"enabled": enabled})
    return thread


def clean_body(text: str) -> str:
    """The message as it will be stored, or :class:`MessagingError` saying what is wrong."""
    body = (text or "").replace("\r\n", "\n").strip()
    if not body:
        raise MessagingError("Write a message before sending it")
    if len(body) > MAX_LENGTH:
        raise MessagingError(
            f"A message can be at most {MAX_LENGTH:,} characters; this one has {len(body):,}. "
            "Please shorten it, or keep it for your next session"
        )
    return body


def send(ctx: trail.Context, client: Client, text: str) -> Message:
    """Send a message in ``client``'s thread, from the client or a current therapist.

    The other side is emailed, with no content, only when this message starts an unread
    batch: if they have not yet read an earlier message, they were told already.
    """
    user = _actor(ctx)
    _require_party(user, client)
    body = clean_body(text)
    if not queries.practice_enabled(client.practice_id):
        raise MessagingError("This practice does not use secure messages")
    with transaction.atomic():
        thread = _thread(client)
        if not thread.enabled:
            raise MessagingError("Messages are turned off for this client")
        from_client = user.role == Role.CLIENT
        therapists = queries.current_therapists(client)
        if from_client and not therapists:
            raise MessagingError(
                "No therapist is caring for you at the moment, so there is no one to read a "
                "message; please contact the practice"
            )
        waiting = Message.objects.filter(
            thread=thread, from_client=from_client, read_at__isnull=True
        ).exists()
        message = Message.objects.create(
            thread=thread, sender=user, from_client=from_client, body=body
        )
        trail.record(ctx, Action.CREATE, message, client_id=client.pk, detail={"thread": thread.pk})
        if not waiting:
            if from_client:
                for therapist in therapists:
                    emails.new_message(therapist, client, message)
            elif client.user is not None and client.user.is_active:
                emails.new_message(client.user, client, message)
    return message


def read_thread(ctx: trail.Context, client: Client) -> list[Message]:
    """The thread's messages for the client or a current therapist, oldest first; the other
    side's unread messages are marked read (the read receipt), and the read is audited
    with the ids shown."""
    user = _actor(ctx)
    _require_party(user, client)
    with transaction.atomic():
        thread = Thread.objects.filter(client=client).first()
        if thread is None:
            trail.record(
                ctx,
                Action.VIEW,
                object_type="messaging.thread",
                client_id=client.pk,
                detail={"messages": []},
            )
            return []
        from_other_side = user.role != Role.CLIENT
        now = timezone.now()
        unread = list(
            Message.objects.filter(
                thread=thread, from_client=from_other_side, read_at__isnull=True
            ).values_list("pk", flat=True)
        )
        if unread:
            # Conditional: a message another therapist marked a moment ago keeps its time.
            Message.objects.filter(pk__in=unread, read_at__isnull=True).update(
                read_at=now, read_by=user
            )
        messages = list(thread.messages.select_related("sender", "read_by"))
        trail.record(
            ctx,
            Action.VIEW,
            thread,
            client_id=client.pk,
            detail={"messages": [m.pk for m in messages], "marked_read": unread},
        )
    return messages
