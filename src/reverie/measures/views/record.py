"""The therapist's measurement record of a client: results, paper entry, the episode's
schedule, and asking for, re-sending or withdrawing a questionnaire."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import clinical_clients
from reverie.care.models import Episode
from reverie.core.decorators import role_required, signed_in_user
from reverie.measures import actions, answers, scheduling
from reverie.measures.forms import MONTH_CHOICES, AskForm, PaperForm
from reverie.measures.models import (
    Administration,
    MeasureRequest,
    Source,
)
from reverie.measures.registry import definition_for, visible_instruments
from reverie.measures.views.answering import (
    problem_list,
    questions,
    request_values,
)
from reverie.measures.views.lookups import (
    clinical_client,
    clinical_episode,
    clinical_request,
)
from reverie.vault.fields import unread

THERAPIST = (Role.THERAPIST,)


@role_required(*THERAPIST)
def client_measures(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = clinical_client(user, pk)
    episodes = list(
        client.episodes.select_related("therapist").defer(*unread(Episode)).order_by("-start_date")
    )
    schedules = {e.pk: scheduling.effective_schedule(e) for e in episodes}
    requests = list(
        MeasureRequest.objects.filter(client=client)
        .select_related("instrument", "appointment")
        .order_by("-opens_at")[:40]
    )
    administrations = list(
        Administration.objects.filter(client=client)
        .select_related("instrument", "entered_by")
        .order_by("-completed_at")[:100]
    )
    instruments = list(visible_instruments(client.practice_id))
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="measures.administration",
        client_id=client.pk,
        detail={
            "view": "client_measures",
            "administrations": [a.pk for a in administrations],
            "requests": [r.pk for r in requests],
        },
    )
    ask_form = AskForm(
        instruments=visible_instruments(client.practice_id),
        episodes=client.episodes.exclude(status="ended").defer(*unread(Episode)),
    )
    return render(
        request,
        "measures/client.html",
        {
            "client": client,
            "episode_rows": [(e, schedules[e.pk]) for e in episodes],
            "requests": requests,
            "administrations": administrations,
            "instruments": instruments,
            "ask_form": ask_form,
            "can_ask": any(e.status != "ended" for e in episodes),
            "now": timezone.now(),
        },
    )


@role_required(*THERAPIST)
def administration(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    row = get_object_or_404(
        Administration.objects.select_related(
            "instrument", "client", "episode", "entered_by", "request"
        ).defer(*unread(Episode, "episode")),
        pk=pk,
        client__in=clinical_clients(user),
    )
    definition = definition_for(row.instrument)
    items = []
    critical = set(row.result.get("critical", []))
    for item in definition.items:
        value = row.answers.get(item.id)
        option = item.option_by_value.get(value) if value is not None else None
        items.append(
            {
                "item": item,
                "option": option,
                "weight": item.weights.get(value) if value is not None and item.scored else None,
                "critical": item.id in critical,
            }
        )
    subscales = [
        {"name": s.name, "score": row.result.get("subscales", {}).get(s.id)}
        for s in definition.subscales
    ]
    actions.record_read(trail.context(request), row, client_id=row.client_id, view="detail")
    return render(
        request,
        "measures/administration.html",
        {
            "row": row,
            "definition": definition,
            "items": items,
            "language": definition.translations.get(str(row.result.get("language", ""))),
            "subscales": subscales,
            "caseness": (
                definition.caseness.is_case(row.total) if definition.caseness is not None else None
            ),
        },
    )


@role_required(*THERAPIST)
def paper(request: HttpRequest, pk: int) -> HttpResponse:
    """Type in a paper form the client filled in; the record says who entered it."""
    user = signed_in_user(request)
    client = clinical_client(user, pk)
    instruments = visible_instruments(client.practice_id)
    code = request.GET.get("instrument") or request.POST.get("instrument") or ""
    instrument = instruments.filter(code=code).first() if code else None
    if instrument is None:
        if code:
            raise Http404("No such instrument")
        return render(
            request,
            "measures/paper_choose.html",
            {"client": client, "instruments": list(instruments)},
        )
    definition = definition_for(instrument)
    episodes = client.episodes.order_by("-start_date")
    if not episodes.exists():
        messages.error(request, "Open an episode for this client before entering questionnaires.")
        return redirect("measures:client", client.pk)
    initial = {
        "episode": actions.find_episode(client, user),
        "completed_on": timezone.localdate(),
        "timepoint": "session",
    }
    form = PaperForm(request.POST or None, initial=initial, episodes=episodes)
    problems: dict[str, str] = {}
    key = request.POST.get("key", "")[:64] or actions.new_key()
    status = 200
    if request.method == "POST":
        given, problems = answers.from_form(definition, request.POST)
        if not problems:
            problems = answers.check(definition, given, complete=True)
        if form.is_valid() and not problems:
            data = form.cleaned_data
            completed = datetime.datetime.combine(
                data["completed_on"], datetime.time(12, 0), tzinfo=timezone.get_current_timezone()
            )
            try:
                submission = actions.submit(
                    trail.context(request),
                    client=client,
                    instrument=instrument,
                    answers=given,
                    source=Source.PAPER,
                    episode=data["episode"],
                    timepoint=data["timepoint"],
                    entered_by=user,
                    completed_at=completed,
                    key=actions.idempotency_key("paper", user.pk, key),
                )
            except actions.AnswerProblems as error:
                problems = error.problems
            except actions.MeasureActionError as error:
                form.add_error(None, str(error))
            else:
                note = (
                    " A crisis item was answered at or above its threshold: an alert was raised."
                    if submission.crisis
                    else ""
                )
                messages.success(request, f"Paper {definition.short_name} saved.{note}")
                return redirect("measures:administration", submission.administration.pk)
        status = 400
    return render(
        request,
        "measures/paper.html",
        {
            "client": client,
            "instrument": instrument,
            "definition": definition,
            "form": form,
            "questions": questions(definition, request_values(definition, request.POST), problems),
            "problems": problem_list(definition, problems),
            "key": key,
        },
        status=status,
    )


@role_required(*THERAPIST)
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Change which questionnaires an episode uses, before sessions and after it ends."""
    user = signed_in_user(request)
    episode = clinical_episode(user, pk)
    instruments = list(visible_instruments(episode.client.practice_id))
    current = {e.instrument.pk: e for e in scheduling.effective_schedule(episode)}
    error = ""
    if request.method == "POST":
        entries = []
        for instrument in instruments:
            before = request.POST.get(f"before-{instrument.code}") == "on"
            months_raw = request.POST.getlist(f"months-{instrument.code}")
            try:
                months = [int(m) for m in months_raw]
            except ValueError:
                error = "Follow-up months must be numbers."
                break
            entries.append((instrument, before, months))
        if not error:
            try:
                actions.set_schedule(trail.context(request), episode, entries)
            except actions.MeasureActionError as exc:
                error = str(exc)
            else:
                messages.success(request, "Questionnaire schedule saved.")
                return redirect("measures:client", episode.client_id)
    else:
        actions.record_read(
            trail.context(request), episode, client_id=episode.client_id, view="schedule"
        )
    rows = []
    for instrument in instruments:
        entry = current.get(instrument.pk)
        chosen: set[int] = set(entry.followup_months) if entry else set()
        if request.method == "POST":
            chosen = {
                int(m) for m in request.POST.getlist(f"months-{instrument.code}") if m.isdigit()
            }
        rows.append(
            {
                "instrument": instrument,
                "before": (
                    request.POST.get(f"before-{instrument.code}") == "on"
                    if request.method == "POST"
                    else bool(entry and entry.before_sessions)
                ),
                "months": [(value, label, int(value) in chosen) for value, label in MONTH_CHOICES],
                "after": definition_for(instrument).timing == "after_session",
            }
        )
    return render(
        request,
        "measures/schedule.html",
        {"episode": episode, "rows": rows, "error": error},
        status=400 if error else 200,
    )


