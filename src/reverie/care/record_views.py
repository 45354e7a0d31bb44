"""The therapist's clinical record: clients, episodes, sessions and notes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions, crypto, daily, hooks
from reverie.care.access import (
    administrative_clients,
    clinical_clients,
    current_care_clients,
    visible_alerts,
)
from reverie.care.forms import (
    AddendumForm,
    AttendanceForm,
    BreakForm,
    ClientForm,
    EndEpisodeForm,
    EpisodeForm,
    FrequencyForm,
    ProgressNoteForm,
    SeriesForm,
    VideoLinkForm,
)
from reverie.care.models import (
    Appointment,
    Client,
    Episode,
    EpisodeStatus,
    NoteAddendum,
    Place,
    ProcessNote,
    ProgressNote,
    SessionSeries,
    VideoRoom,
)
from reverie.core.decorators import role_required, signed_in_user
from reverie.core.redirects import requested_next
from reverie.lib import dates
from reverie.vault.fields import unread

THERAPIST = (Role.THERAPIST,)


# --- lookups: 404 for anything outside the person's relationship ---------------------------


def _client(user: User, pk: int, *, clinical: bool = True) -> Client:
    allowed = clinical_clients(user) if clinical else administrative_clients(user)
    return get_object_or_404(allowed, pk=pk)


def _episode(user: User, pk: int) -> Episode:
    return get_object_or_404(
        Episode.objects.select_related("client", "therapist"),
        pk=pk,
        client__in=clinical_clients(user),
    )


def _appointment(user: User, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("episode__client", "series").defer(
            *unread(Episode, "episode")
        ),
        pk=pk,
        episode__client__in=clinical_clients(user),
    )


def _progress_note(user: User, pk: int) -> ProgressNote:
    return get_object_or_404(
        ProgressNote.objects.select_related("episode__client", "author").defer(
            *unread(Episode, "episode")
        ),
        pk=pk,
        episode__client__in=clinical_clients(user),
    )


def _fail(request: HttpRequest, error: Exception, to: str) -> HttpResponse:
    messages.error(request, str(error))
    return redirect(to)


# --- clients -------------------------------------------------------------------------------


@role_required(Role.THERAPIST, Role.ADMIN)
def client_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    clients = (
        administrative_clients(user)
        .annotate(open_episodes=Count("episodes", filter=~Q(episodes__status=EpisodeStatus.ENDED)))
        .order_by("family_name", "given_name")
    )
    query = request.GET.get("q", "").strip()
    if query:
        # Each word must match a name as the list shows it (preferred or given name, family
        # name): "Abb" finds Abby Alvarez, "abby alv" too.
        for word in query.split()[:5]:
            clients = clients.filter(
                Q(family_name__icontains=word)
                | Q(given_name__icontains=word)
                | Q(preferred_name__icontains=word)
            )
    rows = list(clients[:500])
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="care.client",
        detail={"view": "client_list", "clients": [c.pk for c in rows]},
    )
    return render(request, "care/client_list.html", {"clients": rows, "q": query})


@role_required(*THERAPIST)
def client_new(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    client_form = ClientForm(request.POST or None, prefix="client")
    episode_form = EpisodeForm(request.POST or None, prefix="episode")
    if request.method == "POST":
        if client_form.is_valid() and episode_form.is_valid():
            fields = {k: v for k, v in client_form.cleaned_data.items()}
            try:
                client, _ = actions.create_client(
                    trail.context(request),
                    therapist=user,
                    fields=fields,
                    modality=episode_form.cleaned_data["modality"],
                    sessions_per_week=episode_form.cleaned_data["sessions_per_week"],
                    start_date=episode_form.cleaned_data["start_date"],
                    goals=episode_form.cleaned_data["goals"],
                )
            except actions.CareActionError as exc:
                client_form.add_error(None, str(exc))
            else:
                messages.success(
                    request, f"{client.display_name} was added with an intake episode."
                )
                return redirect("care:client", client.pk)
        return render(
            request,
            "care/client_form.html",
            {"form": client_form, "episode_form": episode_form},
            status=400,
        )
    return render(
        request, "care/client_form.html", {"form": client_form, "episode_form": episode_form}
    )


@role_required(*THERAPIST)
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _client(user, pk)
    form = ClientForm(
        request.POST or None, instance=Client.objects.get(pk=client.pk), prefix="client"
    )
    if request.method == "POST":
        if form.is_valid():
            changed = actions.update_client(trail.context(request), client, dict(form.cleaned_data))
            messages.success(request, "Saved." if changed else "Nothing changed.")
            return redirect("care:client", client.pk)
        return render(
            request, "care/client_form.html", {"form": form, "client": client}, status=400
        )
    trail.record(
        trail.context(request), Action.VIEW, client, client_id=client.pk, detail={"view": "edit"}
    )
    return render(request, "care/client_form.html", {"form": form, "client": client})


@role_required(Role.THERAPIST, Role.ADMIN)
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The therapist's client page; a practice admin sees the administrative part only."""
    user = signed_in_user(request)
    clinical = user.role == Role.THERAPIST
    client = _client(user, pk, clinical=clinical)
    episodes = list(
        client.episodes.select_related("therapist")
        .prefetch_related("frequency_changes", "series", "breaks")
        .order_by("-start_date")
    )
    context: dict[str, Any] = {"client": client, "episodes": episodes, "clinical": clinical}
    if clinical:
        now = timezone.now()
        # The episode of each session is there for its therapist, not its goals (shown once
        # per episode above): left unread. Cancellation reasons are shown.
        appointments = (
            Appointment.objects.filter(episode__client=client)
            .select_related("episode", "series")
            .defer(*unread(Episode, "episode"))
        )
        context["upcoming"] = list(
            appointments.filter(starts_at__gte=now).order_by("starts_at")[:10]
        )
        context["recent"] = list(appointments.filter(starts_at__lt=now).order_by("-starts_at")[:15])
        context["progress_notes"] = list(
            ProgressNote.objects.filter(episode__client=client)
            .select_related("author")
            # Listed by date and state, with a count of addenda: their text, and the
            # addenda's, is read on the note's own page.
            .prefetch_related(
                Prefetch("addenda", queryset=NoteAddendum.objects.defer(*unread(NoteAddendum)))
            )
            .defer(*unread(ProgressNote))[:30]
        )
        context["process_notes"] = list(
            ProcessNote.objects.filter(episode__client=client, author=user).only(
                "pk", "created_at", "updated_at"
            )[:30]
        )
        # Questionnaires belong to measures, above care: read through the reverse relations
        # measures declares on the client and the episode (related names), never imported.
        context["measures"] = list(
            client.administrations.select_related("instrument").order_by("-completed_at")[:15]
        )
        # Only someone in the client's care now sees their open alerts (care/access.py).
        context["alerts"] = list(
            visible_alerts(user).filter(client=client, acknowledged_at__isnull=True)
        )
        context["followups"] = list(
            client.measure_requests.filter(timepoint__startswith="followup_")
            .select_related("instrument", "episode")
            .order_by("opens_at", "instrument__code")
        )
        context["attendance_form"] = AttendanceForm()
        context["encryption_ready"] = crypto.available()
        # Messages follow the care relationship now, not the record's history: a former
        # therapist still reads the record but has no thread (messaging answers 404).
        context["in_care"] = current_care_clients(user).filter(pk=client.pk).exists()
    trail.record(
        trail.context(request),
        Action.VIEW,
        client,
        client_id=client.pk,
        detail={"view": "client_page" if clinical else "client_admin_page"},
    )
    return render(request, "care/client_detail.html", context)


