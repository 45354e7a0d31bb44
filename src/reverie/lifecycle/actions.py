"""Changes to the data-lifecycle settings, each audited in its transaction."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client
from reverie.lifecycle import erasure
from reverie.lifecycle.models import (
    ERASURE_REQUEST_DAYS,
    ErasureRequest,
    ErasureStatus,
    RetentionPolicy,
)


class LifecycleActionError(ValueError):
    pass


def set_retention_policy(
    ctx: trail.Context, *, years_after_last_episode: int, years_after_majority: int
) -> RetentionPolicy:
    """The practice admin sets how long records are kept."""
    user = ctx.user
    if user is None or user.role != Role.ADMIN:
        raise LifecycleActionError("only the practice admin sets the retention policy")
    if not 1 <= years_after_last_episode <= 100 or not 0 <= years_after_majority <= 100:
        raise LifecycleActionError("years out of range")
    with transaction.atomic():
        policy, created = RetentionPolicy.objects.get_or_create(practice_id=user.practice_id)
        old = (policy.years_after_last_episode, policy.years_after_majority)
        policy.years_after_last_episode = years_after_last_episode
        policy.years_after_majority = years_after_majority
        policy.updated_by = user
        policy.updated_at = timezone.now()
        policy.save()
        trail.record(
            ctx,
            Action.CREATE if created else Action.UPDATE,
            policy,
            detail={
                "before": list(old),
                "after": [years_after_last_episode, years_after_majority],
            },
        )
    return policy


# --- erasure (two-person rule; docs/data-lifecycle.md) ---------------------------------

#: Short enough to type, long enough that "x" or "ok" is refused.
MIN_REASON = 20


def _admin_of(ctx: trail.Context, client: Client) -> User:
    user = ctx.user
    if user is None or user.role != Role.ADMIN or not user.is_active:
        raise LifecycleActionError("only a practice admin may erase a client")
    if client.practice_id != user.practice_id:
        raise LifecycleActionError("no such client")
    return user


def request_erasure(
    ctx: trail.Context, client: Client, *, reason: str, typed_name: str
) -> ErasureRequest:
    """The first admin asks for ``client`` to be erased; a second admin must confirm."""
    user = _admin_of(ctx, client)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise LifecycleActionError(
            f"give the reason for the erasure in at least {MIN_REASON} characters"
        )
    expected = f"{client.given_name} {client.family_name}".strip()
    if " ".join(typed_name.split()).casefold() != " ".join(expected.split()).casefold():
        raise LifecycleActionError("type the client's full name exactly to confirm")
    if erasure.is_erased(client):
        raise LifecycleActionError("this client is already erased")
    now = timezone.now()
    with transaction.atomic():
        _expire(now)
        if ErasureRequest.objects.filter(client=client, status=ErasureStatus.PENDING).exists():
            raise LifecycleActionError("an erasure of this client is already waiting")
        try:
            with transaction.atomic():
                row = ErasureRequest.objects.create(
                    practice_id=client.practice_id,
                    client=client,
                    requested_by=user,
                    reason=reason,
                    created_at=now,
                    expires_at=now + datetime.timedelta(days=ERASURE_REQUEST_DAYS),
                )
        except IntegrityError as exc:  # another admin asked at the same moment
            raise LifecycleActionError("an erasure of this client is already waiting") from exc
        trail.record(ctx, Action.CREATE, row, client_id=client.pk, detail={"erasure": "requested"})
    return row


def _pending(ctx: trail.Context, pk: int) -> tuple[User, ErasureRequest]:
    if ctx.practice_id is None:
        raise LifecycleActionError("only a practice admin may erase a client")
    row = (
        ErasureRequest.objects.select_for_update()
        .select_related("client")
        .filter(pk=pk, practice_id=ctx.practice_id)
        .first()
    )
    if row is None:
        raise LifecycleActionError("no such erasure request")
    user = _admin_of(ctx, row.client)
    if not row.is_open():
        raise LifecycleActionError(
            "this erasure request is no longer waiting (withdrawn, expired or done)"
        )
    return user, row


def withdraw_erasure(ctx: trail.Context, pk: int) -> ErasureRequest:
    """Any admin of the practice may withdraw a waiting request (the requester, or the
    second admin declining it)."""
    with transaction.atomic():
        user, row = _pending(ctx, pk)
        row.status = ErasureStatus.WITHDRAWN
        row.decided_by = user
        row.decided_at = timezone.now()
        row.save(update_fields=["status", "decided_by", "decided_at"])
        trail.record(
            ctx, Action.UPDATE, row, client_id=row.client_id, detail={"erasure": "withdrawn"}
        )
    return row


def confirm_erasure(ctx: trail.Context, pk: int, *, typed_name: str) -> ErasureRequest:
    """The second admin confirms; the client is erased in this one transaction."""
    with transaction.atomic():
        user, row = _pending(ctx, pk)
        if row.requested_by_id == user.pk:
            raise LifecycleActionError(
                "a second admin must confirm: you cannot confirm your own erasure request"
            )
        client = row.client
        expected = f"{client.given_name} {client.family_name}".strip()
        if " ".join(typed_name.split()).casefold() != " ".join(expected.split()).casefold():
            raise LifecycleActionError("type the client's full name exactly to confirm")
        done = erasure.erase(ctx, client)
        row.status = ErasureStatus.ERASED
        row.decided_by = user
        row.decided_at = timezone.now()
        row.keys_destroyed = len(done.keys)
        row.save(update_fields=["status", "decided_by", "decided_at", "keys_destroyed"])
        trail.record(
            ctx, Action.UPDATE, row, client_id=row.client_id, detail={"erasure": "confirmed"}
        )
    return row


def _expire(now: datetime.datetime) -> int:
    rows = list(ErasureRequest.objects.filter(status=ErasureStatus.PENDING, expires_at__lte=now))
    for row in rows:
        row.status = ErasureStatus.EXPIRED
        row.decided_at = now
        row.save(update_fields=["status", "decided_at"])
        trail.record(
            trail.system("lifecycle.erasure_expiry"),
            Action.UPDATE,
            row,
            client_id=row.client_id,
            detail={"erasure": "expired"},
        )
    return len(rows)


def expire_erasure_requests(now: datetime.datetime | None = None) -> int:
    with transaction.atomic():
        return _expire(now or timezone.now())
