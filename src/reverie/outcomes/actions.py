"""Changes to outcome settings, each audited in the same transaction as the change."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.outcomes import summary
from reverie.outcomes.models import PracticeSettings


class OutcomeActionError(ValueError):
    """The change cannot be made; the message is safe to show."""


def practice_settings(practice: Practice) -> PracticeSettings:
    row, _ = PracticeSettings.objects.get_or_create(practice=practice)
    return row


def _require_admin(ctx: trail.Context, practice: Practice) -> None:
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != practice.pk:
        raise OutcomeActionError("only an admin of this practice can change outcome settings")


def set_publish_outcomes(
    ctx: trail.Context, practice: Practice, *, publish: bool
) -> PracticeSettings:
    """Publish (or stop publishing) the de-identified outcome summary on the public page."""
    _require_admin(ctx, practice)
    with transaction.atomic():
        row = practice_settings(practice)
        if row.publish_outcomes == publish:
            return row
        row.publish_outcomes = publish
        row.updated_at = timezone.now()
        row.save(update_fields=["publish_outcomes", "updated_at"])
        trail.record(ctx, Action.UPDATE, row, detail={"publish_outcomes": publish})
    return row


def request_recompute(ctx: trail.Context, practice: Practice) -> None:
    """Ask the worker to rebuild every outcome summary and refit the expected curves."""
    _require_admin(ctx, practice)
    with transaction.atomic():
        summary.request_full_recompute()
        trail.record(
            ctx,
            Action.UPDATE,
            object_type="outcomes.refreshstate",
            object_id=1,
            detail={"full_recompute": True},
        )
