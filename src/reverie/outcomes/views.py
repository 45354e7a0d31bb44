"""Outcome pages: a client's trajectory, the practice evidence dashboard, reports and the
public outcomes page."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from reverie.accounts.models import Role, User
from reverie.accounts.practices import public_practice
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import get_clinical_client, own_client, visible_alerts
from reverie.care.models import AlertKind, Client
from reverie.core.decorators import public_page, role_required, signed_in_user
from reverie.lib import dates
from reverie.outcomes import (
    actions,
    charts,
    dashboard,
    lay,
    recovery,
    reports,
    summary,
    trajectory,
)
from reverie.outcomes.models import EpisodeOutcome, PracticeSettings

CHART_CACHE_SECONDS = 60 * 60 * 24


# --------------------------------------------------------------------------------------------
# trajectory
# --------------------------------------------------------------------------------------------


def _trajectory_client(user: User, pk: int) -> Client:
    """The therapist's client, or the client themselves when their therapist shares the
    charts; anyone else gets 404."""
    if user.role == Role.CLIENT:
        return get_object_or_404(
            Client, pk=pk, user=user, practice_id=user.practice_id, progress_visible_to_client=True
        )
    return get_clinical_client(user, pk)


def _section(t: trajectory.InstrumentTrajectory) -> str:
    """One instrument's section (chart, point details, sentences, table), cached under a
    fingerprint of everything it shows: drawing 300 points takes longer than serving them.
    Administrations are never rescored, so the fingerprint changes whenever the content can."""
    # The locale is part of the key: the section writes dates in it.
    key = "outcomes:section:" + t.fingerprint(extra=f"{t.code}:v2:{dates.current_locale()}")
    html = cache.get(key)
    if html is None:
        svg = charts.to_web_svg(
            charts.trajectory_figure(t),
            title=f"{t.name}: chart of scores over time",
            points_gid=f"pts-{t.dom_id}",
            point_titles=[p.title for p in t.points],
        )
        html = render_to_string(
            "outcomes/_instrument.html",
            {"t": t, "svg": svg, "points_json": [p.as_json() for p in t.points]},
        )
        cache.set(key, html, CHART_CACHE_SECONDS)
    result: str = mark_safe(html)  # noqa: S308  (rendered from our own template, autoescaped)
    return result


def _render_trajectory(request: HttpRequest, client: Client) -> HttpResponse:
    traj = trajectory.load(client)
    sections = [_section(t) for t in traj.instruments]
    # Not-on-track alerts of a client in the therapist's care now, each with its
    # clinical-support review if one was recorded (outcomes/support.py), newest first.
    alerts = list(
        visible_alerts(signed_in_user(request))
        .filter(client=client, kind=AlertKind.NOT_ON_TRACK)
        .select_related("support_review__author")
        .order_by("-created_at", "-pk")[:10]
    )
    support_rows = [(a, getattr(a, "support_review", None)) for a in alerts]
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "trajectory", "administrations": len(traj.administration_ids)},
    )
    return render(
        request,
        "outcomes/trajectory.html",
        {"traj": traj, "client": client, "sections": sections, "support_rows": support_rows},
    )


def _render_lay(request: HttpRequest, client: Client) -> HttpResponse:
    """The client's own page: the same scores as the clinician's chart, drawn and worded for
    a lay reader on a phone (outcomes/lay.py)."""
    traj = trajectory.load(client)
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "my_progress", "administrations": len(traj.administration_ids)},
    )
    return render(
        request,
        "outcomes/my_progress.html",
        {"client": client, "charts": lay.charts_for(traj)},
    )


@role_required(Role.THERAPIST, Role.CLIENT)
@require_GET
def trajectory_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _trajectory_client(user, pk)
    if user.role == Role.CLIENT:
        return _render_lay(request, client)
    return _render_trajectory(request, client)


@role_required(Role.CLIENT)
@require_GET
def my_progress(request: HttpRequest) -> HttpResponse:
    """The client's own charts, when their therapist has chosen to share them."""
    user = signed_in_user(request)
    client = own_client(user)
    if client is None or not client.progress_visible_to_client:
        return render(request, "outcomes/my_progress_unavailable.html", {"client": client})
    return _render_lay(request, client)


