"""Every change to process data, each writing its audit entry in the same transaction.

Views call these functions; they never save process models themselves. Errors are
:class:`ProcessActionError` with a message that is safe to show and names no clinical
text. Audit ``detail`` holds identifiers and flags only.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import clinical_clients
from reverie.care.models import Appointment, Attendance, Client
from reverie.process import ccrt
from reverie.process.categories import ParsedCategory
from reverie.process.embeddings import NLP_INSTALL_HINT, Embedder, nlp_available
from reverie.process.models import (
    AssignmentStatus,
    CategorySet,
    Component,
    EpisodeSource,
    FormulationAssignment,
    FormulationGroup,
    JournalEntry,
    JournalKind,
    Mood,
    OtherPerson,
    RecurringTheme,
    RelationshipEpisode,
    RunStatus,
    SessionReflection,
    StandardCategory,
    ThemeEvidence,
    ThemeRun,
    ThemeStatus,
    Valence,
)
from reverie.process.reflection import FEATURE_KEYS, validate_scores


class ProcessActionError(ValueError):
    """The change cannot be made; the message says why and is safe to show."""


def _user(ctx: trail.Context, role: str, doing: str) -> User:
    if ctx.user is None or ctx.user.role != role:
        raise ProcessActionError(f"{doing} needs a signed-in {role}")
    return ctx.user


def _has_access(user: User, client: Client) -> bool:
    return clinical_clients(user).filter(pk=client.pk).exists()


def _text(value: object, name: str, *, required: bool = False, limit: int = 20_000) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ProcessActionError(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise ProcessActionError(f"{name} is empty")
    if len(value) > limit:
        raise ProcessActionError(f"{name} is longer than {limit} characters")
    return value


# ----------------------------------------------------------------- session reflections


def save_reflection(
    ctx: trail.Context,
    *,
    appointment: Appointment,
    scores: Mapping[str, object],
    comment: str = "",
) -> SessionReflection:
    """Create or update the reflection on one session. Only the episode's therapist
    reflects on its sessions, and only on sessions that took place."""
    author = _user(ctx, Role.THERAPIST, "a session reflection")
    episode = appointment.episode
    if episode.therapist_id != author.pk:
        raise ProcessActionError("only the treating therapist reflects on this session")
    if appointment.starts_at > timezone.now():
        raise ProcessActionError("this session has not happened yet")
    if appointment.attendance in (Attendance.CANCELLED, Attendance.LATE_CANCEL, Attendance.NO_SHOW):
        raise ProcessActionError("reflections are for sessions that took place")
    try:
        clean = validate_scores(scores)
    except ValueError as exc:
        raise ProcessActionError(str(exc)) from None
    comment = _text(comment, "the comment", limit=2_000)
    session_date = timezone.localtime(appointment.starts_at).date()
    with transaction.atomic():
        existing = (
            SessionReflection.objects.select_for_update().filter(appointment=appointment).first()
        )
        if existing is None:
            reflection = SessionReflection.objects.create(
                appointment=appointment,
                episode=episode,
                author=author,
                session_date=session_date,
                comment=comment,
                **clean,
            )
            trail.record(
                ctx,
                Action.CREATE,
                reflection,
                client_id=episode.client_id,
                detail={"appointment": appointment.pk},
            )
            return reflection
        if existing.author_id != author.pk:
            raise ProcessActionError("only the author may change this reflection")
        changed = [k for k in FEATURE_KEYS if getattr(existing, k) != clean[k]]
        if existing.comment != comment:
            changed.append("comment")
        if not changed:
            return existing
        for key in FEATURE_KEYS:
            setattr(existing, key, clean[key])
        existing.comment = comment
        existing.updated_at = timezone.now()
        existing.save(update_fields=[*changed, "updated_at"])
        trail.record(
            ctx,
            Action.UPDATE,
            existing,
            client_id=episode.client_id,
            detail={"fields": changed},
        )
        return existing


# --------------------------------------------------------------- relationship episodes

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

JOURNAL_FIELDS = ("kind", "title", "text", "mood", "tags", "entry_date")
MAX_TAGS = 10
MAX_TAG_LENGTH = 30
_TAG = re.compile(r"^[\w][\w \-']*$")


def clean_tags(tags: object) -> list[str]:
    """Lower-cased, de-duplicated tags; refuses anything a person could not have typed
    as a short label."""
    if tags is None:
        return []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ProcessActionError("tags must be a list of words")
    out: list[str] = []
    for raw in tags:
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ProcessActionError(f"a tag is longer than {MAX_TAG_LENGTH} characters")
        if not _TAG.match(tag):
            raise ProcessActionError("tags may use letters, numbers, spaces, hyphens")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ProcessActionError(f"use at most {MAX_TAGS} tags")
    return out


def _client_of(ctx: trail.Context, doing: str) -> tuple[User, Client]:
    user = _user(ctx, Role.CLIENT, doing)
    client = Client.objects.filter(user=user).first()
    if client is None:
        raise ProcessActionError("your account is not linked to a client record yet")
    return user, client


def _clean_journal_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(JOURNAL_FIELDS)
    if unknown:
        raise ProcessActionError(f"unknown fields: {', '.join(sorted(unknown))}")
    data = {name: fields.get(name) for name in JOURNAL_FIELDS}
    if data["kind"] not in JournalKind.values:
        raise ProcessActionError("choose what kind of entry this is")
    data["title"] = _text(data["title"], "the title", limit=120)
    data["text"] = _text(data["text"], "the entry", required=True, limit=50_000)
    if data["mood"] in ("", None):
        data["mood"] = None
    elif data["mood"] not in Mood.values:
        raise ProcessActionError("choose a mood from the list, or none")
    data["tags"] = clean_tags(data["tags"])
    day = data["entry_date"]
    if not isinstance(day, datetime.date):
        raise ProcessActionError("give the date of the entry")
    if day > timezone.localdate():
        raise ProcessActionError("the date is in the future")
    return data


def create_journal_entry(
    ctx: trail.Context, *, fields: Mapping[str, Any], share: bool = False
) -> JournalEntry:
    """A client writes in their journal; it stays private unless ``share`` is true."""
    _, client = _client_of(ctx, "writing in the journal")
    data = _clean_journal_fields(fields)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            client=client, shared_at=timezone.now() if share else None, **data
        )
        trail.record(
            ctx, Action.CREATE, entry, client_id=client.pk, detail={"shared": entry.is_shared}
        )
    return entry


def _own_entry(ctx: trail.Context, entry: JournalEntry, doing: str) -> Client:
    _, client = _client_of(ctx, doing)
    if entry.client_id != client.pk:
        raise ProcessActionError("that entry is not yours")
    return client


def update_journal_entry(
    ctx: trail.Context, entry: JournalEntry, fields: Mapping[str, Any]
) -> list[str]:
    client = _own_entry(ctx, entry, "changing a journal entry")
    data = _clean_journal_fields(fields)
    changed = [name for name in JOURNAL_FIELDS if getattr(entry, name) != data[name]]
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(entry, name, data[name])
        entry.updated_at = timezone.now()
        entry.save(update_fields=[*changed, "updated_at"])
        trail.record(ctx, Action.UPDATE, entry, client_id=client.pk, detail={"fields": changed})
    return changed


def set_journal_sharing(ctx: trail.Context, entry: JournalEntry, shared: bool) -> bool:
    """Share an entry with the clinicians treating the client, or take it back.

    Taking it back also blanks every theme sentence quoted from it, so the therapist's
    theme pages stop showing it at once (the next theme run leaves it out entirely).
    Returns whether anything changed.
    """
    client = _own_entry(ctx, entry, "sharing a journal entry")
    if entry.is_shared == shared:
        return False
    with transaction.atomic():
        entry.shared_at = timezone.now() if shared else None
        entry.save(update_fields=["shared_at"])
        withdrawn = 0
        if not shared:
            withdrawn = ThemeEvidence.objects.filter(journal_entry=entry).update(
                sentence="", withdrawn=True
            )
        trail.record(
            ctx,
            Action.UPDATE,
            entry,
            client_id=client.pk,
            detail={"shared": shared, "evidence_withdrawn": withdrawn},
        )
    return True


def delete_journal_entry(ctx: trail.Context, entry: JournalEntry) -> None:
    """The client removes an entry for good, with any theme sentences quoted from it.
    A relationship episode the therapist made from it keeps the therapist's own record."""
    client = _own_entry(ctx, entry, "deleting a journal entry")
    with transaction.atomic():
        pk = entry.pk
        trail.record(
            ctx,
            Action.DELETE,
            object_type="process.journalentry",
            object_id=pk,
            client_id=client.pk,
            detail={"was_shared": entry.is_shared},
        )
        entry.delete()


