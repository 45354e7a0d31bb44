"""Emails to clients about questionnaires. They say only that a short questionnaire is
waiting and until when: no instrument name, no score, nothing about why. The link is a
one-time link whose token Reverie keeps only as a digest; the queued message holding it
is encrypted in the outbox and wiped once sent."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from reverie.measures.models import MeasureRequest
from reverie.outbox.queue import enqueue


def measure_link(request: MeasureRequest, raw_token: str, *, reminder: bool = False) -> None:
    """The invitation to a questionnaire, or (``reminder``) the one reminder before it closes."""
    client = request.client
    enqueue(
        "measure_reminder" if reminder else "measure_link",
        client.email,
        {
            "client": client,
            "practice": client.practice,
            "link": settings.BASE_URL + reverse("measures:link", args=[raw_token]),
            "closes": timezone.localtime(request.expires_at, request.client.practice.zone),
        },
        practice_id=client.practice_id,
    )
