"""The therapist's process overview of a client, and the seven-feature reflection."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import clinical_clients
from reverie.care.models import Appointment, Attendance, Client, Episode
from reverie.core.decorators import role_required, signed_in_user
from reverie.process import access, actions
from reverie.process.forms import ReflectionForm
from reverie.process.models import (
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.reflection import FEATURES, mean_profile, monthly_profile
from reverie.vault.fields import unread

THERAPIST = (Role.THERAPIST,)
NOT_HELD = (Attendance.CANCELLED, Attendance.LATE_CANCEL, Attendance.NO_SHOW)


def tenths(value: float | None) -> int:
    """A 0–6 mean as an integer 0–60, the step of the chart classes in process.css."""
    if value is None:
        return 0
    return max(0, min(60, round(value * 10)))


def feature_bars(means: Mapping[str, float] | None) -> list[dict[str, Any]]:
    """One row per feature for the horizontal bar chart template."""
    return [
        {
            "feature": f,
            "mean": None if means is None else means[f.key],
            "step": tenths(None if means is None else means[f.key]),
        }
        for f in FEATURES
    ]


def profile_chart(rows: Iterable[tuple[datetime.date, Mapping[str, int]]]) -> dict[str, Any]:
    """Monthly means per feature, shaped for the small-multiples chart and its table."""
    months = monthly_profile(list(rows))
    series = [
        {
            "feature": f,
            "points": [
                {"label": m.label, "mean": m.means[f.key], "step": tenths(m.means[f.key])}
                for m in months
            ],
        }
        for f in FEATURES
    ]
    table = [
        {
            "label": m.label,
            "sessions": m.sessions,
            "cells": [{"mean": m.means[f.key], "level": round(m.means[f.key])} for f in FEATURES],
        }
        for m in months
    ]
    return {"months": months, "series": series, "table": table}


@role_required(*THERAPIST)
def client_overview(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything of the process domain about one client, on one page."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    now = timezone.now()
    own_episodes = list(
        client.episodes.filter(therapist=user).defer(*unread(Episode)).order_by("-start_date")
    )
    sessions = list(
        Appointment.objects.filter(episode__in=own_episodes, starts_at__lte=now)
        .exclude(attendance__in=NOT_HELD)
        .select_related("reflection")
        .defer(*unread(SessionReflection, "reflection"))
        .order_by("-starts_at")[:8]
    )
    episodes = list(
        client.episodes.select_related("therapist").defer(*unread(Episode)).order_by("-start_date")
    )
    reflection_counts = dict(
        SessionReflection.objects.filter(episode__client=client)
        .values_list("episode_id")
        .annotate(n=Count("pk"))
        .values_list("episode_id", "n")
    )
    relationship_episodes = list(
        RelationshipEpisode.objects.filter(client=client)
        .order_by("-occurred_on", "-pk")
        # The list shows the wish and who it was with; the rest is read on the episode's page.
        .defer("narrative", "response_of_other", "response_of_self")[:10]
    )
    transference = RelationshipEpisode.objects.filter(client=client, other_person="therapist")
    shared = list(
        JournalEntry.objects.filter(client=client, shared_at__isnull=False).order_by(
            "-entry_date", "-created_at"
        )[:20]
    )
    theme_counts = dict(
        RecurringTheme.objects.filter(client=client, owner=user)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    last_run = ThemeRun.objects.filter(client=client, requested_by=user).first()
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={
            "view": "process_overview",
            "reflections": [s.reflection.pk for s in sessions if hasattr(s, "reflection")],
            "relationship_episodes": [e.pk for e in relationship_episodes],
            "journal_entries": [e.pk for e in shared],
        },
    )
    return render(
        request,
        "process/client.html",
        {
            "client": client,
            "sessions": [
                {"appointment": s, "reflection": getattr(s, "reflection", None)} for s in sessions
            ],
            "episodes": [
                {"episode": e, "reflections": reflection_counts.get(e.pk, 0)} for e in episodes
            ],
            "relationship_episodes": relationship_episodes,
            "relationship_total": RelationshipEpisode.objects.filter(client=client).count(),
            "transference_total": transference.count(),
            "shared": shared,
            "themes_accepted": theme_counts.get(ThemeStatus.ACCEPTED, 0),
            "themes_suggested": theme_counts.get(ThemeStatus.SUGGESTED, 0),
            "last_run": last_run,
        },
    )


@role_required(*THERAPIST)
def reflect(request: HttpRequest, pk: int) -> HttpResponse:
    """The under-a-minute reflection on one session: seven ratings and a comment."""
    user = signed_in_user(request)
    appointment = access.session_to_reflect(user, pk)
    client = appointment.episode.client
    existing = SessionReflection.objects.filter(appointment=appointment).first()
    initial: dict[str, Any] = {}
    if existing is not None:
        initial = {**{k: str(v) for k, v in existing.scores().items()}, "comment": existing.comment}
    form = ReflectionForm(request.POST or None, initial=initial)
    context = {
        "form": form,
        "appointment": appointment,
        "client": client,
        "reflection": existing,
        "not_yet": appointment.starts_at > timezone.now(),
        "not_held": appointment.attendance in NOT_HELD,
    }
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            comment = data.pop("comment", "")
            try:
                actions.save_reflection(
                    trail.context(request), appointment=appointment, scores=data, comment=comment
                )
            except actions.ProcessActionError as exc:
                form.add_error(None, str(exc).capitalize() + ".")
            else:
                messages.success(request, "Reflection saved.")
                return redirect("process:episode_profile", appointment.episode_id)
        return render(request, "process/reflect.html", context, status=400)
    if existing is not None:
        trail.record(trail.context(request), Action.VIEW, existing, client_id=client.pk)
    return render(request, "process/reflect.html", context)


@role_required(*THERAPIST)
def episode_profile(request: HttpRequest, pk: int) -> HttpResponse:
    """How the seven features figured in one treatment episode, month by month."""
    user = signed_in_user(request)
    episode = access.episode_for(user, pk)
    reflections = list(
        SessionReflection.objects.filter(episode=episode).order_by("session_date", "pk")
    )
    rows = [(r.session_date, r.scores()) for r in reflections]
    trail.record(
        trail.context(request),
        Action.VIEW,
        episode,
        client_id=episode.client_id,
        detail={"view": "technique_profile", "reflections": [r.pk for r in reflections]},
    )
    return render(
        request,
        "process/episode_profile.html",
        {
            "episode": episode,
            "client": episode.client,
            "chart": profile_chart(rows),
            "overall": feature_bars(mean_profile(r for _, r in rows)),
            "reflections": [
                {"reflection": r, "scores": [r.scores()[f.key] for f in FEATURES]}
                for r in reversed(reflections)
            ],
            "features": FEATURES,
            "can_reflect": episode.therapist_id == user.pk,
        },
    )


PERIODS = {"3": 3, "12": 12, "all": 0}


@role_required(*THERAPIST)
def my_profile(request: HttpRequest) -> HttpResponse:
    """The therapist's own technique profile across their caseload."""
    user = signed_in_user(request)
    period = request.GET.get("months", "12")
    if period not in PERIODS:
        period = "12"
    reflections = SessionReflection.objects.filter(
        author=user, episode__client__in=clinical_clients(user)
    ).select_related("episode__client")
    # Ratings only: neither the comments nor each row's copy of its episode's goals are
    # shown, so neither is decrypted (the demo's page decrypted 312 values).
    reflections = reflections.defer(*unread(SessionReflection), *unread(Episode, "episode"))
    if PERIODS[period]:
        since = timezone.localdate() - datetime.timedelta(days=round(30.44 * PERIODS[period]))
        reflections = reflections.filter(session_date__gte=since)
    rows = list(reflections.order_by("session_date", "pk"))
    by_client: dict[int, list[SessionReflection]] = {}
    for r in rows:
        by_client.setdefault(r.episode.client_id, []).append(r)
    clients: dict[int, Client] = {r.episode.client_id: r.episode.client for r in rows}
    per_client = []
    for client_id, items in sorted(
        by_client.items(), key=lambda kv: (clients[kv[0]].family_name, clients[kv[0]].given_name)
    ):
        means = mean_profile(r.scores() for r in items) or {}
        per_client.append(
            {
                "client": clients[client_id],
                "sessions": len(items),
                "cells": [{"mean": means[f.key], "level": round(means[f.key])} for f in FEATURES],
            }
        )
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="process.sessionreflection",
        detail={"view": "my_profile", "clients": sorted(clients), "reflections": len(rows)},
    )
    return render(
        request,
        "process/my_profile.html",
        {
            "period": period,
            "overall": feature_bars(mean_profile(r.scores() for r in rows)),
            "count": len(rows),
            "per_client": per_client,
            "chart": profile_chart((r.session_date, r.scores()) for r in rows),
            "features": FEATURES,
        },
    )


def sessions_of(client: Client) -> QuerySet[Appointment]:
    """The client's sessions that took place (or may have), newest first."""
    return (
        Appointment.objects.filter(episode__client=client, starts_at__lte=timezone.now())
        .exclude(attendance__in=NOT_HELD)
        .order_by("-starts_at")
    )
