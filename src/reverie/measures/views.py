"""Measurement pages: the client's portal and one-time links, the therapist's measurement
record of a client (schedule, requests, paper entry, results), and the instrument library.

Every page that shows clinical data writes its audit entry; every change goes through
:mod:`reverie.measures.actions`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User, hash_token
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import clinical_clients
from reverie.care.models import Client, Episode
from reverie.core.decorators import role_required, signed_in_user
from reverie.lib import dates
from reverie.measures import actions, answers, scheduling
from reverie.measures.definitions import InstrumentDefinition
from reverie.measures.forms import MONTH_CHOICES, AskForm, ImportForm, PaperForm
from reverie.measures.models import (
    Administration,
    Draft,
    MeasureRequest,
    RequestLink,
    Source,
)
from reverie.measures.registry import definition_for, visible_instruments

THERAPIST = (Role.THERAPIST,)


# --- lookups: 404 for anything outside the person's relationship ---------------------------


def _own_client(user: User) -> Client:
    client = Client.objects.filter(user=user).select_related("practice").first()
    if client is None:
        raise Http404("Your account is not linked to a client record")
    return client


def _own_request(user: User, pk: int) -> MeasureRequest:
    try:
        return MeasureRequest.objects.select_related(
            "instrument", "client__practice", "episode"
        ).get(pk=pk, client__user=user)
    except MeasureRequest.DoesNotExist:
        raise Http404("No such questionnaire") from None


def _clinical_client(user: User, pk: int) -> Client:
    try:
        return clinical_clients(user).select_related("practice").get(pk=pk)
    except Client.DoesNotExist:
        raise Http404("No such client") from None


def _clinical_episode(user: User, pk: int) -> Episode:
    try:
        return Episode.objects.select_related("client__practice", "therapist").get(
            pk=pk, client__in=clinical_clients(user)
        )
    except Episode.DoesNotExist:
        raise Http404("No such episode") from None


def _clinical_request(user: User, pk: int) -> MeasureRequest:
    try:
        return MeasureRequest.objects.select_related("client__practice", "instrument").get(
            pk=pk, client__in=clinical_clients(user)
        )
    except MeasureRequest.DoesNotExist:
        raise Http404("No such request") from None


def _link_request(token: str) -> MeasureRequest:
    link = (
        RequestLink.objects.select_related(
            "request__instrument", "request__client__practice", "request__episode"
        )
        .filter(digest=hash_token(token))
        .first()
    )
    if link is None:
        raise Http404("No such link")
    return link.request


def _link_context(request: HttpRequest, measure_request: MeasureRequest) -> trail.Context:
    """Who acts through a one-time link: the link holder, not any signed-in account."""
    return trail.Context(
        user=None,
        ip=trail.client_ip(request),
        label=f"one-time link to request {measure_request.pk}",
        practice=measure_request.client.practice,
    )


# --- rendering questions --------------------------------------------------------------------


def _questions(
    definition: InstrumentDefinition,
    given: Mapping[str, Any],
    problems: Mapping[str, str],
) -> list[dict[str, Any]]:
    critical = {c.item_id: c for c in definition.critical_items}
    out = []
    for item in definition.items:
        value = given.get(item.id)
        rule = critical.get(item.id)
        out.append(
            {
                "item": item,
                "field": answers.FIELD_PREFIX + item.id,
                "value": str(value) if value is not None else "",
                "error": problems.get(item.id, ""),
                "required": item.scored and definition.missing.max_missing == 0,
                "critical": rule,
            }
        )
    return out


def _problem_list(definition: InstrumentDefinition, problems: Mapping[str, str]) -> list[dict]:
    fields = {item.id for item in definition.items}
    return [
        {"anchor": f"q-{key}" if key in fields else "", "message": message}
        for key, message in problems.items()
    ]


def _form_page(
    request: HttpRequest,
    measure_request: MeasureRequest,
    *,
    post_url: str,
    save_url: str,
    given: Mapping[str, Any] | None = None,
    problems: Mapping[str, str] | None = None,
    key: str | None = None,
    status: int = 200,
) -> HttpResponse:
    definition = definition_for(measure_request.instrument)
    draft = Draft.objects.filter(request=measure_request).first()
    if given is None:
        given = draft.answers if draft is not None else {}
    problems = problems or {}
    context = {
        "measure_request": measure_request,
        "definition": definition,
        "questions": _questions(definition, given, problems),
        "problems": _problem_list(definition, problems),
        "key": key or (draft.key if draft is not None else actions.draft_key(measure_request)),
        "post_url": post_url,
        "save_url": save_url,
        "practice": measure_request.client.practice,
        "show_crisis": any(
            c.item_id in given
            and given[c.item_id] is not None
            and str(given[c.item_id]).lstrip("-").isdigit()
            and c.is_hit(int(given[c.item_id]))
            for c in definition.critical_items
        ),
        "closes": timezone.localtime(
            measure_request.expires_at, measure_request.client.practice.zone
        ),
        "saved_at": draft.updated_at if draft is not None else None,
    }
    return render(request, "measures/answer.html", context, status=status)


def _closed_page(request: HttpRequest, measure_request: MeasureRequest) -> HttpResponse:
    administration = Administration.objects.filter(request=measure_request).first()
    if administration is not None:
        return _done_page(request, measure_request, administration)
    return render(
        request,
        "measures/closed.html",
        {
            "measure_request": measure_request,
            "practice": measure_request.client.practice,
            "not_yet": measure_request.opens_at > timezone.now(),
        },
        status=410,
    )


def _done_page(
    request: HttpRequest, measure_request: MeasureRequest, administration: Administration
) -> HttpResponse:
    return render(
        request,
        "measures/done.html",
        {
            "measure_request": measure_request,
            "administration": administration,
            "practice": measure_request.client.practice,
            "signed_in": request.user.is_authenticated,
        },
    )


def _answer(
    request: HttpRequest,
    ctx: trail.Context,
    measure_request: MeasureRequest,
    *,
    source: str,
    post_url: str,
    save_url: str,
    done_url: str,
    closed_page: Callable[[HttpRequest, MeasureRequest], HttpResponse] = _closed_page,
    submitted: Callable[[], None] | None = None,
) -> HttpResponse:
    """The questionnaire page, shared by the portal and one-time links.

    GET shows the questions with any saved answers. POST ``action=save`` keeps the answers
    as a draft; ``action=submit`` stores the administration, or shows every problem and
    stores nothing. ``closed_page`` answers once the request can no longer be answered;
    ``submitted`` runs after a successful submission, before the redirect.
    """
    if not measure_request.is_answerable():
        if request.method == "GET":
            actions.record_read(
                ctx, measure_request, client_id=measure_request.client_id, view="closed"
            )
        return closed_page(request, measure_request)
    definition = definition_for(measure_request.instrument)
    if request.method != "POST":
        actions.record_read(
            ctx, measure_request, client_id=measure_request.client_id, view="questionnaire"
        )
        return _form_page(request, measure_request, post_url=post_url, save_url=save_url)
    given, problems = answers.from_form(definition, request.POST)
    key = request.POST.get("key", "")[:64]
    if problems:
        return _form_page(
            request,
            measure_request,
            post_url=post_url,
            save_url=save_url,
            given=request_values(definition, request.POST),
            problems=problems,
            key=key,
            status=400,
        )
    if request.POST.get("action") == "save":
        try:
            actions.save_draft(ctx, measure_request, given, key=key)
        except actions.AnswerProblems as error:
            problems = error.problems
        except actions.MeasureActionError:
            return closed_page(request, measure_request)
        else:
            messages.success(request, "Your answers are saved. You can come back and finish later.")
            return redirect(post_url)
        return _form_page(
            request,
            measure_request,
            post_url=post_url,
            save_url=save_url,
            given=given,
            problems=problems,
            key=key,
            status=400,
        )
    if not key:
        key = actions.draft_key(measure_request)
    try:
        actions.submit(
            ctx,
            client=measure_request.client,
            instrument=measure_request.instrument,
            answers=given,
            source=source,
            request=measure_request,
            key=actions.idempotency_key("request", measure_request.pk, key),
        )
    except actions.AnswerProblems as error:
        return _form_page(
            request,
            measure_request,
            post_url=post_url,
            save_url=save_url,
            given=given,
            problems=error.problems,
            key=key,
            status=400,
        )
    except actions.MeasureActionError:
        return closed_page(request, measure_request)
    if submitted is not None:
        submitted()
    return redirect(done_url)


def request_values(definition: InstrumentDefinition, data: Mapping[str, Any]) -> dict[str, str]:
    """What the person sent, as text, so a refused form shows their answers again."""
    return {
        item.id: str(data.get(answers.FIELD_PREFIX + item.id, ""))
        for item in definition.items
        if data.get(answers.FIELD_PREFIX + item.id)
    }


def _autosave(
    request: HttpRequest, ctx: trail.Context, measure_request: MeasureRequest
) -> JsonResponse:
    """Background save from the page script: JSON in reply, never a redirect."""
    definition = definition_for(measure_request.instrument)
    given, problems = answers.from_form(definition, request.POST)
    if problems:
        return JsonResponse({"errors": problems}, status=400)
    try:
        draft, alert = actions.save_draft(
            ctx, measure_request, given, key=request.POST.get("key", "")[:64]
        )
    except actions.AnswerProblems as error:
        return JsonResponse({"errors": error.problems}, status=400)
    except actions.MeasureActionError as error:
        return JsonResponse({"error": str(error)}, status=410)
    saved_at = dates.format_time(draft.updated_at, zone=measure_request.client.practice.zone)
    return JsonResponse({"saved_at": saved_at, "crisis": alert is not None, "key": draft.key})


# --- the client's portal --------------------------------------------------------------------


@role_required(Role.CLIENT)
def portal(request: HttpRequest) -> HttpResponse:
    """The client's questionnaires: what is waiting, and what they have completed."""
    user = signed_in_user(request)
    client = Client.objects.filter(user=user).first()
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
    measure_request = _own_request(signed_in_user(request), pk)
    return _answer(
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
    measure_request = _own_request(signed_in_user(request), pk)
    return _autosave(request, trail.context(request), measure_request)


@role_required(Role.CLIENT)
def done(request: HttpRequest, pk: int) -> HttpResponse:
    measure_request = _own_request(signed_in_user(request), pk)
    administration = Administration.objects.filter(request=measure_request).first()
    if administration is None:
        return redirect("measures:answer", pk)
    actions.record_read(
        trail.context(request), administration, client_id=administration.client_id, view="done"
    )
    return _done_page(request, measure_request, administration)


# --- one-time links -------------------------------------------------------------------------


#: Session key: the request this browser has just completed through its link.
_LINK_DONE = "measures.link_done"


def _used_link_page(request: HttpRequest, measure_request: MeasureRequest) -> HttpResponse:
    """What a link shows once it no longer opens a questionnaire (completed, withdrawn,
    closed). Whoever holds the link may not be the client — anyone who can read the
    client's inbox can open it — so the page is the same in every case: no answers, no
    crisis state, no instrument, not even which of those happened. The practice's crisis
    resources are on it for everyone.

    The one exception is the browser that has just submitted through this link: it is
    shown the thank-you page (with the crisis card when an answer called for it) once,
    right after the redirect that follows the submission."""
    if request.session.get(_LINK_DONE) == measure_request.pk:
        del request.session[_LINK_DONE]
        administration = Administration.objects.filter(request=measure_request).first()
        if administration is not None:
            return _done_page(request, measure_request, administration)
    return render(
        request,
        "measures/link_closed.html",
        {"practice": measure_request.client.practice},
        status=410,
    )


def link(request: HttpRequest, token: str) -> HttpResponse:
    """A questionnaire opened from an emailed link: no account needed; the token is the key,
    and it stops working when the questionnaire is completed or closes."""
    measure_request = _link_request(token)
    ctx = _link_context(request, measure_request)
    url = reverse("measures:link", args=[token])
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405)

    def remember_submission() -> None:
        request.session[_LINK_DONE] = measure_request.pk

    return _answer(
        request,
        ctx,
        measure_request,
        source=Source.LINK,
        post_url=url,
        save_url=reverse("measures:link_save", args=[token]),
        done_url=url,
        closed_page=_used_link_page,
        submitted=remember_submission,
    )


