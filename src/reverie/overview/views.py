from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import role_required, signed_in_user
from reverie.overview import figures


@role_required(Role.ADMIN)
def practice(request: HttpRequest) -> HttpResponse:
    """The practice at a glance, each figure with its last twelve months."""
    user = signed_in_user(request)
    rows = figures.overview(user.practice_id)
    # Counts only, no client: recorded as a view of the practice's figures all the same,
    # so the trail shows who looked at the practice's numbers and when.
    trail.record(
        trail.context(request),
        Action.VIEW,
        object_type="overview.practice",
        object_id=str(user.practice_id),
        detail={"view": "practice_overview"},
    )
    return render(
        request, "overview/practice.html", {"figures": rows, "backup": figures.last_backup()}
    )
