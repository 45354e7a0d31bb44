"""The practice admin's page of outgoing mail that has not gone out yet: what is waiting,
what keeps failing and why, with "retry now". No message bodies are ever shown (they hold
one-time links); the page lists addresses and which kind of message it is."""

from __future__ import annotations

import datetime

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts import actions
from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import role_required, signed_in_user
from reverie.outbox.models import Message, Status

#: What each template is, in the admin's words.
KINDS = {
    "alert_raised": "Alert to the treating therapist",
    "alert_escalated": "Unacknowledged crisis alert, to admins",
    "appointment_reminder": "Session reminder to a client",
    "measure_link": "Questionnaire link to a client",
    "measure_reminder": "Questionnaire reminder to a client",
    "invitation": "Account invitation",
    "password_reset": "Password reset link",
    "consultation_received": "Consultation request confirmation",
    "consultation_new": "New consultation request, to admins",
    "consultation_waiting": "Consultation requests waiting, to admins",
}


@role_required(Role.ADMIN)
def outgoing(request: HttpRequest) -> HttpResponse:
    practice_id = signed_in_user(request).practice_id
    rows = list(
        Message.objects.filter(
            practice_id=practice_id,
            status__in=(Status.FAILED, Status.PENDING, Status.SENDING),
        )
        .defer("body")
        .order_by("-status", "next_attempt_at", "pk")[:500]
    )
    for row in rows:
        row.kind = KINDS.get(row.template, row.template)  # type: ignore[attr-defined]
    since = timezone.now() - datetime.timedelta(days=7)
    sent = Message.objects.filter(
        practice_id=practice_id, status=Status.SENT, sent_at__gte=since
    ).count()
    # Addresses and the kind of message are personal data (a questionnaire link says who
    # is in treatment): the listing is audited like any other.
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="outbox.message",
        detail={"messages": [row.pk for row in rows]},
    )
    return render(
        request,
        "outbox/outgoing.html",
        {
            "failed": [r for r in rows if r.status == Status.FAILED],
            "waiting": [r for r in rows if r.status != Status.FAILED],
            "sent_week": sent,
        },
    )


@role_required(Role.ADMIN)
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    if not actions.retry_message(trail.context(request), pk):
        raise Http404("No such message to retry")
    flash.success(request, "The message will be sent again now.")
    return redirect("practice:outgoing")