def link_journal_entry(
    ctx: trail.Context, entry: JournalEntry, appointment: Appointment | None
) -> None:
    """The therapist links a shared entry to the session where it was discussed."""
    user = _user(ctx, Role.THERAPIST, "linking an entry")
    if not entry.is_shared or not _has_access(user, entry.client):
        raise ProcessActionError("that entry is not shared with you")
    if appointment is not None and appointment.episode.client_id != entry.client_id:
        raise ProcessActionError("that session is not this client's")
    if entry.appointment_id == (appointment.pk if appointment else None):
        return
    with transaction.atomic():
        entry.appointment = appointment
        entry.save(update_fields=["appointment"])
        trail.record(
            ctx,
            Action.UPDATE,
            entry,
            client_id=entry.client_id,
            detail={"appointment": appointment.pk if appointment else None},
        )


# ---------------------------------------------------------------------------- themes


def queue_theme_run(ctx: trail.Context, *, client: Client, use_fallback: bool) -> ThemeRun:
    """Ask the worker to look for recurring themes for ``client``.

    Without the optional model the therapist must choose the labelled word-overlap
    fallback explicitly; it is never substituted silently.
    """
    user = _user(ctx, Role.THERAPIST, "a theme search")
    if not _has_access(user, client):
        raise ProcessActionError("this client is not in your care")
    if not use_fallback and not nlp_available():
        raise ProcessActionError(f"the theme model is not installed; {NLP_INSTALL_HINT}")
    if ThemeRun.objects.filter(
        client=client, requested_by=user, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).exists():
        raise ProcessActionError("a theme search for this client is already under way")
    try:
        with transaction.atomic():
            run = ThemeRun.objects.create(
                client=client, requested_by=user, use_fallback=use_fallback
            )
            trail.record(
                ctx,
                Action.CREATE,
                run,
                client_id=client.pk,
                detail={"fallback": use_fallback},
            )
    except IntegrityError:
        raise ProcessActionError("a theme search for this client is already under way") from None
    return run


