"""Recurring themes: start a search, watch its progress, and decide about each theme."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions as care_actions
from reverie.care import crypto
from reverie.care.models import Episode, ProcessNote, ProgressNote
from reverie.core.decorators import role_required, signed_in_user
from reverie.lib import dates
from reverie.process import access, actions, seeded, theme_runs
from reverie.process.embeddings import NLP_INSTALL_COMMAND, nlp_available
from reverie.process.forms import ThemeRunForm
from reverie.process.models import (
    EvidenceKind,
    EvidenceRole,
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    ThemeEvidence,
    ThemeOrigin,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.themes import split_sentences
from reverie.process.views import THERAPIST
from reverie.vault.fields import unread

#: How many months the small timeline of a theme shows at most.
TIMELINE_MONTHS = 36


def month_bars(
    counts: dict[str, int], first: datetime.date, last: datetime.date
) -> list[dict[str, Any]]:
    """Every month from ``first`` to ``last`` (at most the last 36) with its count and a
    0–10 bar height relative to the busiest month."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    months = months[-TIMELINE_MONTHS:]
    peak = max((counts.get(m, 0) for m in months), default=0) or 1
    return [
        {
            "label": dates.format_date(datetime.date(int(m[:4]), int(m[5:]), 1), "mon"),
            "count": counts.get(m, 0),
            "step": round(10 * counts.get(m, 0) / peak),
        }
        for m in months
    ]


#: How each kind of source is counted on the page: (one, several).
KIND_WORDS = {
    "journal": ("journal entry", "journal entries"),
    "episode": ("relationship episode", "relationship episodes"),
    "progress_note": ("progress note", "progress notes"),
    "process_note": ("of your process notes", "of your process notes"),
}


def _theme_row(theme: RecurringTheme) -> dict[str, Any]:
    return {
        "theme": theme,
        "months": month_bars(theme.count_by_month, theme.first_seen, theme.last_seen),
        "kinds": [
            f"{n} {KIND_WORDS[kind][0 if n == 1 else 1]}"
            for kind, n in sorted(theme.kind_counts.items())
            if kind in KIND_WORDS
        ],
    }


def _run_context(run: ThemeRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run": run,
        "status_url": reverse("process:theme_run_status", args=[run.pk]),
        "fallback_name": theme_runs.FALLBACK_NAME,
    }


@role_required(*THERAPIST)
def themes(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    model_available = nlp_available()
    form = ThemeRunForm(model_available=model_available)
    rows = list(
        RecurringTheme.objects.filter(client=client, owner=user)
        .exclude(status=ThemeStatus.MERGED)
        .order_by("-document_count", "first_seen", "pk")
    )
    run = ThemeRun.objects.filter(client=client, requested_by=user).first()
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="process.recurringtheme",
        client_id=client.pk,
        detail={"view": "themes", "themes": [t.pk for t in rows]},
    )
    return render(
        request,
        "process/themes.html",
        {
            "client": client,
            "form": form,
            "model_available": model_available,
            "install_command": NLP_INSTALL_COMMAND,
            "run": _run_context(run),
            "open": [
                _theme_row(t)
                for t in rows
                if t.status != ThemeStatus.DISMISSED and t.origin == ThemeOrigin.FOUND
            ],
            "seeded": [_theme_row(t) for t in rows if t.origin == ThemeOrigin.SEEDED],
            "dismissed": [
                _theme_row(t)
                for t in rows
                if t.status == ThemeStatus.DISMISSED and t.origin == ThemeOrigin.FOUND
            ],
        },
    )


@role_required(*THERAPIST)
@require_POST
def themes_run(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    form = ThemeRunForm(request.POST, model_available=nlp_available())
    if not form.is_valid():
        for error in form.errors.get("embedder", []):
            messages.error(request, str(error))
        return redirect("process:themes", client.pk)
    try:
        actions.queue_theme_run(
            trail.context(request),
            client=client,
            use_fallback=form.cleaned_data["embedder"] == "fallback",
        )
    except actions.ProcessActionError as exc:
        text = str(exc)
        messages.error(request, text[:1].upper() + text[1:] + ".")
    else:
        messages.success(request, "The search has started. This page shows its progress.")
    return redirect("process:themes", client.pk)


@role_required(*THERAPIST)
def theme_run_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The run's progress for the page script: numbers and fixed wording only."""
    run = access.run_for(signed_in_user(request), pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "active": run.is_active,
            "stage": run.stage,
            "done": run.progress_done,
            "total": run.progress_total,
            "percent": run.percent,
            "message": run.message,
        }
    )