# --- episodes ------------------------------------------------------------------------------


def _form_page(
    request: HttpRequest,
    form: Any,
    template: str,
    context: dict[str, Any],
    apply: Callable[[dict[str, Any]], str],
    done: str,
) -> HttpResponse:
    """GET shows the form. A valid POST runs ``apply`` (which calls an action and returns
    the message to show) and redirects to ``done``; invalid input, or an action that
    refuses, re-renders the form with the reason and a 400, having changed nothing."""
    context = {**context, "form": form}
    if request.method != "POST":
        return render(request, template, context)
    if form.is_valid():
        try:
            message = apply(form.cleaned_data)
        except actions.CareActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, message)
            return redirect(done)
    return render(request, template, context, status=400)


@role_required(*THERAPIST)
def episode_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _client(user, pk)

    def apply(data: dict[str, Any]) -> str:
        actions.open_episode(trail.context(request), client=client, therapist=user, **data)
        return "Episode opened."

    return _form_page(
        request,
        EpisodeForm(request.POST or None),
        "care/episode_form.html",
        {"client": client},
        apply,
        reverse("care:client", args=[client.pk]),
    )


@role_required(*THERAPIST)
@require_POST
def episode_status(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)
    try:
        actions.set_episode_status(trail.context(request), episode, request.POST.get("status", ""))
    except actions.CareActionError as exc:
        return _fail(request, exc, reverse("care:client", args=[episode.client_id]))
    messages.success(request, f"The episode is now {episode.get_status_display().lower()}.")
    return redirect("care:client", episode.client_id)


