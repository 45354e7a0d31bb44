"""The relationship-episode (CCRT) workbench, and the practice's category sets."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Client
from reverie.core.decorators import role_required, signed_in_user
from reverie.process import access, actions, ccrt, theme_runs
from reverie.process.categories import CategoryError, parse_category_file
from reverie.process.embeddings import NLP_INSTALL_COMMAND, nlp_available
from reverie.process.forms import CategorySetForm, CcrtPeriodForm, RelationshipEpisodeForm
from reverie.process.models import (
    AssignmentStatus,
    CategorySet,
    FormulationAssignment,
    FormulationGroup,
    RelationshipEpisode,
    StandardCategory,
)
from reverie.process.views import THERAPIST, sessions_of, tenths

COMPONENT_FIELDS = {"wish": "wish", "ro": "response_of_other", "rs": "response_of_self"}


def _percent_step(share: float | None) -> int:
    """A share 0–1 as a 0–60 chart step (process.css widths are in sixtieths)."""
    return tenths(None if share is None else share * 6)


# ------------------------------------------------------------------ episodes


@role_required(*THERAPIST)
def relationship_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a relationship episode, from a session or from a shared journal entry."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    entry = None
    entry_id = request.GET.get("journal") or request.POST.get("journal")
    if entry_id:
        if not entry_id.isdigit():
            raise Http404("No such entry")
        entry = access.shared_entry_for(user, int(entry_id))
        if entry.client_id != client.pk:
            raise Http404("No such entry")
    initial: dict[str, Any] = {"occurred_on": timezone.localdate(), "source": "session"}
    if entry is not None:
        initial = {
            "occurred_on": entry.entry_date,
            "source": "journal",
            "narrative": entry.text,
            "appointment": entry.appointment_id,
        }
    form = RelationshipEpisodeForm(
        request.POST or None, initial=initial, sessions=sessions_of(client)
    )
    if request.method == "POST":
        if form.is_valid():
            fields = {**form.cleaned_data, "journal_entry": entry}
            try:
                episode = actions.save_relationship_episode(
                    trail.context(request), client=client, fields=fields
                )
            except actions.ProcessActionError as exc:
                form.add_error(None, str(exc).capitalize() + ".")
            else:
                note = " It is flagged as transference." if episode.is_transference else ""
                messages.success(request, "Relationship episode recorded." + note)
                return redirect("process:ccrt", client.pk)
        return render(
            request,
            "process/relationship_form.html",
            {"form": form, "client": client, "entry": entry},
            status=400,
        )
    if entry is not None:
        trail.record(
            trail.context(request),
            Action.VIEW,
            entry,
            client_id=client.pk,
            detail={"view": "relationship_from_journal"},
        )
    return render(
        request, "process/relationship_form.html", {"form": form, "client": client, "entry": entry}
    )


@role_required(*THERAPIST)
def relationship_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Read a relationship episode; its author may change it."""
    user = signed_in_user(request)
    episode = access.relationship_episode_for(user, pk)
    client = episode.client
    can_edit = episode.author_id == user.pk
    # The episode's own session stays selectable even if it was cancelled since.
    sessions = sessions_of(client)
    if episode.appointment_id is not None:
        sessions = sessions | Appointment.objects.filter(pk=episode.appointment_id)
    form = RelationshipEpisodeForm(
        request.POST or None,
        instance=RelationshipEpisode.objects.get(pk=episode.pk),
        sessions=sessions.distinct().order_by("-starts_at"),
    )
    context = {"form": form, "client": client, "episode": episode, "can_edit": can_edit}
    if request.method == "POST":
        if not can_edit:
            form.add_error(None, "Only the therapist who recorded this episode can change it.")
        elif form.is_valid():
            fields = {**form.cleaned_data, "journal_entry": episode.journal_entry}
            try:
                actions.save_relationship_episode(
                    trail.context(request), client=client, fields=fields, episode=episode
                )
            except actions.ProcessActionError as exc:
                form.add_error(None, str(exc).capitalize() + ".")
            else:
                messages.success(request, "Relationship episode saved.")
                return redirect("process:ccrt", client.pk)
        return render(request, "process/relationship_form.html", context, status=400)
    trail.record(trail.context(request), Action.VIEW, episode, client_id=client.pk)
    return render(request, "process/relationship_form.html", context)