@role_required(*THERAPIST)
@require_POST
def theme_run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = access.run_for(signed_in_user(request), pk)
    try:
        actions.cancel_theme_run(trail.context(request), run)
    except actions.ProcessActionError as exc:
        text = str(exc)
        messages.error(request, text[:1].upper() + text[1:] + ".")
    else:
        messages.success(request, "The search is being cancelled.")
    return redirect("process:themes", run.client_id)


def _process_note_sentences(
    ctx: trail.Context, evidence: list[ThemeEvidence], since: datetime.datetime | None
) -> dict[int, str | None]:
    """Cut each process-note sentence from its decrypted note, for the author only.

    ``None`` marks a sentence that cannot be shown as it was found: the note changed
    after the search, or the key to read it is missing.
    """
    out: dict[int, str | None] = {}
    notes: dict[int, str | None] = {}
    for ev in evidence:
        if ev.kind != EvidenceKind.PROCESS_NOTE or ev.process_note is None:
            continue
        note: ProcessNote = ev.process_note
        if note.pk not in notes:
            if since is not None and note.updated_at > since:
                notes[note.pk] = None
            else:
                try:
                    notes[note.pk] = actions.read_process_note(ctx, note)
                except (crypto.EncryptionUnavailable, care_actions.CareActionError):
                    notes[note.pk] = None
        text = notes[note.pk]
        if text is None or not any(
            s.start == ev.start and s.end == ev.end for s in split_sentences(text)
        ):
            out[ev.pk] = None
        else:
            out[ev.pk] = text[ev.start : ev.end]
    return out


