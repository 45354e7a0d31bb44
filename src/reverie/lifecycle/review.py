"""Listing the records past their retention date, for the practice admin to review.

The job ``lifecycle.retention_review`` runs :func:`review` daily. A client is due when
none of their episodes is open and the policy's date (:mod:`reverie.lifecycle.retention`)
has passed; a client with no episode at all counts from the day their record was made. The
list is kept as :class:`~reverie.lifecycle.models.RetentionCandidate` rows: new ones are
added, ones no longer due (an episode reopened, the policy lengthened) are removed, each
change audited. Nothing is erased.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from reverie.accounts.models import Practice
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Client
from reverie.lifecycle.models import RetentionCandidate, RetentionPolicy
from reverie.lifecycle.retention import keep_until


def policy_for(practice: Practice) -> RetentionPolicy:
    """The practice's policy, or the defaults (unsaved) if the admin never set one."""
    policy = RetentionPolicy.objects.filter(practice=practice).first()
    return policy or RetentionPolicy(practice=practice)


def due(practice: Practice, today: datetime.date) -> dict[int, tuple[datetime.date, datetime.date]]:
    """``{client id: (last ended, keep until)}`` of the practice's records past retention."""
    policy = policy_for(practice)
    rows = (
        Client.objects.filter(practice=practice)
        .annotate(
            open_episodes=Count("episodes", filter=Q(episodes__end_date__isnull=True)),
            last_ended=Max("episodes__end_date"),
        )
        .filter(open_episodes=0)
        .values_list("pk", "last_ended", "created_at", "date_of_birth")
    )
    found: dict[int, tuple[datetime.date, datetime.date]] = {}
    zone = practice.zone
    for pk, last_ended, created_at, born in rows:
        ended = last_ended or created_at.astimezone(zone).date()
        until = keep_until(
            ended,
            years=policy.years_after_last_episode,
            born=born,
            years_after_majority=policy.years_after_majority,
        )
        if until <= today:
            found[pk] = (ended, until)
    return found


def review(today: datetime.date | None = None) -> dict[str, int]:
    """Bring every practice's list up to date; returns how many rows were added, changed
    and removed."""
    counts = {"added": 0, "changed": 0, "removed": 0}
    ctx = trail.system("lifecycle.retention_review")
    for practice in Practice.objects.all():
        day = today or timezone.now().astimezone(practice.zone).date()
        now_due = due(practice, day)
        listed = {c.client_id: c for c in RetentionCandidate.objects.filter(practice=practice)}
        with transaction.atomic():
            for client_id, (ended, until) in now_due.items():
                old = listed.get(client_id)
                if old is None:
                    row = RetentionCandidate.objects.create(
                        client_id=client_id,
                        practice=practice,
                        last_ended_on=ended,
                        keep_until=until,
                    )
                    trail.record(ctx, Action.CREATE, row, client_id=client_id)
                    counts["added"] += 1
                elif (old.last_ended_on, old.keep_until) != (ended, until):
                    old.last_ended_on, old.keep_until = ended, until
                    old.save(update_fields=["last_ended_on", "keep_until"])
                    trail.record(ctx, Action.UPDATE, old, client_id=client_id)
                    counts["changed"] += 1
            for client_id, old in listed.items():
                if client_id not in now_due:
                    trail.record(ctx, Action.DELETE, old, client_id=client_id)
                    old.delete()
                    counts["removed"] += 1
    return counts
