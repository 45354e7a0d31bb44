"""Clients and treatment episodes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import hooks
from reverie.care.actions.alerts import CareActionError
from reverie.care.models import (
    CLIENT_FIELDS,
    Client,
    EndReason,
    Episode,
    EpisodeStatus,
    FrequencyChange,
)

#: Allowed planned frequencies: 1–5 sessions a week, or fortnightly (0.5).
FREQUENCIES = (Decimal("0.5"), Decimal("1"), Decimal("2"), Decimal("3"), Decimal("4"), Decimal("5"))

#: Status changes a therapist may make directly; ending goes through ``end_episode``.
TRANSITIONS = {
    EpisodeStatus.INTAKE: {EpisodeStatus.ACTIVE},
    EpisodeStatus.ACTIVE: {EpisodeStatus.PAUSED},
    EpisodeStatus.PAUSED: {EpisodeStatus.ACTIVE},
    EpisodeStatus.ENDED: set(),
}


def _require_actor(ctx: trail.Context) -> User:
    if ctx.user is None:
        raise CareActionError("this change needs a signed-in person")
    return ctx.user


def _check_frequency(value: Decimal) -> Decimal:
    value = Decimal(value).quantize(Decimal("0.1"))
    if value not in FREQUENCIES:
        raise CareActionError("frequency must be fortnightly or 1 to 5 sessions a week")
    return value


def create_client(
    ctx: trail.Context,
    *,
    therapist: User,
    fields: dict[str, Any],
    modality: str,
    sessions_per_week: Decimal,
    start_date: datetime.date,
    goals: str = "",
) -> tuple[Client, Episode]:
    """A new client and their first episode, together: a therapist sees the clients they
    treat, so a client without an episode would be invisible to the person creating it."""
    if therapist.role != Role.THERAPIST:
        raise CareActionError("the treating therapist must have the therapist role")
    unknown = set(fields) - set(CLIENT_FIELDS)
    if unknown:
        raise CareActionError(f"unknown client fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        client = Client.objects.create(practice_id=therapist.practice_id, **fields)
        trail.record(ctx, Action.CREATE, client, client_id=client.pk)
        episode = open_episode(
            ctx,
            client=client,
            therapist=therapist,
            modality=modality,
            sessions_per_week=sessions_per_week,
            start_date=start_date,
            goals=goals,
        )
    return client, episode


def update_client(ctx: trail.Context, client: Client, fields: dict[str, Any]) -> list[str]:
    """Apply changed fields; returns their names (audited by name, never by value)."""
    changed = [f for f in CLIENT_FIELDS if f in fields and getattr(client, f) != fields[f]]
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(client, name, fields[name])
        client.save(update_fields=changed)
        trail.record(ctx, Action.UPDATE, client, client_id=client.pk, detail={"fields": changed})
    return changed


def open_episode(
    ctx: trail.Context,
    *,
    client: Client,
    therapist: User,
    modality: str,
    sessions_per_week: Decimal,
    start_date: datetime.date,
    goals: str = "",
) -> Episode:
    actor = _require_actor(ctx)
    if therapist.role != Role.THERAPIST or therapist.practice_id != client.practice_id:
        raise CareActionError("the therapist must belong to the client's practice")
    frequency = _check_frequency(sessions_per_week)
    with transaction.atomic():
        episode = Episode.objects.create(
            client=client,
            therapist=therapist,
            modality=modality,
            sessions_per_week=frequency,
            start_date=start_date,
            goals=goals,
            status=EpisodeStatus.INTAKE,
        )
        FrequencyChange.objects.create(
            episode=episode,
            effective_from=start_date,
            sessions_per_week=frequency,
            changed_by=actor,
        )
        trail.record(
            ctx, Action.CREATE, episode, client_id=client.pk, detail={"modality": modality}
        )
    return episode


def set_episode_status(ctx: trail.Context, episode: Episode, status: str) -> None:
    current = EpisodeStatus(episode.status)
    if status not in TRANSITIONS[current]:
        raise CareActionError(
            f"an episode that is {current.label.lower()} cannot become {status}"
            + (" (use End episode)" if status == EpisodeStatus.ENDED else "")
        )
    with transaction.atomic():
        episode.status = status
        episode.save(update_fields=["status"])
        trail.record(
            ctx, Action.UPDATE, episode, client_id=episode.client_id, detail={"status": status}
        )


def change_frequency(
    ctx: trail.Context, episode: Episode, sessions_per_week: Decimal, effective_from: datetime.date
) -> FrequencyChange:
    actor = _require_actor(ctx)
    frequency = _check_frequency(sessions_per_week)
    if episode.status == EpisodeStatus.ENDED:
        raise CareActionError("an ended episode's frequency cannot change")
    if effective_from < episode.start_date:
        raise CareActionError("the change cannot take effect before the episode started")
    with transaction.atomic():
        change = FrequencyChange.objects.create(
            episode=episode,
            effective_from=effective_from,
            sessions_per_week=frequency,
            changed_by=actor,
        )
        episode.sessions_per_week = frequency
        episode.save(update_fields=["sessions_per_week"])
        trail.record(
            ctx,
            Action.UPDATE,
            episode,
            client_id=episode.client_id,
            detail={"sessions_per_week": str(frequency), "from": effective_from.isoformat()},
        )
    return change


def end_episode(
    ctx: trail.Context, episode: Episode, *, reason: str, end_date: datetime.date
) -> None:
    """End treatment: record why and when, stop future sessions, start follow-ups.

    Sessions after the end date are cancelled (not deleted: the calendar keeps its
    history), the episode's series stop, and the measurement follow-up schedule (1, 3, 6
    and 12 months) begins — that is what lets a practice see whether gains last.
    """
    from reverie.care.actions.sessions import cancel_after

    if episode.status == EpisodeStatus.ENDED:
        raise CareActionError("this episode has already ended")
    if reason not in EndReason.values:
        raise CareActionError(f"the reason must be one of {', '.join(EndReason.values)}")
    if end_date < episode.start_date:
        raise CareActionError("an episode cannot end before it started")
    with transaction.atomic():
        episode.status = EpisodeStatus.ENDED
        episode.end_reason = reason
        episode.end_date = end_date
        episode.save(update_fields=["status", "end_reason", "end_date"])
        episode.series.filter(ends_on__isnull=True).update(ends_on=end_date)
        episode.series.filter(ends_on__gt=end_date).update(ends_on=end_date)
        cancelled = cancel_after(episode, end_date, reason="episode ended")
        trail.record(
            ctx,
            Action.UPDATE,
            episode,
            client_id=episode.client_id,
            detail={"status": "ended", "reason": reason, "cancelled_sessions": cancelled},
        )
        # Measures starts the follow-up questionnaires here (care/hooks.py).
        hooks.episode_ended.send(sender=Episode, ctx=ctx, episode=episode)


def link_portal_account(ctx: trail.Context, client: Client, user: User) -> None:
    """Give the client record its portal account, so the client sees their own data."""
    if user.role != Role.CLIENT or user.practice_id != client.practice_id:
        raise CareActionError("a portal account must be a client account of the same practice")
    with transaction.atomic():
        Client.objects.filter(pk=client.pk).update(user=user)
        client.user = user
        trail.record(ctx, Action.UPDATE, client, client_id=client.pk, detail={"fields": ["user"]})
        hooks.portal_account_linked.send(Client, ctx=ctx, client=client)