@role_required(*THERAPIST)
def episode_end(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)

    def apply(data: dict[str, Any]) -> str:
        actions.end_episode(
            trail.context(request), episode, reason=data["reason"], end_date=data["end_date"]
        )
        return "The episode has ended. Follow-up questionnaires are scheduled."

    return _form_page(
        request,
        EndEpisodeForm(request.POST or None),
        "care/episode_end.html",
        {"episode": episode},
        apply,
        reverse("care:client", args=[episode.client_id]),
    )


@role_required(*THERAPIST)
def episode_frequency(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)
    form = FrequencyForm(
        request.POST or None, initial={"sessions_per_week": str(episode.sessions_per_week)}
    )

    def apply(data: dict[str, Any]) -> str:
        actions.change_frequency(trail.context(request), episode, **data)
        return "Planned frequency changed."

    return _form_page(
        request,
        form,
        "care/frequency_form.html",
        {"episode": episode},
        apply,
        reverse("care:client", args=[episode.client_id]),
    )


# --- sessions ------------------------------------------------------------------------------


@role_required(*THERAPIST)
def series_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)

    def apply(data: dict[str, Any]) -> str:
        series = actions.create_series(trail.context(request), episode, **data)
        return f"Series scheduled: {series.appointments.count()} sessions in the next twelve weeks."

    room = VideoRoom.objects.filter(therapist=user).first()
    return _form_page(
        request,
        SeriesForm(request.POST or None, initial={"video_link": room.url if room else ""}),
        "care/series_form.html",
        {"episode": episode},
        apply,
        reverse("care:client", args=[episode.client_id]),
    )


@role_required(*THERAPIST)
def series_change(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    series = get_object_or_404(
        SessionSeries.objects.select_related("episode__client"),
        pk=pk,
        episode__client__in=clinical_clients(user),
    )
    initial = {
        "weekdays": series.weekdays,
        "every_weeks": series.every_weeks,
        "start_time": series.start_time,
        "duration_minutes": series.duration_minutes,
        "starts_on": timezone.localdate() + datetime.timedelta(days=1),
        "video_link": series.video_link,
    }
    form = SeriesForm(request.POST or None, initial=initial)
    form.fields["starts_on"].label = "From"

    def apply(data: dict[str, Any]) -> str:
        data = dict(data)
        actions.change_series_from(
            trail.context(request), series, from_date=data.pop("starts_on"), **data
        )
        return "The series changes from that date; earlier sessions are unchanged."

    return _form_page(
        request,
        form,
        "care/series_form.html",
        {"episode": series.episode, "series": series},
        apply,
        reverse("care:client", args=[series.episode.client_id]),
    )


@role_required(*THERAPIST)
def break_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)

    def apply(data: dict[str, Any]) -> str:
        actions.add_break(trail.context(request), episode, **data)
        return "Break added; sessions inside it are cancelled."

    return _form_page(
        request,
        BreakForm(request.POST or None),
        "care/break_form.html",
        {"episode": episode},
        apply,
        reverse("care:client", args=[episode.client_id]),
    )


@role_required(*THERAPIST)
@require_POST
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    appointment = _appointment(user, pk)
    back = requested_next(request) or reverse("care:client", args=[appointment.episode.client_id])
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        return _fail(request, ValueError("Choose what happened to the session."), back)
    try:
        actions.record_attendance(
            trail.context(request),
            appointment,
            form.cleaned_data["attendance"],
            reason=form.cleaned_data["reason"],
        )
    except actions.CareActionError as exc:
        return _fail(request, exc, back)
    messages.success(request, "Attendance recorded.")
    return redirect(back)


@role_required(*THERAPIST)
@require_POST
def session_video(request: HttpRequest, pk: int) -> HttpResponse:
    """Give one session its own video link, or clear it (back to the series' link)."""
    user = signed_in_user(request)
    appointment = _appointment(user, pk)
    back = requested_next(request) or reverse("care:client", args=[appointment.episode.client_id])
    form = VideoLinkForm(request.POST)
    if not form.is_valid():
        return _fail(request, ValueError("A video link may be at most 500 characters long."), back)
    try:
        actions.set_video_link(trail.context(request), appointment, form.cleaned_data["video_link"])
    except actions.CareActionError as exc:
        return _fail(request, exc, back)
    messages.success(request, "Video link saved.")
    return redirect(back)