@role_required(*THERAPIST)
@require_POST
def ask(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the client for a questionnaire now (and email a link if they have an address)."""
    user = signed_in_user(request)
    client = clinical_client(user, pk)
    form = AskForm(
        request.POST,
        instruments=visible_instruments(client.practice_id),
        episodes=client.episodes.exclude(status="ended").defer(*unread(Episode)),
    )
    if not form.is_valid():
        messages.error(request, "Choose a questionnaire and an open episode.")
        return redirect("measures:client", client.pk)
    data = form.cleaned_data
    try:
        measure_request = actions.create_request(
            trail.context(request),
            episode=data["episode"],
            instrument=data["instrument"],
            timepoint=data["timepoint"],
            language=data.get("language") or "",
        )
    except actions.MeasureActionError as error:
        messages.error(request, str(error))
        return redirect("measures:client", client.pk)
    sent = " and a link was emailed" if measure_request.link_sent_at else ""
    messages.success(request, f"{data['instrument'].name} was requested{sent}.")
    return redirect("measures:client", client.pk)


@role_required(*THERAPIST)
@require_POST
def send_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    measure_request = clinical_request(user, pk)
    try:
        actions.send_link(trail.context(request), measure_request)
    except actions.MeasureActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "A new link was emailed to the client.")
    return redirect("measures:client", measure_request.client_id)


@role_required(*THERAPIST)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    measure_request = clinical_request(user, pk)
    if actions.cancel_request(trail.context(request), measure_request):
        messages.success(request, "The request was withdrawn.")
    else:
        messages.error(request, "That request is no longer open.")
    return redirect("measures:client", measure_request.client_id)
