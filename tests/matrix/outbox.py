"""Routes of outgoing mail: the practice admin's page of waiting and failed messages."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from matrix import Route, only
from reverie.outbox.models import Message, Status
from reverie.testing import World


def failed_message(w: World) -> Message:
    """A failed message of the world's practice, made once per world."""
    cached = getattr(w, "_failed_message", None)
    if cached is None:
        cached = Message.objects.create(
            practice_id=w.practice.pk,
            template="alert_raised",
            recipient=w.therapist.email,
            body=b"sealed",
            status=Status.FAILED,
            attempts=10,
            last_error="ConnectionRefusedError: [Errno 111] Connection refused",
            next_attempt_at=timezone.now(),
        )
        w._failed_message = cached  # type: ignore[attr-defined]
    return cached


ROUTES = [
    Route("practice:outgoing", lambda w: reverse("practice:outgoing"), only({"admin": 200})),
    Route(
        "practice:retry_message",
        lambda w: reverse("practice:retry_message", args=[failed_message(w).pk]),
        only({"admin": 302}),
        method="post",
    ),
]
