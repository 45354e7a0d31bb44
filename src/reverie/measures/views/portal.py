"""The client's portal: the questionnaires waiting for them and those they completed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import own_client
from reverie.core.decorators import role_required, signed_in_user
from reverie.measures import actions
from reverie.measures.models import (
    Administration,
    MeasureRequest,
    Source,
)
from reverie.measures.views.answering import (
    answer_page,
    autosave,
    done_page,
)
from reverie.measures.views.lookups import (
    own_request,
)

THERAPIST = (Role.THERAPIST,)


@role_required(Role.CLIENT)
def portal(request: HttpRequest) -> HttpResponse:
    """The client's questionnaires: what is waiting, and what they have completed."""
    user = signed_in_user(request)
    client = own_client(user)
    waiting: list[MeasureRequest] = []
    done: list[Administration] = []
    if client is not None:
        waiting = actions.open_requests_for(client)
        done = list(
            Administration.objects.filter(client=client)
            .select_related("instrument")
            .order_by("-completed_at")[:20]
        )
        trail.record(
            trail.context(request),
            Action.LIST,
            object_type="measures.measurerequest",
            client_id=client.pk,
            detail={
                "view": "portal",
                "requests": [r.pk for r in waiting],
                "administrations": [a.pk for a in done],
            },
        )
    return render(
        request, "measures/portal.html", {"client": client, "waiting": waiting, "done": done}
    )


@role_required(Role.CLIENT)
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    measure_request = own_request(signed_in_user(request), pk)
    return answer_page(
        request,
        trail.context(request),
        measure_request,
        source=Source.PORTAL,
        post_url=reverse("measures:answer", args=[pk]),
        save_url=reverse("measures:save", args=[pk]),
        done_url=reverse("measures:done", args=[pk]),
    )


@role_required(Role.CLIENT)
@require_POST
def save(request: HttpRequest, pk: int) -> JsonResponse:
    measure_request = own_request(signed_in_user(request), pk)
    return autosave(request, trail.context(request), measure_request)


@role_required(Role.CLIENT)
def done(request: HttpRequest, pk: int) -> HttpResponse:
    measure_request = own_request(signed_in_user(request), pk)
    administration = Administration.objects.filter(request=measure_request).first()
    if administration is None:
        return redirect("measures:answer", pk)
    actions.record_read(
        trail.context(request), administration, client_id=administration.client_id, view="done"
    )
    return done_page(request, measure_request, administration)