# ------------------------------------------------------------------ the CCRT


def _scored(episodes: list[RelationshipEpisode]) -> list[ccrt.ScoredEpisode]:
    confirmed: dict[tuple[int, str], int] = {
        (a.relationship_episode_id, a.component): a.group_id
        for a in FormulationAssignment.objects.filter(
            relationship_episode__in=episodes, status=AssignmentStatus.CONFIRMED
        )
    }
    return [
        ccrt.ScoredEpisode(
            id=e.pk,
            date=e.occurred_on,
            wish=confirmed.get((e.pk, "wish")),
            ro=confirmed.get((e.pk, "ro")),
            rs=confirmed.get((e.pk, "rs")),
            ro_valence=e.ro_valence,
            rs_valence=e.rs_valence,
            transference=e.is_transference,
        )
        for e in episodes
    ]


@role_required(*THERAPIST)
def ccrt_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The CCRT of a period, each component's pervasiveness, and change over time."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    period = CcrtPeriodForm(request.GET or None)
    # The workbench shows the three components, not the story they were drawn from.
    episodes_qs = (
        RelationshipEpisode.objects.filter(client=client)
        .select_related("author")
        .defer("narrative", "other_person_note")
    )
    unit = "quarter"
    if period.is_valid():
        if period.cleaned_data.get("start"):
            episodes_qs = episodes_qs.filter(occurred_on__gte=period.cleaned_data["start"])
        if period.cleaned_data.get("end"):
            episodes_qs = episodes_qs.filter(occurred_on__lte=period.cleaned_data["end"])
        unit = period.cleaned_data.get("unit") or "quarter"
    episodes = list(episodes_qs.order_by("occurred_on", "pk"))
    scored = _scored(episodes)
    result = ccrt.ccrt(scored)
    groups = {
        g.pk: g
        for g in FormulationGroup.objects.filter(client=client).select_related("standard_category")
    }
    components = []
    for component in ccrt.COMPONENTS:
        counts = ccrt.component_counts(scored, component)
        components.append(
            {
                "key": component,
                "name": ccrt.COMPONENT_NAMES[component],
                "top": [_named(c, groups) for c in result.top[component]],
                "rows": [_named(c, groups) for c in counts],
                "uncategorised": len(scored) - result.categorised[component],
            }
        )
    follow = {c: (result.top[c][0].key if result.top[c] else None) for c in ccrt.COMPONENTS}
    timeline = [
        {
            "row": row,
            "cells": [
                {"share": row.pervasiveness[c], "step": _percent_step(row.pervasiveness[c])}
                for c in ccrt.COMPONENTS
            ],
            "valence": [
                {
                    "share": row.positive[c],
                    "rated": row.rated[c],
                    "step": _percent_step(row.positive[c]),
                }
                for c in ("ro", "rs")
            ],
        }
        for row in ccrt.over_time(scored, follow, unit)
    ]
    standard = _by_standard(scored, groups)
    suggested = FormulationAssignment.objects.filter(
        relationship_episode__client=client, status=AssignmentStatus.SUGGESTED
    ).count()
    positive = {c: ccrt.positive_share(scored, c) for c in ("ro", "rs")}
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="process.relationshipepisode",
        client_id=client.pk,
        detail={"view": "ccrt", "relationship_episodes": [e.pk for e in episodes]},
    )
    return render(
        request,
        "process/ccrt.html",
        {
            "client": client,
            "period": period,
            "episodes": list(reversed(episodes)),
            "result": result,
            "components": components,
            "followed": {c: groups[k].label if k in groups else None for c, k in follow.items()},
            "timeline": timeline,
            "standard": standard,
            "suggested": suggested,
            "positive": {
                c: {"share": s, "rated": n, "step": _percent_step(s)}
                for c, (s, n) in positive.items()
            },
        },
    )


def _named(count: ccrt.ComponentCount, groups: dict[int, FormulationGroup]) -> dict[str, Any]:
    group = groups.get(count.key) if isinstance(count.key, int) else None
    return {
        "label": group.label if group else str(count.key),
        "standard": group.standard_category if group else None,
        "count": count.count,
        "share": count.pervasiveness,
        "step": _percent_step(count.pervasiveness),
    }