@role_required(Role.THERAPIST, Role.CLIENT)
@require_GET
def trajectory_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _trajectory_client(user, pk)
    traj = trajectory.load(client)
    body = reports.client_pdf(
        traj, practice_name=client.practice.name, prepared_by=user.display_name
    )
    trail.record(
        trail.context(request),
        Action.EXPORT,
        client,
        client_id=client.pk,
        detail={"report": "client_progress_pdf", "administrations": len(traj.administration_ids)},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="progress-{client.pk}.pdf"'
    return response


# --------------------------------------------------------------------------------------------
# practice evidence
# --------------------------------------------------------------------------------------------


def _board(user: User) -> dashboard.Dashboard:
    if user.role == Role.ADMIN:
        frame = dashboard.load_frame(user.practice_id)
        labels = dict(
            User.objects.filter(practice_id=user.practice_id, role=Role.THERAPIST).values_list(
                "pk", "full_name"
            )
        )
        labels.update(
            {pk: f"Therapist {pk}" for pk in set(frame["therapist_id"].tolist()) - set(labels)}
        )
        labels = {pk: name or f"Therapist {pk}" for pk, name in labels.items()}
        return dashboard.compute(frame, scope="Whole practice", therapist_labels=labels)
    frame = dashboard.load_frame(user.practice_id, therapist_id=user.pk)
    # Clinical significance is judged against the whole practice's intake scores, as on each
    # client's page, not against this therapist's share of them.
    return dashboard.compute(
        frame,
        scope=f"Episodes of {user.display_name}",
        intakes=dashboard.practice_intake_sums(user.practice_id),
    )


def _followup_svg(board: dashboard.Dashboard) -> str:
    data = repr(
        [
            (g.label, [(c.months, c.mean_change, c.ci_low, c.ci_high) for c in g.cells])
            for g in board.followup
        ]
    )
    key = "outcomes:fu:" + hashlib.sha256(data.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = charts.to_web_svg(
            charts.followup_figure(board.followup),
            title="Mean PHQ-9 change from the last session to each follow-up",
        )
        cache.set(key, svg, CHART_CACHE_SECONDS)
    result: str = svg
    return result


@role_required(Role.ADMIN, Role.THERAPIST)
@require_GET
def practice_dashboard(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    board = _board(user)
    state = summary.state()
    trail.record(
        trail.context(request),
        Action.VIEW,
        object_type="outcomes.dashboard",
        detail={
            "scope": "practice" if user.role == Role.ADMIN else "own",
            "episodes": board.n_episodes,
        },
    )
    context: dict[str, Any] = {
        "board": board,
        "state": state,
        "followup_svg": _followup_svg(board),
        "is_admin": user.role == Role.ADMIN,
        "min_cell": dashboard.MIN_CELL,
    }
    if user.role == Role.ADMIN:
        context["settings_row"] = actions.practice_settings(user.practice)
    context["recovery"] = recovery.practice_panels(user.practice_id)
    return render(request, "outcomes/dashboard.html", context)


@role_required(Role.ADMIN, Role.THERAPIST)
@require_GET
def refresh_progress(request: HttpRequest) -> JsonResponse:
    """How far the summary refresh has got (polled by the dashboard while it runs)."""
    st = summary.state()
    return JsonResponse(
        {
            "running": st.running,
            "done": st.done,
            "total": st.total,
            "finished_at": st.finished_at.isoformat() if st.finished_at else None,
            "full_requested": st.full_requested,
        }
    )


@role_required(Role.ADMIN, Role.THERAPIST)
@require_GET
def practice_pdf(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    board = _board(user)
    body = reports.practice_pdf(board, practice_name=user.practice.name)
    trail.record(
        trail.context(request),
        Action.EXPORT,
        object_type="outcomes.dashboard",
        detail={"report": "practice_outcomes_pdf", "episodes": board.n_episodes},
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="practice-outcomes.pdf"'
    return response


@role_required(Role.ADMIN)
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """The de-identified analysis dataset of the practice, one row per episode."""
    user = signed_in_user(request)
    row = actions.practice_settings(user.practice)
    count = EpisodeOutcome.objects.filter(practice_id=user.practice_id).count()
    trail.record(
        trail.context(request),
        Action.EXPORT,
        object_type="outcomes.episodeoutcome",
        detail={"export": "analysis_dataset_csv", "episodes": count},
    )
    response: Any = StreamingHttpResponse(
        reports.analysis_rows(user.practice_id, row.pseudonym_salt), content_type="text/csv"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="outcomes-{stamp}.csv"'
    result: HttpResponse = response
    return result


@role_required(Role.ADMIN)
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    actions.request_recompute(trail.context(request), user.practice)
    messages.success(
        request,
        "Recalculation requested. The worker starts it within a minute; progress shows here.",
    )
    return redirect("outcomes:dashboard")


@role_required(Role.ADMIN)
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    choice = request.POST.get("publish")
    if choice not in ("on", "off"):
        messages.error(request, "Choose whether to publish the outcome summary.")
        return redirect("outcomes:dashboard")
    actions.set_publish_outcomes(trail.context(request), user.practice, publish=choice == "on")
    messages.success(
        request,
        "The public outcomes page is now visible."
        if choice == "on"
        else "The public outcomes page is now hidden.",
    )
    return redirect("outcomes:dashboard")


# --------------------------------------------------------------------------------------------
# public page
# --------------------------------------------------------------------------------------------


@public_page
@require_GET
def public(request: HttpRequest) -> HttpResponse:
    practice = public_practice(request)
    if practice is None:
        raise Http404("No public practice")
    row = PracticeSettings.objects.filter(practice=practice, publish_outcomes=True).first()
    if row is None:
        raise Http404("This practice does not publish its outcomes")
    frame = dashboard.load_frame(practice.pk)
    data = dashboard.public_summary(frame)
    return render(request, "outcomes/public.html", {"practice_shown": practice, "data": data})