# --- progress notes ------------------------------------------------------------------------


def _note_fields(form: ProgressNoteForm) -> dict[str, Any]:
    return {k: form.cleaned_data[k] for k in form.Meta.fields}


@role_required(*THERAPIST)
def progress_note_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    episode = _episode(user, pk)
    appointment = None
    if request.GET.get("appointment") or request.POST.get("appointment"):
        appointment = _appointment(
            user, int(request.GET.get("appointment") or request.POST["appointment"])
        )
        if appointment.episode_id != episode.pk:
            raise Http404("No such session")
        existing = ProgressNote.objects.filter(appointment=appointment).first()
        if existing is not None:
            return redirect("care:progress_note", existing.pk)
    initial: dict[str, Any] = {"session_date": timezone.localdate()}
    if appointment is not None:
        initial = {
            "session_date": timezone.localtime(appointment.starts_at).date(),
            "attendance": appointment.attendance
            if appointment.attendance != "scheduled"
            else "attended",
            "duration_minutes": appointment.duration_minutes,
            "place": Place.TELEHEALTH if appointment.join_link else Place.IN_PERSON,
        }
    form = ProgressNoteForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            note = actions.save_progress_note(
                trail.context(request),
                episode=episode,
                fields=_note_fields(form),
                appointment=appointment,
            )
            if request.headers.get("X-Autosave"):
                return JsonResponse(
                    _autosave_body(note.pk, "care:progress_note", "care:progress_note_save")
                )
            messages.success(request, "Draft saved.")
            return redirect("care:progress_note", note.pk)
        if request.headers.get("X-Autosave"):
            return JsonResponse({"errors": form.errors}, status=400)
        return render(
            request,
            "care/progress_note.html",
            _note_context(form, episode, None, appointment),
            status=400,
        )
    return render(
        request, "care/progress_note.html", _note_context(form, episode, None, appointment)
    )


def _autosave_body(pk: int, edit_name: str, save_name: str) -> dict[str, Any]:
    return {
        "id": pk,
        "edit_url": reverse(edit_name, args=[pk]),
        "save_url": reverse(save_name, args=[pk]),
        "saved_at": dates.format_time(timezone.now(), seconds=True),
    }


def _note_context(
    form: ProgressNoteForm,
    episode: Episode,
    note: ProgressNote | None,
    appointment: Appointment | None,
) -> dict[str, Any]:
    day = form.initial.get("session_date") if note is None else note.session_date
    measures: list[Any] = []
    if day:
        measures = list(
            episode.administrations.filter(completed_at__date__lte=day)
            .select_related("instrument")
            .order_by("-completed_at")[:2]
        )
    return {
        "form": form,
        "episode": episode,
        "note": note,
        "appointment": appointment,
        "measures": measures,
        "addendum_form": AddendumForm(),
    }


