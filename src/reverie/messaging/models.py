"""Secure messages: one thread per client, short messages sealed with the client's key.

The practice turns messaging on (:class:`PracticeMessaging`, off until an admin does);
a therapist in the client's current care can turn it off for one client
(:attr:`Thread.enabled`). Only :attr:`Message.body` holds what someone wrote, and it is an
:class:`~reverie.vault.fields.EncryptedTextField` sealed with the client's data key, so
destroying that key (erasure) leaves every message of the client reading ``[erased]``.
Nothing else here, in the audit trail or in the notification emails holds the text.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from reverie.vault.fields import EncryptedTextField

#: Messages are for short practical notes (a question about a time, a form); anything
#: longer belongs in a session. 2,000 characters is about a page of text.
MAX_LENGTH = 2000


class PracticeMessaging(models.Model):
    """Whether a practice uses secure messages at all. No row means off."""

    practice = models.OneToOneField(
        "accounts.Practice", on_delete=models.CASCADE, related_name="messaging"
    )
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "practice messaging setting"

    def __str__(self) -> str:
        return f"messaging {'on' if self.enabled else 'off'} for practice {self.practice_id}"


class Thread(models.Model):
    """The one conversation between a client and their care team, and its switch."""

    client = models.OneToOneField(
        "care.Client", on_delete=models.PROTECT, related_name="message_thread"
    )
    enabled = models.BooleanField(
        default=True, help_text="A therapist in the client's care may turn messages off."
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "message thread"

    def __str__(self) -> str:
        return f"message thread of client {self.client_id}"


class Message(models.Model):
    """One message. ``from_client`` tells the direction: a client's message is read by
    the care team (``read_at`` is when a therapist first opened it), a therapist's by the
    client."""

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_client = models.BooleanField()
    body = EncryptedTextField(owner="thread.client_id")
    sent_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["sent_at", "pk"]
        indexes: ClassVar = [models.Index(fields=["thread", "from_client", "read_at"])]

    def __str__(self) -> str:
        return f"message {self.pk} in thread {self.thread_id}"