def _by_standard(
    scored: list[ccrt.ScoredEpisode], groups: dict[int, FormulationGroup]
) -> list[dict[str, Any]]:
    """The CCRT counted by imported standard category, where groups are mapped to one."""
    if not any(g.standard_category_id for g in groups.values()):
        return []
    mapped: list[ccrt.ScoredEpisode] = []
    for e in scored:
        keys: dict[str, Hashable | None] = {}
        for component in ccrt.COMPONENTS:
            gid = e.category(component)
            group = groups.get(gid) if isinstance(gid, int) else None
            keys[component] = (
                str(group.standard_category) if group and group.standard_category else None
            )
        mapped.append(ccrt.ScoredEpisode(e.id, e.date, keys["wish"], keys["ro"], keys["rs"]))
    out = []
    for component in ccrt.COMPONENTS:
        rows = ccrt.component_counts(mapped, component)
        out.append(
            {
                "name": ccrt.COMPONENT_NAMES[component],
                "rows": [
                    {
                        "label": str(r.key),
                        "count": r.count,
                        "share": r.pervasiveness,
                        "step": _percent_step(r.pervasiveness),
                    }
                    for r in rows
                ],
            }
        )
    return out


# ------------------------------------------------------------------ grouping


def _groups_context(client: Client, errors: dict[str, str] | None = None) -> dict[str, Any]:
    episodes = list(
        RelationshipEpisode.objects.filter(client=client)
        .order_by("occurred_on", "pk")
        .defer("narrative", "other_person_note")
    )
    assignments = {
        (a.relationship_episode_id, a.component): a
        for a in FormulationAssignment.objects.filter(relationship_episode__client=client)
    }
    groups = FormulationGroup.by_label(
        FormulationGroup.objects.filter(client=client).select_related("standard_category")
    )
    standard = list(
        StandardCategory.objects.filter(
            category_set__practice_id=client.practice_id, category_set__is_active=True
        ).select_related("category_set")
    )
    sections = []
    for component in ccrt.COMPONENTS:
        field = COMPONENT_FIELDS[component]
        rows = []
        for e in episodes:
            text = getattr(e, field)
            if not text:
                continue
            assignment = assignments.get((e.pk, component))
            rows.append({"episode": e, "text": text, "assignment": assignment})
        component_groups = [g for g in groups if g.component == component]
        members: dict[int, int] = {}
        for row in rows:
            if row["assignment"] is not None:
                gid = row["assignment"].group_id
                members[gid] = members.get(gid, 0) + 1
        sections.append(
            {
                "key": component,
                "name": ccrt.COMPONENT_NAMES[component],
                "rows": rows,
                "groups": [{"group": g, "members": members.get(g.pk, 0)} for g in component_groups],
                "standard": [s for s in standard if s.component == component],
                "pending": sum(
                    1
                    for r in rows
                    if r["assignment"] is None or r["assignment"].status == "suggested"
                ),
                "error": (errors or {}).get(component, ""),
            }
        )
    return {
        "client": client,
        "sections": sections,
        "episode_ids": [e.pk for e in episodes],
        "model_ready": nlp_available(),
        "install_command": NLP_INSTALL_COMMAND,
    }