@require_POST
def link_save(request: HttpRequest, token: str) -> JsonResponse:
    measure_request = _link_request(token)
    return _autosave(request, _link_context(request, measure_request), measure_request)


# --- the therapist's measurement record of a client ----------------------------------------


@role_required(*THERAPIST)
def client_measures(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = _clinical_client(user, pk)
    episodes = list(client.episodes.select_related("therapist").order_by("-start_date"))
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
        episodes=client.episodes.exclude(status="ended"),
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
    try:
        row = Administration.objects.select_related(
            "instrument", "client", "episode", "entered_by", "request"
        ).get(pk=pk, client__in=clinical_clients(user))
    except Administration.DoesNotExist:
        raise Http404("No such questionnaire") from None
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
    client = _clinical_client(user, pk)
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
            "questions": _questions(definition, request_values(definition, request.POST), problems),
            "problems": _problem_list(definition, problems),
            "key": key,
        },
        status=status,
    )


@role_required(*THERAPIST)
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Change which questionnaires an episode uses, before sessions and after it ends."""
    user = signed_in_user(request)
    episode = _clinical_episode(user, pk)
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
    client = _clinical_client(user, pk)
    form = AskForm(
        request.POST,
        instruments=visible_instruments(client.practice_id),
        episodes=client.episodes.exclude(status="ended"),
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
    measure_request = _clinical_request(user, pk)
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
    measure_request = _clinical_request(user, pk)
    if actions.cancel_request(trail.context(request), measure_request):
        messages.success(request, "The request was withdrawn.")
    else:
        messages.error(request, "That request is no longer open.")
    return redirect("measures:client", measure_request.client_id)


# --- the instrument library -----------------------------------------------------------------


@role_required(Role.THERAPIST, Role.ADMIN)
def instruments(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    rows = [
        (instrument, definition_for(instrument))
        for instrument in visible_instruments(user.practice_id).select_related("practice")
    ]
    return render(request, "measures/instruments.html", {"rows": rows})


@role_required(Role.THERAPIST, Role.ADMIN)
def instrument(request: HttpRequest, code: str) -> HttpResponse:
    user = signed_in_user(request)
    row = visible_instruments(user.practice_id).filter(code=code).first()
    if row is None:
        raise Http404("No such instrument")
    return render(
        request,
        "measures/instrument.html",
        {"instrument": row, "definition": definition_for(row)},
    )


@role_required(Role.ADMIN)
def import_instrument(request: HttpRequest) -> HttpResponse:
    """Add a FHIR Questionnaire (SDC style, with answer weights) as a practice instrument."""
    user = signed_in_user(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                row = actions.import_instrument(
                    trail.context(request),
                    practice=user.practice,
                    questionnaire=data["questionnaire"],
                    licence_holder=data["licence_holder"],
                    licence_terms=data["licence_terms"],
                    permits_electronic_use=data["permits_electronic_use"],
                )
            except actions.MeasureActionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"{row.name} was imported.")
                return redirect("measures:instrument", row.code)
        return render(request, "measures/import.html", {"form": form}, status=400)
    return render(request, "measures/import.html", {"form": form})
