"""Practices, people, their roles and their credentials."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone

from reverie.lib import dates


class Practice(models.Model):
    """A group practice. Nothing ever crosses from one practice to another."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    is_demo = models.BooleanField(
        default=False,
        help_text="Synthetic demo data. Pages say so, and two-factor login is optional.",
    )
    crisis_info = models.TextField(
        default=(
            "If you are in danger or thinking about ending your life, call or text 988 "
            "(Suicide & Crisis Lifeline, US) or call 911 now."
        ),
        help_text="Shown to clients on the crisis card.",
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    date_locale = models.CharField(
        "date format",
        max_length=16,
        choices=dates.LOCALE_CHOICES,
        default=dates.DEFAULT_LOCALE,
        help_text="How every page and email writes dates and times (reverie.lib.dates).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The practice's time zone; UTC if the stored name is unknown to this system, so a
        bad setting shows times in UTC rather than breaking pages and jobs."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class Role(models.TextChoices):
    ADMIN = "admin", "Practice admin"
    THERAPIST = "therapist", "Therapist"
    CLIENT = "client", "Client"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self,
        email: str,
        *,
        practice: Practice,
        role: str,
        full_name: str = "",
        password: str | None = None,
        **extra: Any,
    ) -> User:
        if role not in Role.values:
            raise ValueError(f"role must be one of {', '.join(Role.values)}")
        user = self.model(
            email=self.normalize_email(email).lower(),
            practice=practice,
            role=role,
            full_name=full_name,
            **extra,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person who signs in: a practice admin, a therapist or a client.

    Email is the login name. Roles are exclusive on purpose: a therapist who also
    administers the practice has two accounts, so every audit row says in which
    capacity something was seen.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["full_name", "email"]
        indexes: ClassVar = [models.Index(fields=["practice", "role"])]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff_role(self) -> bool:
        """Admins and therapists: the roles that see other people's data."""
        return self.role in (Role.ADMIN, Role.THERAPIST)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class LoginAttempt(models.Model):
    """Every password attempt, and every lifting of sign-in back-off, kept in the database
    so that throttling holds across several app processes and hosts (a per-process cache
    would let an attacker multiply the limits). Rows are keyed by the email *as typed*,
    whether or not an account has it, so back-off looks the same for both.
    ``accounts/throttle.py`` reads them; ``accounts/backoff.py`` holds the rules."""

    class Outcome(models.TextChoices):
        FAILED = "failed", "failed"
        SUCCEEDED = "succeeded", "succeeded"
        # An admin, or the owner through an emailed link, lifted the back-off.
        UNLOCKED = "unlocked", "unlocked"

    email = models.CharField(max_length=254)
    ip = models.GenericIPAddressField(null=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    browser = models.CharField(
        max_length=32,
        blank=True,
        help_text="The id of the known browser the attempt came from, if it was one.",
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["ip", "at"]),
            models.Index(fields=["email", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} sign-in for {self.email} at {self.at:%Y-%m-%d %H:%M}"


class UnlockLink(models.Model):
    """A one-time link, emailed to an account's owner, that lifts sign-in back-off and lets
    the browser that opens it skip the account's back-off from then on. Only the digest of
    the random token is stored, so a copy of the database cannot be used to unlock."""

    LIFETIME = datetime.timedelta(hours=1)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="unlock_links")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"unlock link for {self.user} ({self.created_at:%Y-%m-%d %H:%M})"


def hash_token(raw: str) -> str:
    """Tokens are stored as SHA-256 digests: they are long random strings, so a slow
    password hash adds nothing, and a fast lookup by digest keeps API calls cheap."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON and FHIR APIs. The raw value is shown once."""

    PREFIX = "rvr_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @classmethod
    def new_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
