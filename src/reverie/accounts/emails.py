"""Every email Reverie sends about accounts: one function per message, each rendered
from subject/text/html templates in templates/emails/."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from reverie.accounts.models import User


def send(template: str, to: str, context: dict[str, Any]) -> None:
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


def set_password_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.BASE_URL + reverse("accounts:invite_accept", args=[uid, token])


def invitation(user: User, invited_by: str) -> None:
    """Welcome a new user with a link to choose their password (valid three days)."""
    send(
        "invitation",
        user.email,
        {
            "user": user,
            "practice": user.practice,
            "link": set_password_link(user),
            "invited_by": invited_by,
        },
    )