def cancel_theme_run(ctx: trail.Context, run: ThemeRun) -> None:
    user = _user(ctx, Role.THERAPIST, "cancelling a theme search")
    if run.requested_by_id != user.pk:
        raise ProcessActionError("only the therapist who started the search can cancel it")
    with transaction.atomic():
        # A queued run is cancelled outright; a running one is asked to stop, and the
        # worker stops at its next progress report.
        if ThemeRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now(), stage="Cancelled"
        ):
            pass
        elif not ThemeRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            cancel_requested=True
        ):
            raise ProcessActionError("the search has already finished")
        trail.record(ctx, Action.UPDATE, run, client_id=run.client_id, detail={"cancel": True})
    run.refresh_from_db()


def recount_theme(theme: RecurringTheme) -> None:
    """Recompute dates and counts of a theme from its evidence rows (after a merge)."""
    seen: dict[tuple[str, int], datetime.date] = {}
    for ev in theme.evidence.all():
        ref = (
            ev.journal_entry_id
            or ev.relationship_episode_id
            or ev.progress_note_id
            or ev.process_note_id
            or 0
        )
        key = (ev.kind, ref)
        seen[key] = min(seen.get(key, ev.date), ev.date)
    if not seen:
        return
    months: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for (kind, _), day in seen.items():
        month = f"{day:%Y-%m}"
        months[month] = months.get(month, 0) + 1
        kinds[kind] = kinds.get(kind, 0) + 1
    dates = [ev.date for ev in theme.evidence.all()]
    theme.first_seen = min(dates)
    theme.last_seen = max(dates)
    theme.count_by_month = dict(sorted(months.items()))
    theme.document_count = len(seen)
    theme.kind_counts = kinds
    theme.private = set(kinds) == {"process_note"}


def update_theme(
    ctx: trail.Context,
    theme: RecurringTheme,
    *,
    action: str,
    label: str = "",
    into: RecurringTheme | None = None,
) -> RecurringTheme:
    """The therapist accepts, dismisses, restores, renames or merges a theme.

    Dismissed themes stay dismissed: later runs recognise them (by their remembered
    centroid or key) and keep them out of the suggestions.
    """
    user = _user(ctx, Role.THERAPIST, "changing a theme")
    if theme.owner_id != user.pk:
        raise ProcessActionError("only the therapist who found a theme can change it")
    if theme.status == ThemeStatus.MERGED:
        raise ProcessActionError("this theme was merged into another")
    now = timezone.now()
    detail: dict[str, Any] = {"action": action}
    with transaction.atomic():
        if action in ("accept", "dismiss", "restore"):
            theme.status = {
                "accept": ThemeStatus.ACCEPTED,
                "dismiss": ThemeStatus.DISMISSED,
                "restore": ThemeStatus.SUGGESTED,
            }[action]
            theme.updated_at = now
            theme.save(update_fields=["status", "updated_at"])
        elif action == "rename":
            clean = " ".join(label.split())
            if not clean:
                raise ProcessActionError("give the theme a name")
            if len(clean) > 200:
                raise ProcessActionError("the name is longer than 200 characters")
            theme.label = clean
            theme.renamed = True
            theme.updated_at = now
            theme.save(update_fields=["label", "renamed", "updated_at"])
        elif action == "merge":
            if into is None or into.pk == theme.pk:
                raise ProcessActionError("choose another theme to merge into")
            if (
                into.owner_id != user.pk
                or into.client_id != theme.client_id
                or into.status == ThemeStatus.MERGED
            ):
                raise ProcessActionError("that theme cannot take a merge")
            offset = into.evidence.count()
            for position, ev in enumerate(theme.evidence.order_by("position")):
                ev.theme = into
                ev.position = offset + position
                ev.save(update_fields=["theme", "position"])
            recount_theme(into)
            into.updated_at = now
            into.save(
                update_fields=[
                    "first_seen",
                    "last_seen",
                    "count_by_month",
                    "document_count",
                    "kind_counts",
                    "private",
                    "updated_at",
                ]
            )
            theme.status = ThemeStatus.MERGED
            theme.merged_into = into
            theme.updated_at = now
            theme.save(update_fields=["status", "merged_into", "updated_at"])
            detail["into"] = into.pk
        else:
            raise ProcessActionError("unknown theme action")
        trail.record(ctx, Action.UPDATE, theme, client_id=theme.client_id, detail=detail)
    return theme


def component_name(component: str) -> str:
    return str(Component(component).label)
