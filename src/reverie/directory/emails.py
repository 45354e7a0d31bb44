"""Emails of the front door. None of them repeats what a person wrote or which concerns they
named: email is not a safe channel, so messages say only that something arrived or waits,
and link to Reverie, where access rules and the audit trail apply. Each is queued in the
outbox and sent after the caller's transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from reverie.accounts.models import Practice, User
from reverie.directory.models import ConsultationRequest
from reverie.outbox.queue import enqueue


def consultation_received(request: ConsultationRequest) -> None:
    """Confirm to the person that their request arrived, with the crisis information."""
    enqueue(
        "consultation_received",
        request.email,
        {
            "name": request.name,
            "practice": request.practice,
            "crisis_info": request.practice.crisis_info,
        },
        practice_id=request.practice_id,
        dedupe_key=f"consultation_received:{request.pk}",
    )


def consultation_new(request: ConsultationRequest, admin: User) -> None:
    """Tell a practice admin that a request is waiting in the intake queue."""
    enqueue(
        "consultation_new",
        admin.email,
        {
            "user": admin,
            "practice": request.practice,
            "link": settings.BASE_URL + reverse("directory:intake"),
        },
        practice_id=request.practice_id,
        dedupe_key=f"consultation_new:{request.pk}:{admin.pk}",
    )


def consultation_waiting(practice: Practice, admin: User, count: int) -> None:
    """Remind a practice admin of requests that have had no reply for a while."""
    enqueue(
        "consultation_waiting",
        admin.email,
        {
            "user": admin,
            "practice": practice,
            "count": count,
            "link": settings.BASE_URL + reverse("directory:intake"),
        },
        practice_id=practice.pk,
    )
