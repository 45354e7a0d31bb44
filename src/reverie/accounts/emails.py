"""Every email Reverie sends about accounts: one function per message, each rendered
from subject/text/html templates in templates/emails/ and queued in the outbox, which
sends it after the caller's transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from reverie.accounts.models import User
from reverie.outbox.queue import enqueue


def set_password_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.BASE_URL + reverse("accounts:invite_accept", args=[uid, token])


def invitation(user: User, invited_by: str) -> None:
    """Welcome a new user with a link to choose their password (valid three days)."""
    enqueue(
        "invitation",
        user.email,
        {
            "user": user,
            "practice": user.practice,
            "link": set_password_link(user),
            "invited_by": invited_by,
        },
        practice_id=user.practice_id,
    )


def password_reset(to: str, context: dict[str, Any], practice_id: int | None) -> None:
    """Django's password-reset message (its form renders the link into ``context``)."""
    enqueue("password_reset", to, context, practice_id=practice_id)


def unlock_link(user: User, raw_token: str) -> None:
    """A one-time link that lifts sign-in back-off for the browser that opens it (one hour)."""
    enqueue(
        "unlock_link",
        user.email,
        {
            "user": user,
            "practice": user.practice,
            "link": settings.BASE_URL + reverse("accounts:unlock", args=[raw_token]),
        },
        practice_id=user.practice_id,
    )
