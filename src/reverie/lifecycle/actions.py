"""Changes to the data-lifecycle settings, each audited in its transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.lifecycle.models import RetentionPolicy


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