@role_required(*THERAPIST)
def theme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One theme with its evidence: the exact sentences and where they come from."""
    user = signed_in_user(request)
    theme = access.theme_for(user, pk)
    ctx = trail.context(request)
    if theme.origin == ThemeOrigin.SEEDED:
        return _seeded_detail(request, theme, ctx)
    evidence = list(
        theme.evidence.select_related(
            "journal_entry", "relationship_episode", "progress_note", "process_note__episode"
        )
        # The sources are joined in for their links and sharing state: the evidence holds
        # its own sentence, so their text is not decrypted (the demo's theme decrypted each
        # whole progress note, about a thousand values, for nothing).
        .defer(
            *unread(JournalEntry, "journal_entry"),
            *unread(RelationshipEpisode, "relationship_episode"),
            *unread(ProgressNote, "progress_note"),
            *unread(Episode, "process_note__episode"),
        )
        .order_by("date", "position")
    )
    since = theme.last_run.started_at if theme.last_run else None
    # Only the theme's owner reaches this page, and the owner's runs include only their
    # own process notes; the author check in read_process_note is the second lock.
    private_text = _process_note_sentences(ctx, evidence, since)
    items = []
    sources: dict[str, list[int]] = {"journal": [], "episode": [], "progress_note": []}
    for ev in evidence:
        item: dict[str, Any] = {"evidence": ev, "sentence": ev.sentence, "hidden": ""}
        if ev.kind == EvidenceKind.JOURNAL:
            if ev.withdrawn or ev.journal_entry is None or not ev.journal_entry.is_shared:
                item["sentence"] = ""
                item["hidden"] = "The client has stopped sharing this entry."
            else:
                item["link"] = reverse("process:shared_entry", args=[ev.journal_entry_id])
                sources["journal"].append(ev.journal_entry_id or 0)
        elif ev.kind == EvidenceKind.EPISODE:
            item["link"] = reverse("process:relationship", args=[ev.relationship_episode_id])
            sources["episode"].append(ev.relationship_episode_id or 0)
        elif ev.kind == EvidenceKind.PROGRESS_NOTE:
            item["link"] = reverse("care:progress_note", args=[ev.progress_note_id])
            sources["progress_note"].append(ev.progress_note_id or 0)
        else:
            text = private_text.get(ev.pk)
            item["private"] = True
            item["link"] = reverse("care:process_note", args=[ev.process_note_id])
            if text is None:
                item["hidden"] = (
                    "This process note was changed after the search, or cannot be decrypted; "
                    "search again to refresh it."
                )
            else:
                item["sentence"] = text
        items.append(item)
    label = theme.label
    if not label:
        shown = [i["sentence"] for i in items if i["sentence"]]
        label = theme_runs.label_from_sentences(shown) or "Theme from your process notes"
    others = (
        RecurringTheme.objects.filter(client=theme.client, owner=user, origin=ThemeOrigin.FOUND)
        .exclude(pk=theme.pk)
        .exclude(status__in=[ThemeStatus.MERGED, ThemeStatus.DISMISSED])
        .defer("terms")  # offered to merge into, by label
    )
    trail.record(
        ctx,
        Action.VIEW,
        theme,
        client_id=theme.client_id,
        detail={k: sorted(set(v)) for k, v in sources.items()},
    )
    return render(
        request,
        "process/theme.html",
        {
            "theme": theme,
            "label": label,
            "client": theme.client,
            "items": items,
            "row": _theme_row(theme),
            "others": [
                {"pk": o.pk, "label": o.label or "Theme from your process notes"} for o in others
            ],
        },
    )


@role_required(*THERAPIST)
@require_POST
def theme_update(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    theme = access.theme_for(user, pk)
    action = request.POST.get("action", "")
    into = None
    if action == "merge":
        target = request.POST.get("into", "")
        if target.isdigit():
            try:
                into = access.theme_for(user, int(target))
            except Http404:  # a bad choice in the form, not a missing page
                into = None
    try:
        actions.update_theme(
            trail.context(request),
            theme,
            action=action,
            label=request.POST.get("label", ""),
            into=into,
        )
    except actions.ProcessActionError as exc:
        text = str(exc)
        messages.error(request, text[:1].upper() + text[1:] + ".")
        return redirect("process:theme", theme.pk)
    done = {
        "accept": "Theme accepted.",
        "dismiss": "Theme dismissed. Later searches will not suggest it again.",
        "restore": "Theme restored to the suggestions.",
        "rename": "Theme renamed.",
        "merge": "Themes merged.",
    }[action]
    messages.success(request, done)
    if action == "merge" and into is not None:
        return redirect("process:theme", into.pk)
    if request.POST.get("back") == "list":
        return redirect("process:themes", theme.client_id)
    return redirect("process:theme", theme.pk)


# --------------------------------------------------------------------- seeded themes


def _source_link(kind: str, document_id: str) -> str:
    pk = int(document_id.partition(":")[2])
    return {
        EvidenceKind.JOURNAL: lambda: reverse("process:shared_entry", args=[pk]),
        EvidenceKind.EPISODE: lambda: reverse("process:relationship", args=[pk]),
        EvidenceKind.PROGRESS_NOTE: lambda: reverse("care:progress_note", args=[pk]),
        EvidenceKind.PROCESS_NOTE: lambda: reverse("care:process_note", args=[pk]),
    }[EvidenceKind(kind)]()


def _sources(document_ids: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for doc in document_ids:
        kind, _, pk = doc.partition(":")
        out.setdefault(kind, []).append(int(pk))
    return {k: sorted(set(v)) for k, v in sorted(out.items())}


@role_required(*THERAPIST)
def theme_seed(request: HttpRequest, pk: int) -> HttpResponse:
    """Name a theme and mark the sentences that show it (GET: pick; POST: create)."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    ctx = trail.context(request)
    documents = seeded.documents_for(ctx, client, user)
    available = seeded.sentences(documents)
    query = " ".join(request.GET.get("q", "").split())[:100]
    errors: list[str] = []
    label = ""
    chosen: list[str] = []
    if request.method == "POST":
        label = request.POST.get("label", "")
        chosen = request.POST.getlist("seed")[: seeded.MAX_SEEDS + 1]
        picks = [available[key] for key in dict.fromkeys(chosen) if key in available]
        if len(picks) != len(set(chosen)):
            errors.append("One of the marked sentences is no longer in the record; mark it again.")
        else:
            try:
                theme = actions.create_seeded_theme(
                    ctx, client=client, label=label, seeds=picks, max_seeds=seeded.MAX_SEEDS
                )
            except actions.ProcessActionError as exc:
                text = str(exc)
                errors.append(text[:1].upper() + text[1:] + ".")
            else:
                messages.success(request, "Theme seeded. Here are the sentences most like it.")
                return redirect("process:theme", theme.pk)
    elif request.method != "GET":
        return HttpResponse(status=405)
    keys = [
        key for key, ev in available.items() if not query or query.lower() in ev.sentence.lower()
    ][:300]
    shown = [{"key": key, "evidence": available[key]} for key in keys]
    trail.record(
        ctx,
        Action.LIST,
        object_type="process.recurringtheme",
        client_id=client.pk,
        detail={
            "view": "theme_seed",
            "sources": _sources([available[key].document_id for key in keys]),
        },
    )
    return render(
        request,
        "process/theme_seed.html",
        {
            "client": client,
            "rows": shown,
            "total": len(available),
            "query": query,
            "label": label,
            "chosen": set(chosen),
            "errors": errors,
            "max_seeds": seeded.MAX_SEEDS,
            "kinds": dict(EvidenceKind.choices),
        },
        status=400 if errors else 200,
    )


