"""Changes to people and credentials. Each action writes its audit entry in the same
transaction as the change."""

from __future__ import annotations

import datetime
import math
import secrets

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.accounts import throttle
from reverie.accounts.models import (
    ApiToken,
    LoginAttempt,
    Practice,
    Role,
    UnlockLink,
    User,
    hash_token,
)
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.lib import dates


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


def begin_sign_in(*, email: str, ip: str | None, browser: str) -> LoginAttempt:
    """Record a password attempt as failed *before* the password is checked.

    Hashing takes a noticeable moment; counting the attempt first means guesses sent side
    by side already count against each other. :func:`sign_in_succeeded` corrects the row.
    """
    return LoginAttempt.objects.create(
        email=email[:254], ip=ip, outcome=LoginAttempt.Outcome.FAILED, browser=browser
    )


def sign_in_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: the attempt counts as a success, which clears the email's
    back-off. (The sign-in itself is audited when the session starts.)"""
    LoginAttempt.objects.filter(pk=attempt.pk).update(outcome=LoginAttempt.Outcome.SUCCEEDED)


def sign_in_failed(attempt: LoginAttempt) -> None:
    """Audit a failed attempt, and the back-off it starts, if any.

    Both kinds of email take the same path (one lookup, one or two audit entries), so the
    time a failure takes says nothing about whether the account exists. Attempts refused
    while backed off are not audited one by one: that would let anyone write to the
    hash-chained trail, whose appends are serialised, as fast as they can send requests.
    """
    user = User.objects.filter(email=attempt.email).select_related("practice").first()
    ctx = trail.Context(user=None, ip=attempt.ip, practice=user.practice if user else None)
    detail: dict[str, object] = {"known_browser": bool(attempt.browser)}
    if user is None:
        detail["reason"] = "unknown email"
    after = throttle.verdict(attempt.email, attempt.ip, attempt.browser)
    with transaction.atomic():
        trail.record(ctx, Action.LOGIN_FAILED, user, detail=detail)
        if not after.allowed:
            trail.record(
                ctx,
                Action.LOCKED,
                user,
                detail={
                    **detail,
                    "backoff": after.scope,
                    "failures": after.failures,
                    "seconds": math.ceil(after.wait.total_seconds()),
                },
            )


def unlock_user(ctx: trail.Context, user: User, via: str = "admin") -> None:
    """Lift the back-off on ``user``'s email: failures before now stop counting."""
    with transaction.atomic():
        LoginAttempt.objects.create(
            email=user.email, ip=ctx.ip, outcome=LoginAttempt.Outcome.UNLOCKED
        )
        trail.record(ctx, Action.UNLOCK, user, detail={"via": via})


# An owner needs one link; a few allow for a lost message. More in an hour would only let
# a stranger fill someone's inbox.
UNLOCK_LINKS_PER_HOUR = 3


def request_unlock(email: str) -> None:
    """Email the owner of ``email`` a one-time unlock link, if there is such an owner.

    The caller answers the same whatever happens here, so nobody learns from the page
    whether the email has an account. Only a digest of the token is stored.
    """
    from reverie.accounts import emails

    now = timezone.now()
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    recent = UnlockLink.objects.filter(user=user, created_at__gte=now - datetime.timedelta(hours=1))
    if recent.count() >= UNLOCK_LINKS_PER_HOUR:
        return
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():  # the link and its message exist together or not at all
        UnlockLink.objects.create(
            user=user, digest=hash_token(raw), created_at=now, expires_at=now + UnlockLink.LIFETIME
        )
        emails.unlock_link(user, raw)


def find_unlock_link(raw: str) -> UnlockLink | None:
    """The live (unused, unexpired) link for ``raw`` whose owner may still sign in."""
    if not raw or len(raw) > 100:
        return None
    return (
        UnlockLink.objects.select_related("user", "user__practice")
        .filter(
            digest=hash_token(raw),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
            user__is_active=True,
        )
        .first()
    )


def use_unlock_link(raw: str, ip: str | None) -> User | None:
    """Spend the link once and unlock its owner; ``None`` if it is not (or no longer) live."""
    link = find_unlock_link(raw)
    if link is None:
        return None
    with transaction.atomic():
        # The conditional update makes the link single-use even if opened twice at once.
        claimed = UnlockLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not claimed:
            return None
        unlock_user(trail.Context(user=link.user, ip=ip), link.user, via="email link")
    return link.user


def password_chosen(ctx: trail.Context, user: User) -> None:
    """The owner chose a password through an emailed link (reset or invitation): that
    proves control of the email, so it also lifts any sign-in back-off."""
    with transaction.atomic():
        trail.record(ctx, Action.PASSWORD_RESET, user)
        LoginAttempt.objects.create(
            email=user.email, ip=ctx.ip, outcome=LoginAttempt.Outcome.UNLOCKED
        )


def set_active(ctx: trail.Context, user: User, active: bool) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        trail.record(ctx, Action.UPDATE, user, detail={"is_active": active})


class SettingRefused(ActionError):
    """A practice setting that cannot be made (unknown value, wrong person)."""


def set_date_locale(ctx: trail.Context, practice: Practice, locale: str) -> bool:
    """The practice admin chooses how every page and email of the practice writes dates.
    Audited with the old and new value; False (and no entry) when nothing changes."""
    if locale not in dates.FORMATS:
        raise SettingRefused("Choose one of the date formats listed.")
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != practice.pk:
        raise SettingRefused("Only an admin of this practice can change its date format.")
    with transaction.atomic():
        row = Practice.objects.select_for_update().get(pk=practice.pk)
        if row.date_locale == locale:
            return False
        before = row.date_locale
        row.date_locale = locale
        row.save(update_fields=["date_locale"])
        trail.record(ctx, Action.UPDATE, row, detail={"date_locale": [before, locale]})
    practice.date_locale = locale
    return True


def unconfirmed_totp_device(user: User) -> TOTPDevice:
    """The authenticator device being enrolled: the user's unconfirmed TOTP device, made on
    the first visit to the set-up page (its key is shown as a QR code until confirmed)."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "authenticator"}
    )
    return device


def confirm_two_factor(ctx: trail.Context, user: User, device: TOTPDevice) -> list[str]:
    """Confirm the enrolled device (its first code matched) and issue eight new backup
    codes, replacing any old ones. Audited; returns the codes, shown once."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        backup, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
        backup.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(8)]
        for code in codes:
            backup.token_set.create(token=code)
        trail.record(ctx, Action.OTP_ENROLL, user)
    return codes


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
