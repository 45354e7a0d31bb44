"""Changes to outcome settings and the clinical-support reviews therapists record after a
not-on-track alert, each audited in the same transaction as the change."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Practice, Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.access import visible_alerts
from reverie.care.actions import acknowledge_alert
from reverie.care.models import Alert, AlertKind
from reverie.outcomes import summary, support
from reverie.outcomes.models import PracticeSettings, SupportReview


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


def record_support_review(
    ctx: trail.Context,
    alert: Alert,
    *,
    reviewed: list[str],
    note: str = "",
    acknowledge: bool = False,
) -> SupportReview:
    """Record which areas of the clinical-support checklist (``outcomes/support.py``) the
    therapist reviewed after a not-on-track alert, with an optional note; saving again
    replaces the areas and the note. With ``acknowledge`` the alert is acknowledged too.

    Only a therapist who sees the alert (the client is in their care now) may record it.
    The audit entry names the areas and whether there is a note, never the note's text.
    """
    user = ctx.user
    if user is None or user.role != Role.THERAPIST:
        raise OutcomeActionError("only the client's therapist can record a checklist review")
    if alert.kind != AlertKind.NOT_ON_TRACK:
        raise OutcomeActionError("the checklist follows a not-on-track alert")
    if not visible_alerts(user).filter(pk=alert.pk).exists():
        raise OutcomeActionError("this client is not in your care")
    try:
        keys = support.clean_keys(reviewed)
    except ValueError as exc:
        raise OutcomeActionError(str(exc)) from None
    note = note.strip()
    if len(note) > support.NOTE_MAX:
        raise OutcomeActionError(f"the note is longer than {support.NOTE_MAX} characters")
    if not keys:
        raise OutcomeActionError("tick at least one area you reviewed")
    now = timezone.now()
    with transaction.atomic():
        row = SupportReview.objects.select_for_update().filter(alert=alert).first()
        created = row is None
        if row is None:
            row = SupportReview(alert=alert, created_at=now)
        row.author = user
        row.reviewed = list(keys)
        row.note = note
        row.updated_at = now
        row.save()
        trail.record(
            ctx,
            Action.CREATE if created else Action.UPDATE,
            row,
            client_id=alert.client_id,
            detail={"alert": alert.pk, "reviewed": list(keys), "note": bool(note)},
        )
        if acknowledge and alert.acknowledged_at is None:
            acknowledge_alert(ctx, alert)
    return row