@role_required(*THERAPIST)
def ccrt_groups(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or correct the groups of one component (W, RO or RS)."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    if request.method == "POST":
        component = request.POST.get("component", "")
        if component not in ccrt.COMPONENTS:
            context = _groups_context(client)
            context["form_error"] = "Unknown component."
            return render(request, "process/ccrt_groups.html", context, status=400)
        try:
            parsed = _parse_groups_post(request, client, component)
            result = actions.save_groups(
                trail.context(request), client=client, component=component, **parsed
            )
        except actions.ProcessActionError as exc:
            context = _groups_context(client, {component: str(exc).capitalize() + "."})
            return render(request, "process/ccrt_groups.html", context, status=400)
        messages.success(
            request,
            f"{ccrt.COMPONENT_NAMES[component]}: {len(result['confirmed'])} formulation"
            f"{'s' if len(result['confirmed']) != 1 else ''} confirmed.",
        )
        return redirect(reverse("process:ccrt_groups", args=[client.pk]) + f"#{component}")
    context = _groups_context(client)
    trail.record(
        trail.context(request),
        Action.LIST,
        object_type="process.relationshipepisode",
        client_id=client.pk,
        detail={"view": "ccrt_groups", "relationship_episodes": context["episode_ids"]},
    )
    return render(request, "process/ccrt_groups.html", context)


def _int(value: str, what: str) -> int:
    if not value.isdigit():
        raise actions.ProcessActionError(f"the form has an invalid {what}; reload the page")
    return int(value)


def _parse_groups_post(request: HttpRequest, client: Client, component: str) -> dict[str, Any]:
    assignments: dict[int, int | str | None] = {}
    labels: dict[int, str] = {}
    standard: dict[int, int | None] = {}
    merges: dict[int, int] = {}
    for name in request.POST:
        value = request.POST.get(name, "")
        if name.startswith("g-"):
            re_id = _int(name[2:], "episode")
            if value == "":
                assignments[re_id] = None
            elif value == "new":
                assignments[re_id] = "new"
            else:
                assignments[re_id] = _int(value, "group")
        elif name.startswith("label-"):
            labels[_int(name[6:], "group")] = value
        elif name.startswith("std-"):
            standard[_int(name[4:], "group")] = _int(value, "category") if value else None
        elif name.startswith("merge-") and value:
            merges[_int(name[6:], "group")] = _int(value, "group")
    return {"assignments": assignments, "labels": labels, "standard": standard, "merges": merges}


@role_required(*THERAPIST)
@require_POST
def ccrt_suggest(request: HttpRequest, pk: int) -> HttpResponse:
    """Suggest groups for every formulation not yet in one."""
    user = signed_in_user(request)
    client = access.client_for(user, pk)
    embedder = theme_runs.formulation_embedder()
    method = (
        f"suggested by the {theme_runs.MODEL_NAME}"
        if embedder is not None
        else "suggested by identical wording (the sentence model is not installed)"
    )
    try:
        counts = actions.suggest_formulation_groups(
            trail.context(request), client=client, embedder=embedder, method=method
        )
    except actions.ProcessActionError as exc:
        messages.error(request, str(exc).capitalize() + ".")
        return redirect("process:ccrt_groups", client.pk)
    total = sum(counts.values())
    if total == 0:
        messages.info(request, "Every formulation is already in a group.")
    elif embedder is None:
        messages.success(
            request,
            f"{total} formulation{'s' if total != 1 else ''} grouped by identical wording only: "
            "the sentence model that groups by meaning is not installed (pip install "
            "'reverie[nlp]'). Check the suggestions below and save each section to confirm.",
        )
    else:
        messages.success(
            request,
            f"{total} formulation{'s' if total != 1 else ''} grouped by meaning. Check the "
            "suggestions below and save each section to confirm.",
        )
    return redirect("process:ccrt_groups", client.pk)


# ------------------------------------------------------------------ category sets


@role_required(Role.ADMIN)
def category_sets(request: HttpRequest) -> HttpResponse:
    """Import a CCRT category set the practice is licensed to use."""
    user = signed_in_user(request)
    form = CategorySetForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                parsed = parse_category_file(upload.read(), upload.name or "")
                category_set = actions.import_category_set(
                    trail.context(request),
                    name=form.cleaned_data["name"],
                    licence_note=form.cleaned_data["licence_note"],
                    categories=parsed,
                )
            except (CategoryError, actions.ProcessActionError) as exc:
                form.add_error(None, str(exc)[:1].upper() + str(exc)[1:] + ".")
            else:
                messages.success(
                    request,
                    f"Imported “{category_set.name}” with {len(parsed)} categories.",
                )
                return redirect("process:category_sets")
        status = 400
    sets = list(
        CategorySet.objects.filter(practice_id=user.practice_id)
        .select_related("imported_by")
        .prefetch_related("categories")
    )
    return render(
        request, "process/category_sets.html", {"form": form, "sets": sets}, status=status
    )


@role_required(Role.ADMIN)
@require_POST
def category_set_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    category_set = access.category_set_for(user, pk)
    active = request.POST.get("active") == "1"
    actions.set_category_set_active(trail.context(request), category_set, active)
    messages.success(
        request,
        f"“{category_set.name}” is {'available to' if active else 'hidden from'} therapists.",
    )
    return redirect("process:category_sets")
