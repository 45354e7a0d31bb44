"""Scheduling pages of the staff: a therapist's requests and consultations, and the
practice admin's settings."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.decorators import role_required, signed_in_user
from reverie.scheduling import actions
from reverie.scheduling.forms import SettingsForm
from reverie.scheduling.models import (
    Booking,
    BookingStatus,
    MoveRequest,
    MoveStatus,
    SchedulingSettings,
)
from reverie.scheduling.portal_views import day_names, time_names


@role_required(Role.THERAPIST)
def requests(request: HttpRequest) -> HttpResponse:
    """The therapist's pending requests to move a session, and the first consultations
    booked with them from the directory."""
    user = signed_in_user(request)
    now = timezone.now()
    moves = list(
        MoveRequest.objects.filter(
            appointment__episode__therapist=user, status=MoveStatus.PENDING
        ).select_related("appointment", "client")
    )
    consultations = list(
        Booking.objects.filter(
            therapist=user, status=BookingStatus.BOOKED, starts_at__gte=now
        ).select_related("request")
    )
    ctx = trail.context(request)
    trail.record(
        ctx,
        Action.LIST,
        object_type="scheduling.moverequest",
        detail={
            "view": "requests",
            "moves": [m.pk for m in moves],
            "clients": sorted({m.client_id for m in moves}),
        },
    )
    if consultations:
        trail.record(
            ctx,
            Action.LIST,
            object_type="directory.consultationrequest",
            detail={"view": "my_consultations", "requests": [b.request_id for b in consultations]},
        )
    rows = [
        {"move": m, "days": day_names(m.preferred_days), "times": time_names(m.preferred_times)}
        for m in moves
    ]
    zone = user.practice.zone.key
    return render(
        request,
        "scheduling/requests.html",
        {"rows": rows, "consultations": consultations, "zone": zone},
    )


@role_required(Role.THERAPIST)
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    move = get_object_or_404(
        MoveRequest.objects.select_related("appointment__episode"),
        pk=pk,
        appointment__episode__therapist=user,
    )
    try:
        actions.answer_move(trail.context(request), move)
    except actions.SchedulingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Marked as answered.")
    return redirect("scheduling:requests")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    current = SchedulingSettings.for_practice(user.practice_id)
    initial = {"late_cancel_hours": current.late_cancel_hours, "offer_hours": current.offer_hours}
    if request.method == "GET":
        return render(request, "scheduling/settings.html", {"form": SettingsForm(initial=initial)})
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            actions.save_settings(
                trail.context(request),
                user.practice,
                late_cancel_hours=form.cleaned_data["late_cancel_hours"],
                offer_hours=form.cleaned_data["offer_hours"],
            )
        except actions.SchedulingError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Scheduling settings saved.")
            return redirect("scheduling:settings")
    return render(request, "scheduling/settings.html", {"form": form}, status=400)
