"""The audit trail: append-only, hash-chained records of who saw or changed what."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from reverie.lib.hashchain import LEGACY


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class Action(models.TextChoices):
    VIEW = "view", "viewed"
    LIST = "list", "listed"
    CREATE = "create", "created"
    UPDATE = "update", "updated"
    DELETE = "delete", "deleted"
    EXPORT = "export", "exported"
    IMPORT = "import", "imported"
    LOGIN = "login", "signed in"
    LOGIN_FAILED = "login_failed", "failed to sign in"
    LOGOUT = "logout", "signed out"
    LOCKED = "locked", "was locked out"
    UNLOCK = "unlock", "unlocked"
    OTP_ENROLL = "otp_enroll", "enrolled two-factor"
    TOKEN_CREATE = "token_create", "created an API token"
    TOKEN_REVOKE = "token_revoke", "revoked an API token"
    INVITE = "invite", "invited"
    PASSWORD_RESET = "password_reset", "reset a password"


class AuditEntry(models.Model):
    """One read or write. Stores identifiers and context, never clinical text."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254, help_text="Email or system process name.")
    # Indexed only by (practice, -seq) below, which serves every lookup by practice alone.
    practice = models.ForeignKey(
        "accounts.Practice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    client_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="The client whose data this concerns."
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # No default: only ``trail`` makes entries, and it always says how it signed them.
    chain_version = models.PositiveSmallIntegerField(
        help_text="1: unkeyed SHA-256 (written before keyed chains); 2: HMAC-SHA256."
    )
    key_id = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="Fingerprint of the audit key that signed the entry; empty when unkeyed.",
    )

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes: ClassVar = [
            models.Index(fields=["practice", "-seq"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")

    def chain_fields(self) -> dict[str, Any]:
        """The fields the digest covers, in a form that survives a database round trip.

        Legacy entries cover exactly the fields they always did, so their stored digests
        still verify; keyed entries also cover their chain version and key, so neither can
        be changed to pass an entry off as another kind.
        """
        fields = {
            "seq": self.seq,
            "at": self.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "practice": self.practice_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "client_id": self.client_id,
            "ip": self.ip,
            "detail": self.detail,
        }
        if self.chain_version != LEGACY:
            fields["chain"] = self.chain_version
            fields["key_id"] = self.key_id
        return fields


class TrailCheck(models.Model):
    """When the trail was last verified or checkpointed, and how that went.

    Only for showing the practice admin the state of the trail. It is not evidence:
    whoever can write the database can write here too. The evidence is the checkpoint
    file outside the database and a fresh ``reverie audit verify``.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", "verification"
        CHECKPOINT = "checkpoint", "checkpoint"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    head_seq = models.BigIntegerField(default=0)
    checked = models.BigIntegerField(default=0, help_text="Entries whose digest was recomputed.")
    problems = models.PositiveIntegerField(default=0)
    first_problem = models.CharField(max_length=500, blank=True)
    by = models.CharField(max_length=100, help_text="The command or job that ran it.")

    class Meta:
        indexes: ClassVar = [models.Index(fields=["kind", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'FAILED'}"
