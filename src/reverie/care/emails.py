"""Emails about clients' care. They name no client and carry no clinical detail: email is
not a safe channel, so each message only says that something needs attention and links
to Reverie, where access rules and the audit trail apply."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from reverie.accounts.emails import send
from reverie.accounts.models import User
from reverie.care.models import Alert, Appointment


def alert_raised(alert: Alert, therapist: User) -> None:
    send(
        "alert_raised",
        therapist.email,
        {"alert": alert, "user": therapist, "link": settings.BASE_URL + reverse("care:alerts")},
    )


def alert_escalated(alert: Alert, admin: User) -> None:
    send(
        "alert_escalated",
        admin.email,
        {"alert": alert, "user": admin, "link": settings.BASE_URL + reverse("care:alerts")},
    )


def appointment_reminder(appointment: Appointment) -> None:
    """Date and time only: no therapist name, no hint of what the session is about."""
    client = appointment.episode.client
    send(
        "appointment_reminder",
        client.email,
        {"appointment": appointment, "client": client, "practice": client.practice},
    )
