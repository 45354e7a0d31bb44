"""Periodic housekeeping for accounts."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import LoginAttempt, UnlockLink
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.core.worker import job


@job("accounts.prune_login_attempts", every=datetime.timedelta(hours=6))
def prune_login_attempts() -> None:
    """Sign-in attempts matter for throttling for minutes; keep 30 days for inquiries."""
    cutoff = timezone.now() - datetime.timedelta(days=30)
    with transaction.atomic():
        deleted, _ = LoginAttempt.objects.filter(at__lt=cutoff).delete()
        if deleted:
            trail.record(
                trail.system("accounts.prune_login_attempts"),
                Action.DELETE,
                object_type="accounts.loginattempt",
                detail={"deleted": deleted, "before": cutoff.isoformat()},
            )
        # Spent or expired unlock links are digests of nothing usable; keep them as long.
        deleted, _ = UnlockLink.objects.filter(expires_at__lt=cutoff).delete()
        if deleted:
            trail.record(
                trail.system("accounts.prune_login_attempts"),
                Action.DELETE,
                object_type="accounts.unlocklink",
                detail={"deleted": deleted, "before": cutoff.isoformat()},
            )
