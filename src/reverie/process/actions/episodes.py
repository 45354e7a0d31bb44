"""Relationship episodes, CCRT formulation groups and imported category sets."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Client
from reverie.process import ccrt
from reverie.process.actions.common import (
    ProcessActionError,
    _has_access,
    _text,
    _user,
)
from reverie.process.categories import ParsedCategory
from reverie.process.embeddings import Embedder
from reverie.process.models import (
    AssignmentStatus,
    CategorySet,
    Component,
    EpisodeSource,
    FormulationAssignment,
    FormulationGroup,
    JournalEntry,
    OtherPerson,
    RelationshipEpisode,
    StandardCategory,
    Valence,
)

EPISODE_FIELDS = (
    "occurred_on",
    "source",
    "appointment",
    "journal_entry",
    "other_person",
    "other_person_note",
    "narrative",
    "wish",
    "response_of_other",
    "ro_valence",
    "response_of_self",
    "rs_valence",
)
_FORMULATION_FIELD = {"wish": "wish", "ro": "response_of_other", "rs": "response_of_self"}


def _clean_episode_fields(
    client: Client, fields: Mapping[str, Any], current: RelationshipEpisode | None = None
) -> dict[str, Any]:
    unknown = set(fields) - set(EPISODE_FIELDS)
    if unknown:
        raise ProcessActionError(f"unknown fields: {', '.join(sorted(unknown))}")
    data = {name: fields.get(name) for name in EPISODE_FIELDS}
    day = data["occurred_on"]
    if not isinstance(day, datetime.date):
        raise ProcessActionError("give the date of the episode")
    if day > timezone.localdate():
        raise ProcessActionError("the date is in the future")
    if data["source"] not in EpisodeSource.values:
        raise ProcessActionError("say whether the episode was told in a session or written")
    if data["other_person"] not in OtherPerson.values:
        raise ProcessActionError("say who the other person in the episode is")
    data["other_person_note"] = _text(data["other_person_note"], "who it was", limit=100)
    data["narrative"] = _text(data["narrative"], "the narrative", required=True)
    for name in ("wish", "response_of_other", "response_of_self"):
        data[name] = _text(data[name], "the formulation", limit=1_000)
    for valence, response in (
        ("ro_valence", "response_of_other"),
        ("rs_valence", "response_of_self"),
    ):
        data[valence] = data[valence] or ""
        if data[valence] not in ("", *Valence.values):
            raise ProcessActionError("a response is positive, negative or neither")
        if data[valence] and not data[response]:
            raise ProcessActionError(
                "describe the response before saying whether it is positive or negative"
            )
    appointment = data["appointment"]
    if appointment is not None and (
        not isinstance(appointment, Appointment) or appointment.episode.client_id != client.pk
    ):
        raise ProcessActionError("that session is not this client's")
    entry = data["journal_entry"]
    # An episode keeps its link to the entry it came from even after the client stops
    # sharing it; a new link needs an entry that is shared now.
    keeps_link = current is not None and entry is not None and entry.pk == current.journal_entry_id
    if (
        entry is not None
        and not keeps_link
        and (
            not isinstance(entry, JournalEntry)
            or entry.client_id != client.pk
            or not entry.is_shared
        )
    ):
        raise ProcessActionError("that journal entry is not shared with you")
    return data


def save_relationship_episode(
    ctx: trail.Context,
    *,
    client: Client,
    fields: Mapping[str, Any],
    episode: RelationshipEpisode | None = None,
) -> RelationshipEpisode:
    """Record a relationship episode, or change one the therapist recorded.

    Changing a formulation removes its group assignment, because the group was chosen
    for the old wording; the CCRT workbench offers it for grouping again.
    """
    author = _user(ctx, Role.THERAPIST, "a relationship episode")
    if not _has_access(author, client):
        raise ProcessActionError("this client is not in your care")
    if episode is not None and episode.author_id != author.pk:
        raise ProcessActionError("only the therapist who recorded an episode can change it")
    if episode is not None and episode.client_id != client.pk:
        raise ProcessActionError("that episode belongs to another client")
    data = _clean_episode_fields(client, fields, episode)
    with transaction.atomic():
        if episode is None:
            episode = RelationshipEpisode.objects.create(client=client, author=author, **data)
            trail.record(
                ctx,
                Action.CREATE,
                episode,
                client_id=client.pk,
                detail={
                    "source": episode.source,
                    "appointment": episode.appointment_id,
                    "journal_entry": episode.journal_entry_id,
                    "transference": episode.is_transference,
                },
            )
            return episode
        changed = [name for name in EPISODE_FIELDS if getattr(episode, name) != data[name]]
        if not changed:
            return episode
        regroup = [c for c, name in _FORMULATION_FIELD.items() if name in changed]
        for name in changed:
            setattr(episode, name, data[name])
        episode.updated_at = timezone.now()
        episode.save(update_fields=[*changed, "updated_at"])
        if regroup:
            FormulationAssignment.objects.filter(
                relationship_episode=episode, component__in=regroup
            ).delete()
            _drop_empty_groups(client)
        trail.record(
            ctx,
            Action.UPDATE,
            episode,
            client_id=client.pk,
            detail={"fields": changed, "regroup": regroup},
        )
        return episode


# ------------------------------------------------------------------ CCRT grouping


def _drop_empty_groups(client: Client) -> list[int]:
    empty = list(
        FormulationGroup.objects.filter(client=client, assignments__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if empty:
        FormulationGroup.objects.filter(pk__in=empty).delete()
    return empty


def ungrouped_episodes(client: Client, component: str) -> QuerySet[RelationshipEpisode]:
    """REs of ``client`` whose ``component`` is formulated but not yet in a group."""
    field = _FORMULATION_FIELD[component]
    return (
        RelationshipEpisode.objects.filter(client=client)
        .exclude(**{field: ""})
        .exclude(assignments__component=component)
        .order_by("occurred_on", "pk")
    )


def suggest_formulation_groups(
    ctx: trail.Context,
    *,
    client: Client,
    embedder: Embedder | None,
    method: str,
) -> dict[str, int]:
    """Suggest groups for every formulation not yet in a group.

    With ``embedder`` the sentence model groups by meaning; with ``None`` identical
    wording (after normalisation) is grouped. ``method`` names which, for the record and
    the page. Suggestions join existing groups where they fit; nothing is counted in
    the CCRT until the therapist confirms it. Returns the number suggested per component.
    """
    user = _user(ctx, Role.THERAPIST, "grouping formulations")
    if not _has_access(user, client):
        raise ProcessActionError("this client is not in your care")
    plan: dict[str, list[ccrt.GroupSuggestion]] = {}
    texts: dict[str, dict[int, str]] = {}
    for component in ccrt.COMPONENTS:
        pending = list(ungrouped_episodes(client, component))
        if not pending:
            continue
        items = [(e.pk, e.formulation(component)) for e in pending]
        texts[component] = dict(items)
        existing: dict[int, list[str]] = {}
        for group in FormulationGroup.objects.filter(client=client, component=component):
            existing[group.pk] = [group.label]
        for a in FormulationAssignment.objects.filter(
            group__client=client, component=component
        ).select_related("relationship_episode"):
            existing.setdefault(a.group_id, []).append(
                a.relationship_episode.formulation(component)
            )
        try:
            plan[component] = ccrt.suggest_groups(items, existing, embedder=embedder)
        except ValueError as exc:
            raise ProcessActionError(f"grouping failed: {exc}") from None
    counts: dict[str, int] = {}
    created: list[int] = []
    suggested: dict[str, list[int]] = {}
    now = timezone.now()
    with transaction.atomic():
        for component, suggestions in plan.items():
            for suggestion in suggestions:
                if suggestion.existing is None:
                    label = (
                        suggestion.label[:200]
                        or texts[component][int(str(suggestion.members[0]))][:200]
                    )
                    group = FormulationGroup.objects.create(
                        client=client, component=component, label=label, created_by=user
                    )
                    created.append(group.pk)
                else:
                    group = FormulationGroup.objects.get(pk=suggestion.existing)
                members: tuple[int, ...] = suggestion.members
                for member in members:
                    FormulationAssignment.objects.create(
                        relationship_episode_id=member,
                        component=component,
                        group=group,
                        status=AssignmentStatus.SUGGESTED,
                        method=method[:120],
                        updated_by=user,
                        updated_at=now,
                    )
                    suggested.setdefault(component, []).append(member)
            counts[component] = len(suggested.get(component, []))
        if suggested:
            trail.record(
                ctx,
                Action.UPDATE,
                object_type="process.formulationgroup",
                client_id=client.pk,
                detail={"suggested": suggested, "groups_created": created, "method": method},
            )
    return counts


def save_groups(
    ctx: trail.Context,
    *,
    client: Client,
    component: str,
    assignments: Mapping[int, int | str | None],
    labels: Mapping[int, str],
    standard: Mapping[int, int | None] | None = None,
    merges: Mapping[int, int] | None = None,
) -> dict[str, list[int]]:
    """The therapist's confirmation or correction of one component's groups.

    ``assignments`` maps an RE id to a group id, ``"new"`` (a group of its own, named
    after the formulation) or ``None`` (no group). ``labels`` renames groups,
    ``standard`` maps groups to an imported standard category (or ``None``), and
    ``merges`` moves every member of a group into another. Every assignment named is
    confirmed. Everything is checked before anything changes.
    """
    user = _user(ctx, Role.THERAPIST, "grouping formulations")
    if not _has_access(user, client):
        raise ProcessActionError("this client is not in your care")
    if component not in ccrt.COMPONENTS:
        raise ProcessActionError("unknown component")
    standard = dict(standard or {})
    merges = dict(merges or {})
    groups = {g.pk: g for g in FormulationGroup.objects.filter(client=client, component=component)}
    field = _FORMULATION_FIELD[component]
    episodes = {
        e.pk: e for e in RelationshipEpisode.objects.filter(client=client, pk__in=list(assignments))
    }
    for re_id, target in assignments.items():
        episode = episodes.get(re_id)
        if episode is None:
            raise ProcessActionError("an episode in the form is not this client's")
        if not getattr(episode, field):
            raise ProcessActionError("an episode in the form has no formulation to group")
        if target is not None and target != "new" and target not in groups:
            raise ProcessActionError("a chosen group does not exist any more; reload the page")
    clean_labels: dict[int, str] = {}
    for gid, label in labels.items():
        if gid not in groups:
            raise ProcessActionError("a group in the form does not exist any more; reload the page")
        clean = " ".join(str(label).split())
        if not clean:
            raise ProcessActionError("every group needs a name")
        if len(clean) > 200:
            raise ProcessActionError("a group name is longer than 200 characters")
        clean_labels[gid] = clean
    allowed_standard = set(
        StandardCategory.objects.filter(
            category_set__practice_id=client.practice_id,
            category_set__is_active=True,
            component=component,
        ).values_list("pk", flat=True)
    )
    for gid, std in standard.items():
        if gid not in groups:
            raise ProcessActionError("a group in the form does not exist any more; reload the page")
        if std is not None and std not in allowed_standard:
            raise ProcessActionError("that standard category is not available")
    for source, target in merges.items():
        if source not in groups or target not in groups:
            raise ProcessActionError("a group in the form does not exist any more; reload the page")
        if source == target:
            raise ProcessActionError("a group cannot be merged into itself")
        if target in merges:
            raise ProcessActionError(
                "a group is merged into a group that is itself being merged; do one step at a time"
            )
    renamed: list[int] = []
    created: list[int] = []
    now = timezone.now()
    with transaction.atomic():
        for gid, label in clean_labels.items():
            group = groups[gid]
            if group.label != label:
                group.label = label
                group.updated_at = now
                group.save(update_fields=["label", "updated_at"])
                renamed.append(gid)
        for gid, std in standard.items():
            group = groups[gid]
            if group.standard_category_id != std:
                group.standard_category_id = std
                group.updated_at = now
                group.save(update_fields=["standard_category", "updated_at"])
        confirmed: list[int] = []
        ungrouped: list[int] = []
        for re_id, target in assignments.items():
            if target is None:
                FormulationAssignment.objects.filter(
                    relationship_episode_id=re_id, component=component
                ).delete()
                ungrouped.append(re_id)
                continue
            if target == "new":
                group = FormulationGroup.objects.create(
                    client=client,
                    component=component,
                    label=getattr(episodes[re_id], field)[:200],
                    created_by=user,
                )
                created.append(group.pk)
            else:
                group = groups[int(target)]
            FormulationAssignment.objects.update_or_create(
                relationship_episode_id=re_id,
                component=component,
                defaults={
                    "group": group,
                    "status": AssignmentStatus.CONFIRMED,
                    "method": "confirmed by the therapist",
                    "updated_by": user,
                    "updated_at": now,
                },
            )
            confirmed.append(re_id)
        for source, target in merges.items():
            FormulationAssignment.objects.filter(group_id=source).update(
                group_id=target, updated_by=user, updated_at=now
            )
        removed = _drop_empty_groups(client)
        trail.record(
            ctx,
            Action.UPDATE,
            object_type="process.formulationgroup",
            client_id=client.pk,
            detail={
                "component": component,
                "confirmed": confirmed,
                "ungrouped": ungrouped,
                "renamed": renamed,
                "created": created,
                "merged": {str(k): v for k, v in merges.items()},
                "removed": removed,
            },
        )
    return {"confirmed": confirmed, "created": created, "removed": removed, "renamed": renamed}


# ------------------------------------------------------------------- category sets


def import_category_set(
    ctx: trail.Context, *, name: str, licence_note: str, categories: Sequence[ParsedCategory]
) -> CategorySet:
    """Import a CCRT category list the practice is licensed to use (admins only)."""
    admin = _user(ctx, Role.ADMIN, "importing a category set")
    name = _text(name, "the name", required=True, limit=120)
    licence_note = _text(licence_note, "the licence note", required=True, limit=300)
    if not categories:
        raise ProcessActionError("the file has no categories")
    if CategorySet.objects.filter(practice_id=admin.practice_id, name=name).exists():
        raise ProcessActionError("the practice already has a category set with that name")
    with transaction.atomic():
        category_set = CategorySet.objects.create(
            practice_id=admin.practice_id, name=name, licence_note=licence_note, imported_by=admin
        )
        StandardCategory.objects.bulk_create(
            StandardCategory(
                category_set=category_set,
                component=c.component,
                code=c.code,
                label=c.label,
                position=i,
            )
            for i, c in enumerate(categories)
        )
        trail.record(
            ctx,
            Action.IMPORT,
            category_set,
            detail={"categories": len(categories)},
        )
    return category_set


def set_category_set_active(ctx: trail.Context, category_set: CategorySet, active: bool) -> None:
    admin = _user(ctx, Role.ADMIN, "changing a category set")
    if category_set.practice_id != admin.practice_id:
        raise ProcessActionError("that category set belongs to another practice")
    if category_set.is_active == active:
        return
    with transaction.atomic():
        category_set.is_active = active
        category_set.save(update_fields=["is_active"])
        trail.record(ctx, Action.UPDATE, category_set, detail={"active": active})


# --------------------------------------------------------------------------- journal


def component_name(component: str) -> str:
    return str(Component(component).label)
