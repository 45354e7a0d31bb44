from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import queries
from reverie.core.http import api_methods, api_view


@api_methods("GET")
@api_view(Role.THERAPIST)
def caseload(request: HttpRequest) -> JsonResponse:
    rows = queries.caseload(request.user)  # type: ignore[arg-type]
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
