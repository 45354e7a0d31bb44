"""The new-message email: a link and nothing else. It names neither the sender nor the
practice's client and carries no words of the message, because email is not a safe
channel and a shared inbox or a lock screen may show it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from reverie.accounts.models import Role
from reverie.outbox.queue import enqueue

if TYPE_CHECKING:
    from reverie.accounts.models import User
    from reverie.care.models import Client
    from reverie.messaging.models import Message


def new_message(recipient: User, client: Client, message: Message) -> None:
    """Tell ``recipient`` a message waits for them in Reverie."""
    if recipient.role == Role.CLIENT:
        path = reverse("messaging:mine")
    else:
        path = reverse("messaging:thread", args=[client.pk])
    enqueue(
        "message_new",
        recipient.email,
        {"link": settings.BASE_URL + path},
        practice_id=client.practice_id,
        dedupe_key=f"message_new:{message.thread_id}:{message.pk}:{recipient.pk}",
    )
