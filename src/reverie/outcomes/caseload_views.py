"""The caseload: the therapist's home page and its JSON twin (``/api/v1/caseload``).

The URL names stay ``care:caseload`` and ``api:caseload`` (reverie/urls.py puts them there);
the status of each row is :mod:`reverie.outcomes.caseload`'s."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import hooks
from reverie.core.decorators import role_required
from reverie.core.http import api_methods, api_view
from reverie.outcomes import caseload as caseload_status


@role_required(Role.THERAPIST)
def caseload(request: HttpRequest) -> HttpResponse:
    """The therapist's home: everyone currently in their care."""
    rows = caseload_status.caseload(request.user)  # type: ignore[arg-type]
    notes = hooks.flags(r.episode.client_id for r in rows)
    rows = [replace(r, notes=tuple(notes.get(r.episode.client_id, ()))) for r in rows]
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="care.client",
        detail={"view": "caseload", "clients": [r.episode.client_id for r in rows]},
    )
    return render(request, "care/caseload.html", {"rows": rows, "today": timezone.localdate()})


@api_methods("GET")
@api_view(Role.THERAPIST)
def caseload_api(request: HttpRequest) -> JsonResponse:
    rows = caseload_status.caseload(request.user)  # type: ignore[arg-type]
    trail.record(
        trail.Context(user=request.user, ip=trail.client_ip(request)),  # type: ignore[arg-type]
        Action.LIST,
        object_type="care.client",
        detail={"view": "api.caseload", "clients": [r.episode.client_id for r in rows]},
    )
    return JsonResponse(
        {
            "results": [
                {
                    "client": r.episode.client_id,
                    "episode": r.episode.pk,
                    "modality": r.episode.modality,
                    "status": r.episode.status,
                    "start_date": r.episode.start_date.isoformat(),
                    "sessions_attended": r.sessions_attended,
                    "last_phq9": r.last_phq9,
                    "last_gad7": r.last_gad7,
                }
                for r in rows
            ]
        }
    )
