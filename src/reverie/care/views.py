from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions, telehealth
from reverie.care.access import own_client, visible_alerts
from reverie.care.models import Appointment, Episode
from reverie.core.decorators import role_required, signed_in_user
from reverie.core.redirects import redirect_next
from reverie.vault.fields import unread


@role_required(Role.CLIENT)
def client_home(request: HttpRequest) -> HttpResponse:
    """The client's home: their sessions and their own questionnaire history. Scores and
    severity bands appear only when the therapist shares the client's charts with them
    (``progress_visible_to_client``); otherwise the history says what was completed when."""
    client = own_client(signed_in_user(request))
    context: dict[str, object] = {"client": client}
    if client is not None:
        shared = client.progress_visible_to_client
        context["shared"] = shared
        now = timezone.now()
        # A session under way still counts as upcoming, so its "Join" button stays.
        upcoming = list(
            Appointment.objects.filter(
                episode__client=client, starts_at__gte=now - datetime.timedelta(hours=3)
            )
            .exclude(attendance="cancelled")
            .select_related("episode__therapist", "series")
            .defer(*unread(Appointment), *unread(Episode, "episode"))[:6]
        )
        context["upcoming"] = [
            (a, telehealth.can_join(a.starts_at, a.duration_minutes, now))
            for a in upcoming
            if a.starts_at + datetime.timedelta(minutes=a.duration_minutes) >= now
        ][:5]
        context["episodes"] = list(
            client.episodes.select_related("therapist").defer(*unread(Episode))
        )
        # Questionnaires and the journal belong to apps above care: read through the reverse
        # relations they declare (related names), never imported.
        measures = client.administrations.order_by("-completed_at")
        if not shared:
            # Not even loaded: what the page is not to show cannot leak from it.
            measures = measures.only("completed_at", "instrument")
        context["measures"] = list(measures.select_related("instrument")[:12])
        waiting = list(
            client.measure_requests.filter(status="open", opens_at__lte=now, expires_at__gt=now)
            .select_related("instrument")
            .order_by("expires_at")[:5]
        )
        # Titles only: the entries' text is not on this page, so it is not decrypted.
        journal = list(client.journal.all().defer("text")[:3])
        context["waiting"] = waiting
        context["journal"] = journal
        trail.record(
            trail.context(request),
            Action.VIEW,
            client,
            client_id=client.pk,
            detail={
                "view": "client_home",
                "scores_shown": shared,
                "requests": [r.pk for r in waiting],
                "journal_entries": [e.pk for e in journal],
            },
        )
    return render(request, "care/client_home.html", context)


@role_required(Role.THERAPIST, Role.ADMIN)
def alerts(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    show = request.GET.get("show", "open")
    rows = (
        visible_alerts(user)
        .select_related("client", "episode", "acknowledged_by")
        .defer(*unread(Episode, "episode"))
    )
    if show != "all":
        rows = rows.filter(acknowledged_at__isnull=True)
    rows = rows[:200]
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="care.alert",
        detail={"alerts": [a.pk for a in rows]},
    )
    return render(request, "care/alerts.html", {"alerts": rows, "show": show})


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def acknowledge_alert(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    alert = get_object_or_404(visible_alerts(user), pk=pk)
    actions.acknowledge_alert(trail.context(request), alert)
    messages.success(request, "Alert acknowledged.")
    return redirect_next(request, "care:alerts")
