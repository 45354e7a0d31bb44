"""Changes to people and credentials. Each action writes its audit entry in the same
transaction as the change."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from reverie.accounts.models import ApiToken, LoginAttempt, Practice, Role, User, hash_token
from reverie.audit import trail
from reverie.audit.models import Action


class ActionError(ValueError):
    """The request cannot be carried out; the message is safe to show."""


def create_user(
    ctx: trail.Context,
    *,
    email: str,
    role: str,
    practice: Practice,
    full_name: str = "",
    password: str | None = None,
) -> User:
    email = email.strip().lower()
    if role not in Role.values:
        raise ActionError(f"role must be one of {', '.join(Role.values)}")
    if User.objects.filter(email=email).exists():
        raise ActionError(f"a user with the email {email} already exists")
    with transaction.atomic():
        user = User.objects.create_user(
            email, practice=practice, role=role, full_name=full_name, password=password
        )
        trail.record(ctx, Action.CREATE, user, detail={"role": role, "practice": practice.slug})
    return user


def register_login_attempt(
    ctx: trail.Context, *, email: str, user: User | None, succeeded: bool
) -> None:
    """Count an attempt; lock the account after too many consecutive failures."""
    now = timezone.now()
    with transaction.atomic():
        LoginAttempt.objects.create(email=email[:254], ip=ctx.ip, succeeded=succeeded, at=now)
        if user is None:
            trail.record(ctx, Action.LOGIN_FAILED, detail={"reason": "unknown email"})
            return
        if succeeded:
            if user.failed_login_count:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user.refresh_from_db(fields=["failed_login_count", "locked_until"])
        trail.record(ctx, Action.LOGIN_FAILED, user, detail={"failures": user.failed_login_count})
        if user.failed_login_count >= settings.LOGIN_LOCKOUT_THRESHOLD:
            until = now + datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            User.objects.filter(pk=user.pk).update(locked_until=until, failed_login_count=0)
            user.locked_until = until
            trail.record(ctx, Action.LOCKED, user, detail={"until": until.isoformat()})


def ip_is_throttled(ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    failures = LoginAttempt.objects.filter(ip=ip, succeeded=False, at__gte=since).count()
    return failures >= settings.LOGIN_IP_LIMIT


def unlock_user(ctx: trail.Context, user: User) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(locked_until=None, failed_login_count=0)
        trail.record(ctx, Action.UNLOCK, user)


def set_active(ctx: trail.Context, user: User, active: bool) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        trail.record(ctx, Action.UPDATE, user, detail={"is_active": active})


def create_token(ctx: trail.Context, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Returns the token row and the raw value, which is never stored and never shown again."""
    raw = ApiToken.new_raw()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], digest=hash_token(raw), hint=raw[:10]
        )
        trail.record(ctx, Action.TOKEN_CREATE, token, detail={"user": user.pk, "hint": token.hint})
    return token, raw


def revoke_token(ctx: trail.Context, token: ApiToken) -> None:
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        trail.record(ctx, Action.TOKEN_REVOKE, token, detail={"user": token.user_id})


def send_invitation(
    ctx: trail.Context, user: User, invited_by: str, client_id: int | None = None
) -> None:
    """Queue the set-your-password invitation and record it, in one transaction; the
    outbox sends it after commit and retries while mail is down."""
    from reverie.accounts import emails

    with transaction.atomic():
        emails.invitation(user, invited_by=invited_by)
        trail.record(ctx, Action.INVITE, user, client_id=client_id)


def retry_message(ctx: trail.Context, message_id: int) -> bool:
    """The practice admin's "retry now" for a pending or failed outgoing message of their
    own practice: it becomes due at once (and is sent after this request). Audited;
    False when there is no such message to retry."""
    from reverie.outbox import delivery

    if ctx.practice_id is None:
        return False
    with transaction.atomic():
        if not delivery.retry_now(message_id, ctx.practice_id):
            return False
        trail.record(
            ctx,
            Action.UPDATE,
            object_type="outbox.message",
            object_id=message_id,
            detail={"retry": True},
        )
        transaction.on_commit(lambda: delivery.after_commit(message_id), robust=True)
    return True
