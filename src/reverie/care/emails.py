"""Emails about clients' care. They name no client and carry no clinical detail: email is
not a safe channel, so each message only says that something needs attention and links
to Reverie, where access rules and the audit trail apply.

Each is queued in the outbox in the caller's transaction, with a key that makes it
idempotent: raising or escalating the same alert again never mails anyone twice."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from reverie.accounts.models import User
from reverie.care.models import Alert, Appointment
from reverie.outbox.queue import enqueue


def alert_raised(alert: Alert, therapist: User) -> None:
    enqueue(
        "alert_raised",
        therapist.email,
        {"alert": alert, "user": therapist, "link": settings.BASE_URL + reverse("care:alerts")},
        practice_id=therapist.practice_id,
        dedupe_key=f"alert_raised:{alert.pk}:{therapist.pk}",
    )


def alert_escalated(alert: Alert, admin: User) -> None:
    enqueue(
        "alert_escalated",
        admin.email,
        {
            "alert": alert,
            "user": admin,
            "practice": admin.practice,
            "link": settings.BASE_URL + reverse("care:alerts"),
        },
        practice_id=admin.practice_id,
        dedupe_key=f"alert_escalated:{alert.pk}:{admin.pk}",
    )


def appointment_reminder(appointment: Appointment) -> None:
    """Date and time only: no therapist name, no hint of what the session is about."""
    client = appointment.episode.client
    enqueue(
        "appointment_reminder",
        client.email,
        {"appointment": appointment, "client": client, "practice": client.practice},
        practice_id=client.practice_id,
        # A moved session may be reminded of again; the same one never twice.
        dedupe_key=f"appointment_reminder:{appointment.pk}:{appointment.starts_at.isoformat()}",
    )