@role_required(*THERAPIST)
def progress_note(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    note = _progress_note(user, pk)
    form = ProgressNoteForm(instance=ProgressNote.objects.get(pk=note.pk))
    trail.record(trail.context(request), Action.VIEW, note, client_id=note.episode.client_id)
    return render(
        request,
        "care/progress_note.html",
        _note_context(form, note.episode, note, note.appointment),
    )


@role_required(*THERAPIST)
@require_POST
def progress_note_save(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    note = _progress_note(user, pk)
    form = ProgressNoteForm(request.POST, instance=ProgressNote.objects.get(pk=note.pk))
    autosave = bool(request.headers.get("X-Autosave"))
    if not form.is_valid():
        if autosave:
            return JsonResponse({"errors": form.errors}, status=400)
        return render(
            request,
            "care/progress_note.html",
            _note_context(form, note.episode, note, note.appointment),
            status=400,
        )
    try:
        actions.save_progress_note(
            trail.context(request), episode=note.episode, fields=_note_fields(form), note=note
        )
    except actions.CareActionError as exc:
        if autosave:
            return JsonResponse({"error": str(exc)}, status=409)
        return _fail(request, exc, reverse("care:progress_note", args=[note.pk]))
    if autosave:
        return JsonResponse(
            _autosave_body(note.pk, "care:progress_note", "care:progress_note_save")
        )
    messages.success(request, "Draft saved.")
    return redirect("care:progress_note", note.pk)


@role_required(*THERAPIST)
@require_http_methods(["GET", "POST"])
def progress_note_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation and says that signing is final (a page, not a script
    dialog: the Content-Security-Policy allows no inline script, and the step works without
    JavaScript); POST signs."""
    user = signed_in_user(request)
    note = _progress_note(user, pk)
    if request.method == "GET":
        if note.is_signed:
            return redirect("care:progress_note", note.pk)
        trail.record(
            trail.context(request),
            Action.VIEW,
            note,
            client_id=note.episode.client_id,
            detail={"view": "sign_confirm"},
        )
        return render(request, "care/progress_note_sign.html", {"note": note})
    try:
        actions.sign_progress_note(trail.context(request), note)
    except actions.CareActionError as exc:
        return _fail(request, exc, reverse("care:progress_note", args=[note.pk]))
    messages.success(request, "Signed. The note is now locked; changes are added as addenda.")
    return redirect("care:progress_note", note.pk)


@role_required(*THERAPIST)
@require_POST
def progress_note_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    note = _progress_note(user, pk)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        return _fail(
            request,
            ValueError("The addendum is empty."),
            reverse("care:progress_note", args=[note.pk]),
        )
    try:
        actions.add_addendum(trail.context(request), note, form.cleaned_data["text"])
    except actions.CareActionError as exc:
        return _fail(request, exc, reverse("care:progress_note", args=[note.pk]))
    messages.success(request, "Addendum added.")
    return redirect("care:progress_note", note.pk)


# --- process notes -------------------------------------------------------------------------


# --- today ---------------------------------------------------------------------------------


@role_required(*THERAPIST)
def today(request: HttpRequest) -> HttpResponse:
    """A day (``?day=YYYY-MM-DD``, today by default) or its week (``&view=week``): the
    sessions with a snapshot of each client, notes still to write or sign, open alerts and
    questionnaires returned since each client's last session."""
    user = signed_in_user(request)
    now = timezone.now()
    this_day = timezone.localdate()
    day = daily.parse_day(request.GET.get("day"), this_day)
    if day is None:
        return render(
            request,
            "care/today.html",
            {"error": "That is not a date. Use the form YYYY-MM-DD, e.g. 2026-12-07."},
            status=400,
        )
    week_view = request.GET.get("view") == "week"
    week = daily.week_of(day)
    first, last = (week[0], week[-1]) if week_view else (day, day)
    appointments = list(daily.sessions(user, first, last))
    snaps = daily.snapshots(user, appointments, day)
    # Other domains' reminders about a client (unsigned forms, …), through care.hooks.
    flags = hooks.flags({a.episode.client_id for a in appointments})
    rows: list[dict[str, Any]] = [
        {
            "appointment": a,
            "client": a.episode.client,
            "snap": snaps[a.episode_id],
            "weeks": a.episode.weeks_in_treatment(day),
            "notes": flags.get(a.episode.client_id, []),
        }
        for a in appointments
    ]
    by_day: dict[datetime.date, list[dict[str, Any]]] = {}
    for a, row in zip(appointments, rows, strict=True):
        by_day.setdefault(timezone.localdate(a.starts_at), []).append(row)
    # First consultations booked from the directory take up the same hours; the person is
    # not a client yet, so they come from scheduling through care.hooks.
    others = daily.other_appointments(user, first, last)
    others_by_day: dict[datetime.date, list[hooks.AgendaItem]] = {}
    for item in others:
        others_by_day.setdefault(timezone.localdate(item.starts_at), []).append(item)
    days = [{"day": d, "rows": by_day.get(d, []), "others": others_by_day.get(d, [])} for d in week]
    notes = daily.notes_to_do(user, now)
    alerts = list(daily.open_alerts(user)[:50])
    returned = daily.returned_since_last_session(user, now)
    step = datetime.timedelta(days=7 if week_view else 1)
    client_ids = (
        {a.episode.client_id for a in appointments}
        | {n.episode.client_id for n in notes}
        | {a.client_id for a in alerts}
        | {a.client_id for a in returned}
    )
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="care.client",
        detail={"view": "today", "day": day.isoformat(), "clients": sorted(client_ids)},
    )
    for object_type, ids in hooks.audit_detail(others).items():
        trail.record(
            trail.context(request),
            Action.LIST,
            object_type=object_type,
            detail={"view": "today", "day": day.isoformat(), "ids": ids},
        )
    return render(
        request,
        "care/today.html",
        {
            "rows": rows,
            "others": others,
            "days": days,
            "day": day,
            "is_today": day == this_day,
            "this_day": this_day,
            "week_view": week_view,
            "week": week,
            "previous": day - step,
            "next": day + step,
            "notes": notes,
            "alerts": alerts,
            "returned": returned,
            "attendance_form": AttendanceForm(),
        },
    )
