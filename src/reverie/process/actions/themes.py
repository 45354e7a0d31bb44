"""Recurring-theme searches and the therapist's decisions on the themes found."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client
from reverie.process.actions.common import (
    ProcessActionError,
    _has_access,
    _user,
)
from reverie.process.embeddings import NLP_INSTALL_HINT, nlp_available
from reverie.process.models import (
    EvidenceKind,
    EvidenceRole,
    RecurringTheme,
    RunStatus,
    ThemeEvidence,
    ThemeOrigin,
    ThemeRun,
    ThemeStatus,
)
from reverie.process.themes import Evidence


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


#: The fields :func:`recount_theme_rows` sets, for ``save(update_fields=...)``.
RECOUNTED_FIELDS = (
    "first_seen",
    "last_seen",
    "count_by_month",
    "document_count",
    "kind_counts",
    "private",
)


def recount_theme(theme: RecurringTheme) -> None:
    """Recompute dates and counts of a theme from its evidence rows (after a merge)."""
    recount_theme_rows(theme, list(theme.evidence.all()))


def recount_theme_rows(theme: RecurringTheme, rows: Sequence[ThemeEvidence]) -> None:
    """Dates and counts of ``theme`` from the given evidence rows (not saved)."""
    seen: dict[tuple[str, int], datetime.date] = {}
    for ev in rows:
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
    dates = [ev.date for ev in rows]
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
                or ThemeOrigin.SEEDED in (into.origin, theme.origin)
            ):
                raise ProcessActionError("that theme cannot take a merge")
            offset = into.evidence.count()
            for position, ev in enumerate(theme.evidence.order_by("position")):
                ev.theme = into
                ev.position = offset + position
                ev.save(update_fields=["theme", "position"])
            recount_theme(into)
            into.updated_at = now
            into.save(update_fields=[*RECOUNTED_FIELDS, "updated_at"])
            theme.status = ThemeStatus.MERGED
            theme.merged_into = into
            theme.updated_at = now
            theme.save(update_fields=["status", "merged_into", "updated_at"])
            detail["into"] = into.pk
        else:
            raise ProcessActionError("unknown theme action")
        trail.record(ctx, Action.UPDATE, theme, client_id=theme.client_id, detail=detail)
    return theme


# ------------------------------------------------------------------- seeded themes


def _seeded_row(
    theme: RecurringTheme,
    evidence: Evidence,
    *,
    role: str,
    position: int,
    score: float | None = None,
) -> ThemeEvidence:
    """One evidence row of a seeded theme.

    The sentence is kept (sealed with the client's key) for journal entries, episodes and
    progress notes; a process-note sentence keeps only its span, as everywhere else, and
    a rejected suggestion keeps only its span too (it is remembered, not quoted).
    """
    kind, _, raw_pk = evidence.document_id.partition(":")
    if kind not in {k.value for k in EvidenceKind} or not raw_pk.isdigit():
        raise ProcessActionError("that sentence does not come from this client's record")
    keep_words = kind != EvidenceKind.PROCESS_NOTE and role != EvidenceRole.REJECTED
    row = ThemeEvidence(
        theme=theme,
        kind=kind,
        date=evidence.date,
        start=evidence.start,
        end=evidence.end,
        sentence=evidence.sentence if keep_words else "",
        position=position,
        role=role,
        score=score,
    )
    setattr(row, _SOURCE_FIELD[kind], int(raw_pk))
    return row


_SOURCE_FIELD = {
    EvidenceKind.JOURNAL.value: "journal_entry_id",
    EvidenceKind.EPISODE.value: "relationship_episode_id",
    EvidenceKind.PROGRESS_NOTE.value: "progress_note_id",
    EvidenceKind.PROCESS_NOTE.value: "process_note_id",
}


def create_seeded_theme(
    ctx: trail.Context,
    *,
    client: Client,
    label: str,
    seeds: Sequence[Evidence],
    max_seeds: int = 12,
) -> RecurringTheme:
    """The therapist names a theme and marks the sentences that show it.

    ``seeds`` must come from what this therapist may read of this client (the caller
    takes them from ``seeded.documents_for``); the theme is the therapist's own, like a
    found one, and is accepted from the start because the therapist made it.
    """
    user = _user(ctx, Role.THERAPIST, "seeding a theme")
    if not _has_access(user, client):
        raise ProcessActionError("this client is not in your care")
    clean = " ".join(label.split())
    if not clean:
        raise ProcessActionError("give the theme a name")
    if len(clean) > 200:
        raise ProcessActionError("the name is longer than 200 characters")
    if not seeds:
        raise ProcessActionError("mark at least one sentence that shows the theme")
    if len(seeds) > max_seeds:
        raise ProcessActionError(f"mark at most {max_seeds} sentences")
    now = timezone.now()
    with transaction.atomic():
        theme = RecurringTheme.objects.create(
            client=client,
            owner=user,
            stable_key="seeded-" + secrets.token_hex(8),
            label=clean,
            renamed=True,
            status=ThemeStatus.ACCEPTED,
            origin=ThemeOrigin.SEEDED,
            first_seen=min(s.date for s in seeds),
            last_seen=max(s.date for s in seeds),
            created_at=now,
            updated_at=now,
        )
        rows = ThemeEvidence.objects.bulk_create(
            [
                _seeded_row(theme, seed, role=EvidenceRole.SEED, position=i)
                for i, seed in enumerate(seeds)
            ]
        )
        _recount_seeded(theme, rows)
        trail.record(
            ctx,
            Action.CREATE,
            theme,
            client_id=client.pk,
            detail={"seeded": True, "seeds": sorted({s.document_id for s in seeds})},
        )
    return theme


def _recount_seeded(theme: RecurringTheme, rows: Sequence[ThemeEvidence] | None = None) -> None:
    """Dates and counts of a seeded theme from its seeds and accepted sentences."""
    kept = [
        r
        for r in (rows if rows is not None else theme.evidence.all())
        if r.role in (EvidenceRole.SEED, EvidenceRole.ACCEPTED)
    ]
    if kept:
        recount_theme_rows(theme, kept)
        theme.save(update_fields=list(RECOUNTED_FIELDS))


def judge_suggestion(
    ctx: trail.Context,
    theme: RecurringTheme,
    *,
    evidence: Evidence,
    score: float,
    verdict: str,
) -> ThemeEvidence:
    """The therapist accepts or rejects one ranked suggestion of a seeded theme.

    An accepted sentence joins the theme's evidence and steers later rankings with the
    seeds; a rejected one is remembered by its span only and never suggested again.
    """
    user = _user(ctx, Role.THERAPIST, "judging a suggestion")
    if theme.owner_id != user.pk or not _has_access(user, theme.client):
        raise ProcessActionError("only the therapist who seeded this theme can judge it")
    if theme.origin != ThemeOrigin.SEEDED:
        raise ProcessActionError("only seeded themes take suggestions")
    if verdict not in ("accept", "reject"):
        raise ProcessActionError("choose accept or reject")
    role = EvidenceRole.ACCEPTED if verdict == "accept" else EvidenceRole.REJECTED
    with transaction.atomic():
        locked = RecurringTheme.objects.select_for_update().get(pk=theme.pk)
        kind, _, raw_pk = evidence.document_id.partition(":")
        field = _SOURCE_FIELD.get(kind)
        if field is None or not raw_pk.isdigit():
            raise ProcessActionError("that sentence does not come from this client's record")
        if ThemeEvidence.objects.filter(
            theme=locked, kind=kind, start=evidence.start, end=evidence.end, **{field: int(raw_pk)}
        ).exists():
            raise ProcessActionError("that sentence has already been judged")
        row = _seeded_row(
            locked,
            evidence,
            role=role,
            position=locked.evidence.count(),
            score=round(float(score), 6),
        )
        row.save()
        _recount_seeded(locked)
        locked.updated_at = timezone.now()
        locked.save(update_fields=["updated_at"])
        trail.record(
            ctx,
            Action.UPDATE,
            locked,
            client_id=locked.client_id,
            detail={"verdict": verdict, "source": evidence.document_id, "evidence": row.pk},
        )
    return row
