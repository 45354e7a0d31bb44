"""The client's sessions in the portal: see what is coming, cancel one, ask to move one.

Only the client's own sessions exist here; any other session answers 404. Every read of the
list and every change is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Attendance, Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.scheduling import actions
from reverie.scheduling.forms import TIME_CHOICES, WEEKDAY_CHOICES, MoveForm
from reverie.scheduling.models import MoveRequest, MoveStatus, SchedulingSettings


def _client(request: HttpRequest) -> Client | None:
    return Client.objects.select_related("practice").filter(user=signed_in_user(request)).first()


def _session(request: HttpRequest, pk: int) -> tuple[Client, Appointment]:
    """The signed-in client and their own session ``pk``; anything else is not found."""
    client = _client(request)
    if client is None:
        raise Http404("No such session")
    found = get_object_or_404(
        Appointment.objects.filter(episode__client=client).select_related("episode__therapist"),
        pk=pk,
    )
    return client, found


def _pending(appointment: Appointment) -> MoveRequest | None:
    return MoveRequest.objects.filter(appointment=appointment, status=MoveStatus.PENDING).first()


@role_required(Role.CLIENT)
def my_sessions(request: HttpRequest) -> HttpResponse:
    client = _client(request)
    context: dict[str, Any] = {"client": client}
    if client is not None:
        now = timezone.now()
        rules = SchedulingSettings.for_practice(client.practice_id)
        window = dt.timedelta(hours=rules.late_cancel_hours)
        rows = list(
            Appointment.objects.filter(episode__client=client, starts_at__gt=now)
            .select_related("episode__therapist")
            .prefetch_related(
                Prefetch(
                    "move_requests",
                    queryset=MoveRequest.objects.filter(status=MoveStatus.PENDING),
                    to_attr="pending_moves",
                )
            )
            .order_by("starts_at")[:20]
        )
        context.update(
            sessions=[
                {
                    "appointment": a,
                    "scheduled": a.attendance == Attendance.SCHEDULED,
                    "late": a.starts_at - now < window,
                    "pending_move": a.pending_moves[0] if a.pending_moves else None,
                }
                for a in rows
            ],
            late_hours=rules.late_cancel_hours,
            zone=client.practice.zone.key,
        )
        trail.record(
            trail.context(request),
            Action.LIST,
            object_type="care.appointment",
            client_id=client.pk,
            detail={"view": "my_sessions", "appointments": [a.pk for a in rows]},
        )
    return render(request, "scheduling/my_sessions.html", context)


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what cancelling this session means now (free, or late under the policy).
    POST: cancel it; inside the window only with ``accept_late`` from that page."""
    client, appointment = _session(request, pk)
    now = timezone.now()
    context: dict[str, Any] = {
        "appointment": appointment,
        "late": actions.is_late(appointment, client.practice_id, now),
        "late_hours": SchedulingSettings.for_practice(client.practice_id).late_cancel_hours,
        "zone": client.practice.zone.key,
    }
    if request.method == "GET":
        try:
            actions.check_changeable(appointment, now)
        except actions.SchedulingError as exc:
            return render(
                request, "scheduling/cancel.html", {**context, "problem": str(exc)}, status=400
            )
        return render(request, "scheduling/cancel.html", context)
    try:
        outcome = actions.cancel_session(
            trail.context(request),
            client,
            pk,
            accept_late=request.POST.get("accept_late") == "yes",
        )
    except actions.LatePolicyApplies as exc:
        # The window began since the page was shown (or the form was forged): say so and
        # ask again; nothing was changed.
        context["late"] = True
        return render(
            request, "scheduling/cancel.html", {**context, "problem": str(exc)}, status=409
        )
    except actions.SchedulingError as exc:
        return render(
            request, "scheduling/cancel.html", {**context, "problem": str(exc)}, status=400
        )
    if outcome.late:
        messages.warning(
            request,
            "Your session is cancelled. It was inside the late-cancellation window, so it is "
            "recorded as a late cancellation under the practice's policy.",
        )
    else:
        messages.success(request, "Your session is cancelled. Your therapist has been told.")
    return redirect("scheduling:my_sessions")


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the therapist to move a session, with the days and times that would suit."""
    client, appointment = _session(request, pk)
    context: dict[str, Any] = {
        "appointment": appointment,
        "pending": _pending(appointment),
        "zone": client.practice.zone.key,
    }
    if request.method == "GET":
        problem = ""
        try:
            actions.check_changeable(appointment, timezone.now())
        except actions.SchedulingError as exc:
            problem = str(exc)
        status = 400 if problem else 200
        return render(
            request,
            "scheduling/move.html",
            {**context, "form": MoveForm(), "problem": problem},
            status=status,
        )
    form = MoveForm(request.POST)
    if not form.is_valid():
        return render(request, "scheduling/move.html", {**context, "form": form}, status=400)
    try:
        actions.ask_to_move(
            trail.context(request),
            client,
            pk,
            days=[int(d) for d in form.cleaned_data["days"]],
            times=list(form.cleaned_data["times"]),
        )
    except actions.SchedulingError as exc:
        return render(
            request,
            "scheduling/move.html",
            {**context, "form": form, "problem": str(exc)},
            status=400,
        )
    messages.success(
        request, "Your therapist has your request to move this session and will get back to you."
    )
    return redirect("scheduling:my_sessions")


def day_names(days: list[int]) -> list[str]:
    names = dict(WEEKDAY_CHOICES)
    return [names[str(d)] for d in days if str(d) in names]


def time_names(times: list[str]) -> list[str]:
    names = dict(TIME_CHOICES)
    return [names[t] for t in times if t in names]
