"""Answering a questionnaire: the page shared by the client's portal and one-time links
(questions, drafts, submission, the closed and done pages) and the background autosave."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.lib import dates
from reverie.measures import actions, answers
from reverie.measures.definitions import InstrumentDefinition
from reverie.measures.models import (
    Administration,
    Draft,
    MeasureRequest,
)
from reverie.measures.registry import definition_for

THERAPIST = (Role.THERAPIST,)
#: Names of original languages for the chooser (translations carry their own label).
LANGUAGE_NAMES = {"en": "English"}


def chosen_language(
    request: HttpRequest, measure_request: MeasureRequest, definition: InstrumentDefinition
) -> str:
    """The language the form is shown in: the client's pick on the page (``lang``), else
    the therapist's choice on the request, else the instrument's own. Unknown tags are
    ignored rather than refused, so an old link never breaks."""
    candidates = (
        request.POST.get("lang") if request.method == "POST" else None,
        request.GET.get("lang"),
        measure_request.language,
    )
    for candidate in candidates:
        if candidate and candidate in definition.languages:
            return candidate
    return definition.language


def language_choices(definition: InstrumentDefinition) -> list[tuple[str, str]]:
    return [
        (definition.language, LANGUAGE_NAMES.get(definition.language, definition.language)),
        *((tag, t.label) for tag, t in definition.translations.items()),
    ]


def questions(
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


def problem_list(
    definition: InstrumentDefinition, problems: Mapping[str, str]
) -> list[dict[str, Any]]:
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
    original = definition_for(measure_request.instrument)
    language = chosen_language(request, measure_request, original)
    definition = original.localised(language)
    draft = Draft.objects.filter(request=measure_request).first()
    if given is None:
        given = draft.answers if draft is not None else {}
    problems = problems or {}
    context = {
        "measure_request": measure_request,
        "definition": definition,
        "questions": questions(definition, given, problems),
        "problems": problem_list(definition, problems),
        "key": key or (draft.key if draft is not None else actions.draft_key(measure_request)),
        "post_url": post_url,
        "save_url": save_url,
        "practice": measure_request.client.practice,
        "language": language,
        "languages": language_choices(original) if original.translations else [],
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
        return done_page(request, measure_request, administration)
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


def _refused_page(
    request: HttpRequest, measure_request: MeasureRequest, error: actions.MeasureActionError
) -> HttpResponse:
    """A refusal other than a closed request (an instrument whose totals cannot be stored,
    say), in its own words. The request stays open and nothing was stored, so the page
    neither thanks nor shows the crisis card, whose promise that the therapist will see the
    answer would not hold; it offers the practice's crisis information to anyone, as the
    closed link page does."""
    return render(
        request,
        "measures/refused.html",
        {
            "measure_request": measure_request,
            "practice": measure_request.client.practice,
            "message": str(error),
        },
        status=409,
    )


def done_page(
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


def answer_page(
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
    any other refusal is shown in its own words (:func:`_refused_page`). ``submitted`` runs
    after a successful submission, before the redirect.
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
        except actions.RequestClosed:
            return closed_page(request, measure_request)
        except actions.MeasureActionError as error:
            return _refused_page(request, measure_request, error)
        else:
            messages.success(request, "Your answers are saved. You can come back and finish later.")
            language = chosen_language(request, measure_request, definition)
            if language != definition.language:
                return redirect(f"{post_url}?lang={language}")
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
    language = chosen_language(request, measure_request, definition)
    try:
        actions.submit(
            ctx,
            client=measure_request.client,
            instrument=measure_request.instrument,
            answers=given,
            source=source,
            request=measure_request,
            key=actions.idempotency_key("request", measure_request.pk, key),
            language=language if language != definition.language else None,
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
    except actions.RequestClosed:
        return closed_page(request, measure_request)
    except actions.MeasureActionError as error:
        return _refused_page(request, measure_request, error)
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


def autosave(
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