def _seeded_detail(request: HttpRequest, theme: RecurringTheme, ctx: trail.Context) -> HttpResponse:
    """A seeded theme: its seeds, what was accepted, and the ranked suggestions."""
    user = signed_in_user(request)
    documents = seeded.documents_for(ctx, theme.client, user)
    available = seeded.sentences(documents)
    evidence = list(theme.evidence.order_by("position"))
    kept = []
    for ev in evidence:
        if ev.role == EvidenceRole.REJECTED:
            continue
        doc_id = seeded._document_id(ev)
        current = available.get(seeded.sentence_key(doc_id, ev.start, ev.end))
        item: dict[str, Any] = {"evidence": ev, "sentence": "", "hidden": ""}
        if current is not None and not ev.withdrawn:
            item["sentence"] = current.sentence
            item["link"] = _source_link(ev.kind, doc_id)
        else:
            item["hidden"] = (
                "This sentence is no longer in the record as it was marked (the entry was "
                "changed or is no longer shared)."
            )
        kept.append(item)
    matches, fallback, model_name = seeded.rank(theme, documents)
    suggestions = [
        {
            "match": m,
            "key": seeded.sentence_key(m.evidence.document_id, m.evidence.start, m.evidence.end),
            "link": _source_link(m.evidence.kind, m.evidence.document_id),
            "kind": EvidenceKind(m.evidence.kind).label,
        }
        for m in matches
    ]
    trail.record(
        ctx,
        Action.VIEW,
        theme,
        client_id=theme.client_id,
        detail={
            "seeded": True,
            "suggested": _sources([m.evidence.document_id for m in matches]),
        },
    )
    return render(
        request,
        "process/seeded_theme.html",
        {
            "theme": theme,
            "client": theme.client,
            "seeds": [i for i in kept if i["evidence"].role == EvidenceRole.SEED],
            "accepted": [i for i in kept if i["evidence"].role == EvidenceRole.ACCEPTED],
            "rejected": sum(ev.role == EvidenceRole.REJECTED for ev in evidence),
            "suggestions": suggestions,
            "fallback": fallback,
            "fallback_name": theme_runs.FALLBACK_NAME,
            "model_name": model_name,
            "install_command": NLP_INSTALL_COMMAND,
        },
    )


@role_required(*THERAPIST)
@require_POST
def theme_judge(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or reject one suggestion of a seeded theme."""
    user = signed_in_user(request)
    theme = access.theme_for(user, pk)
    ctx = trail.context(request)
    if theme.origin != ThemeOrigin.SEEDED:
        messages.error(request, "Only seeded themes take suggestions.")
        return redirect("process:theme", theme.pk)
    key = seeded.parse_key(request.POST.get("sentence", ""))
    verdict = request.POST.get("verdict", "")
    documents = seeded.documents_for(ctx, theme.client, user)
    available = seeded.sentences(documents)
    chosen = available.get(seeded.sentence_key(*key)) if key else None
    if chosen is None or verdict not in ("accept", "reject"):
        messages.error(request, "That suggestion is no longer available; here is the new ranking.")
        return redirect("process:theme", theme.pk)
    # The score is recomputed here, never taken from the form.
    ranked, _, _ = seeded.rank(theme, documents, limit=len(available) or 1)
    score = next(
        (
            m.score
            for m in ranked
            if (m.evidence.document_id, m.evidence.start, m.evidence.end) == key
        ),
        None,
    )
    if score is None:
        messages.error(request, "That sentence has already been judged or is too short to rank.")
        return redirect("process:theme", theme.pk)
    try:
        actions.judge_suggestion(ctx, theme, evidence=chosen, score=score, verdict=verdict)
    except actions.ProcessActionError as exc:
        text = str(exc)
        messages.error(request, text[:1].upper() + text[1:] + ".")
    else:
        messages.success(
            request,
            "Accepted: the sentence joins the theme and steers the ranking."
            if verdict == "accept"
            else "Rejected: it will not be suggested again.",
        )
    return redirect("process:theme", theme.pk)
