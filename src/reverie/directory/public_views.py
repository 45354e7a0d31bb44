"""The front door: pages anyone may open, without an account.

Nothing here stores or logs what a visitor does, with one exception that the visitor chooses:
sending a consultation request (which also counts, for an hour or so, a keyed digest of the
connection's address, to rate-limit the form). The self-check is worked out in the browser;
without scripts it is worked out here and forgotten as soon as the page is sent. Matching reads
the answers it is sent and keeps nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.care.forms import CONCERNS as PROFILE_CONCERN_CHOICES
from reverie.core.decorators import public_page
from reverie.directory import actions, content, hooks, selfcheck
from reverie.directory.forms import (
    MODALITY_LABELS,
    ConsultationForm,
    DirectoryFilterForm,
    SelfCheckForm,
    answers_from_json,
)
from reverie.directory.matching import (
    Match,
    Query,
    QuerySetting,
    query_from_preferences,
)
from reverie.directory.models import TherapistProfile
from reverie.directory.profiles import (
    Entry,
    build_index,
    directory_entries,
    published_profiles,
    slot_label,
)
from reverie.directory.public import page_context, public_practice, require_public_practice

#: Plain names for the parts of a fit score (see reverie.directory.matching for the points).
SCORE_PARTS = {
    "concerns": "works with concerns you chose",
    "modality": "practises the approach you preferred",
    "time": "has an opening at a time that suits you",
    "days": "has openings on two or more days",
    "availability": "taking new clients with open times",
}


def _render(
    request: HttpRequest,
    template: str,
    practice: Practice | None,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    return render(request, template, {**page_context(practice), **context}, status=status)


# --- psychoeducation -----------------------------------------------------------------------


@public_page
@require_GET
def learn(request: HttpRequest) -> HttpResponse:
    practice = public_practice(request)
    return _render(
        request, "directory/learn_index.html", practice, {"pages": content.all_pages(practice)}
    )


@public_page
@require_GET
def learn_page(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in content.PAGES:
        raise Http404("No such page")
    practice = public_practice(request)
    pages = content.all_pages(practice)
    index = content.PAGES.index(slug)
    return _render(
        request,
        "directory/learn_page.html",
        practice,
        {
            "page": pages[index],
            "previous": pages[index - 1] if index > 0 else None,
            "next": pages[index + 1] if index + 1 < len(pages) else None,
        },
    )


# --- the self-check ----------------------------------------------------------------------------


def _result_context(
    result: selfcheck.SelfCheckResult, answers: dict[str, object]
) -> dict[str, Any]:
    return {
        "result": result,
        "headline": selfcheck.HEADLINES[result.leaning],
        "answers_json": json.dumps(answers, sort_keys=True),
    }


@public_page
@require_http_methods(["GET", "POST"])
def selfcheck_view(request: HttpRequest) -> HttpResponse:
    """GET shows the questions; the browser works the result out. Without scripts the form
    posts here: the answers are evaluated, shown and forgotten — no database write, no log."""
    practice = public_practice(request)
    context: dict[str, Any] = {"client_data": selfcheck.client_data()}
    if request.method == "POST":
        form = SelfCheckForm(request.POST)
        if form.is_valid():
            answers = form.answers()
            try:
                result = selfcheck.evaluate(answers)
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                context.update(_result_context(result, answers))
                return _render(
                    request, "directory/selfcheck.html", practice, {**context, "form": form}
                )
        context["crisis_now"] = request.POST.get("wellbeing") in selfcheck.CRISIS_ANSWERS
        return _render(
            request, "directory/selfcheck.html", practice, {**context, "form": form}, status=400
        )
    return _render(
        request, "directory/selfcheck.html", practice, {**context, "form": SelfCheckForm()}
    )


# --- the directory ---------------------------------------------------------------------------


def _query_from_form(data: dict[str, Any]) -> Query:
    setting: QuerySetting = data.get("setting") or "any"
    return Query(
        language=data.get("language") or None,
        max_budget=data.get("budget"),
        sliding_scale=bool(data.get("sliding_scale")),
        insurance=data.get("insurance") or None,
        setting=setting,
        location=(data.get("location") or None) if setting != "telehealth" else None,
        modalities=frozenset(data.get("modalities") or ()),
        require_openings=not data.get("include_full"),
        concerns=frozenset(data.get("concerns") or ()),
        modality_leaning=data.get("leaning") or None,
        time_windows=frozenset(data.get("times") or ()),
        weekdays=frozenset(int(d) for d in data.get("days") or ()),
        multiple_days=bool(data.get("multiple_days")),
    )


def _initial_from_preferences(prefs: selfcheck.Preferences) -> dict[str, Any]:
    return {
        "concerns": list(prefs.concerns),
        "leaning": prefs.modality_leaning or "",
        "language": prefs.language or "",
        "budget": prefs.budget,
        "sliding_scale": prefs.sliding_scale,
        "insurance": prefs.insurance or "",
        "setting": {"telehealth": "telehealth", "in_person": "in_person"}.get(
            prefs.setting or "", "any"
        ),
        "multiple_days": prefs.frequency == "more_than_weekly",
    }


def _card(entry: Entry, match: Match | None) -> dict[str, Any]:
    model = entry.model
    concern_labels = dict(PROFILE_CONCERN_CHOICES)
    return {
        "entry": entry,
        "model": model,
        "concerns": [concern_labels[c] for c in entry.profile.concerns],
        "modalities": [MODALITY_LABELS.get(m, m) for m in entry.profile.modalities],
        "open_times": [slot_label(s) for s in entry.openings.slots],
        "match": match,
        "breakdown": [(SCORE_PARTS.get(name, name), points) for name, points in match.breakdown]
        if match
        else [],
    }


def _suggestions(entries: list[Entry]) -> dict[str, list[str]]:
    """Values present in the directory, offered as suggestions in the filter form."""

    def distinct(values: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for value in values:
            seen.setdefault(value.casefold(), value)
        return sorted(seen.values(), key=str.casefold)

    return {
        "languages": distinct([x for e in entries for x in e.profile.languages]),
        "plans": distinct([x for e in entries for x in e.profile.insurance]),
        "places": distinct(
            [e.profile.in_person_location or "" for e in entries if e.profile.in_person_location]
        ),
    }


@public_page
@require_http_methods(["GET", "POST"])
def therapists(request: HttpRequest) -> HttpResponse:
    """The directory, ranked for what the person asked for, with the reasons for each match.

    Searches are posted rather than put in the address, so that concerns and budgets do not
    end up in browser history or server logs. Nothing about a search is stored.
    """
    practice = require_public_practice(request)
    entries = directory_entries(practice)
    by_id = {entry.profile.id: entry for entry in entries}
    index = build_index(entries)
    status = 200
    answers: dict[str, object] | None = None
    query = Query()
    error = ""
    intent = request.POST.get("intent", "") if request.method == "POST" else ""
    try:
        answers = answers_from_json(request.POST.get("selfcheck")) if intent else None
    except ValueError as exc:
        error, status = str(exc), 400
    if intent == "selfcheck" and answers is not None:
        prefs = selfcheck.evaluate(answers).preferences
        form = DirectoryFilterForm(initial=_initial_from_preferences(prefs))
        query = query_from_preferences(prefs)
    elif intent == "filter":
        form = DirectoryFilterForm(request.POST)
        if form.is_valid():
            try:
                query = _query_from_form(form.cleaned_data)
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 400
        else:
            status = 400
    else:
        form = DirectoryFilterForm()
    matches = index.rank(query, limit=max(len(index), 1)) if len(index) else []
    shown = {m.profile_id for m in matches}
    cards = [_card(by_id[m.profile_id], m) for m in matches]
    others = [e for e in entries if e.profile.id not in shown and not e.available]
    steps = index.explain_filters(query) if not matches and len(index) else []
    return _render(
        request,
        "directory/therapists.html",
        practice,
        {
            "form": form,
            "cards": cards,
            "others": others if query.require_openings else [],
            "steps": steps,
            "error": error,
            "searched": bool(intent),
            "answers_json": json.dumps(answers, sort_keys=True) if answers else "",
            "suggestions": _suggestions(entries),
            "total": len(entries),
        },
        status=status,
    )


def _public_entry(request: HttpRequest, pk: int) -> tuple[Practice, Entry]:
    practice = require_public_practice(request)
    found = directory_entries(practice, pk=pk)
    if not found:
        raise Http404("No such therapist")
    return practice, found[0]


@public_page
@require_GET
def therapist(request: HttpRequest, pk: int) -> HttpResponse:
    practice, entry = _public_entry(request, pk)
    first_free = [
        (slot_label(slot), when)
        for slot, when in zip(entry.openings.slots, entry.openings.first_free, strict=True)
    ]
    return _render(
        request,
        "directory/therapist.html",
        practice,
        {
            "card": _card(entry, None),
            "first_free": first_free,
            "time_zone": practice.time_zone or "UTC",
            "panels": hooks.profile_panels(request, practice, entry),
        },
    )


@public_page
@require_GET
def therapist_photo(request: HttpRequest, pk: int) -> HttpResponse:
    practice = require_public_practice(request)
    model = get_object_or_404(published_profiles(practice).defer(None).exclude(photo=None), pk=pk)
    if not model.photo:
        raise Http404("No photo")
    response = HttpResponse(bytes(model.photo), content_type="image/jpeg")
    # The address carries the photo's version, so it may be cached for a long time.
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- consultation requests -------------------------------------------------------------------


def _bookable_therapists(practice: Practice) -> QuerySet[User]:
    profiles = TherapistProfile.objects.filter(published=True)
    return User.objects.filter(
        practice=practice, role=Role.THERAPIST, is_active=True, profile__in=profiles
    ).order_by("full_name", "email")


def _selfcheck_preview(raw: str | None) -> dict[str, Any] | None:
    try:
        answers = answers_from_json(raw)
    except ValueError:
        return None
    if answers is None:
        return None
    result = selfcheck.evaluate(answers)
    return {
        "headline": selfcheck.HEADLINES[result.leaning],
        "count": len(answers),
        "wellbeing": "wellbeing" in answers,
    }


def _consult_page(
    request: HttpRequest,
    practice: Practice,
    form: ConsultationForm,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    raw = form.data.get("selfcheck") if form.is_bound else form.initial.get("selfcheck")
    return _render(
        request,
        "directory/consult.html",
        practice,
        {"form": form, "preview": _selfcheck_preview(raw), **extra},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def consult(request: HttpRequest) -> HttpResponse:
    """The consultation request form. A POST with ``intent=start`` only fills the form in
    (from the self-check or a therapist's card); anything else is a submission."""
    practice = require_public_practice(request)
    therapists_qs = _bookable_therapists(practice)
    source = request.POST if request.method == "POST" else request.GET
    chosen = [pk for pk in source.getlist("therapist") if pk.isdigit()]
    initial_therapists = list(therapists_qs.filter(pk__in=chosen))
    if request.method == "GET" or request.POST.get("intent") == "start":
        raw = request.POST.get("selfcheck", "") if request.method == "POST" else ""
        status = 200
        if raw and _selfcheck_preview(raw) is None:
            raw, status = "", 400
        form = ConsultationForm(
            initial={"preferred_therapists": initial_therapists, "selfcheck": raw},
            therapists=therapists_qs,
        )
        if status == 400:
            form.add_error(
                None, "Your self-check answers could not be read; you can still write to us."
            )
        return _consult_page(request, practice, form, status)

    digest = actions.ip_digest(trail.client_ip(request))
    if actions.rate_limited(digest):
        form = ConsultationForm(request.POST, therapists=therapists_qs)
        return _consult_page(request, practice, form, 429, rate_limited=True)
    form = ConsultationForm(request.POST, therapists=therapists_qs)
    if form.is_spam:
        # Answer as if it worked, so that the software learns nothing; store nothing.
        actions.note_attempt(digest)
        return redirect("directory:consult_sent")
    if not form.is_valid():
        return _consult_page(request, practice, form, 400)
    data = form.cleaned_data
    ctx = trail.Context(
        user=request.user if isinstance(request.user, User) else None,
        ip=trail.client_ip(request),
        label="public:consultation form",
        practice=practice,
    )
    actions.note_attempt(digest)
    try:
        actions.submit_consultation(
            ctx,
            practice,
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            contact_by=data["contact_by"],
            therapists=list(data["preferred_therapists"]),
            days=[int(d) for d in data["availability_days"]],
            times=list(data["availability_times"]),
            availability_note=data["availability_note"],
            message=data["message"],
            selfcheck=data["selfcheck_answers"],
        )
    except actions.DirectoryActionError as exc:
        form.add_error(None, str(exc))
        return _consult_page(request, practice, form, 400)
    return redirect("directory:consult_sent")


@require_GET
def consult_sent(request: HttpRequest) -> HttpResponse:
    practice = require_public_practice(request)
    return _render(request, "directory/consult_sent.html", practice, {})
