from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import queries
from reverie.care.models import Appointment, Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.measures.models import Administration


@role_required(Role.THERAPIST)
def caseload(request: HttpRequest) -> HttpResponse:
    """The therapist's home: everyone currently in their care."""
    rows = queries.caseload(request.user)  # type: ignore[arg-type]
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="care.client",
        detail={"view": "caseload", "clients": [r.episode.client_id for r in rows]},
    )
    return render(request, "care/caseload.html", {"rows": rows, "today": timezone.localdate()})


@role_required(Role.CLIENT)
def client_home(request: HttpRequest) -> HttpResponse:
    """The client's home: their sessions and their own questionnaire history."""
    client = Client.objects.filter(user=signed_in_user(request)).first()
    context: dict[str, object] = {"client": client}
    if client is not None:
        now = timezone.now()
        context["upcoming"] = list(
            Appointment.objects.filter(episode__client=client, starts_at__gte=now)
            .exclude(attendance="cancelled")
            .select_related("episode__therapist")[:5]
        )
        context["episodes"] = list(client.episodes.select_related("therapist"))
        context["measures"] = list(
            Administration.objects.filter(client=client)
            .select_related("instrument")
            .order_by("-completed_at")[:12]
        )
        trail.record(
            trail.context(request),
            Action.VIEW,
            client,
            client_id=client.pk,
            detail={"view": "client_home"},
        )
    return render(request, "care/client_home.html", context)
