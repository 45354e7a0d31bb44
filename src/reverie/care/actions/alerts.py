"""Care grants and alerts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import emails
from reverie.care.models import Alert, AlertKind, CareGrant, Client, Episode, EpisodeStatus


class CareActionError(ValueError):
    """The change cannot be made; the message is safe to show."""


def grant_access(ctx: trail.Context, *, client: Client, therapist: User, reason: str) -> CareGrant:
    """Let a therapist see a client who is not on their caseload (cover, supervision)."""
    if therapist.role != Role.THERAPIST or therapist.practice_id != client.practice_id:
        raise CareActionError("access can be granted only to a therapist of the same practice")
    if not reason.strip():
        raise CareActionError("say why access is granted; the reason is kept in the record")
    granter = ctx.user
    if granter is None:
        raise CareActionError("a grant must be made by a signed-in practice admin")
    if CareGrant.objects.filter(
        client=client, therapist=therapist, revoked_at__isnull=True
    ).exists():
        raise CareActionError(f"{therapist.display_name} already has access to this client")
    with transaction.atomic():
        grant = CareGrant.objects.create(
            client=client, therapist=therapist, granted_by=granter, reason=reason.strip()[:200]
        )
        trail.record(
            ctx, Action.CREATE, grant, client_id=client.pk, detail={"therapist": therapist.pk}
        )
    return grant


def revoke_grant(ctx: trail.Context, grant: CareGrant) -> None:
    if grant.revoked_at is not None:
        return
    with transaction.atomic():
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        trail.record(ctx, Action.UPDATE, grant, client_id=grant.client_id, detail={"revoked": True})


def raise_alert(
    ctx: trail.Context,
    *,
    client: Client,
    kind: str,
    summary: str,
    episode: Episode | None = None,
    source: models.Model | None = None,
) -> Alert:
    """Open an alert and tell the therapists caring for the client now, in the app and by
    email. A crisis alert with nobody in current care (a follow-up questionnaire after
    the episode ended) goes to the practice admins at once instead of after the
    escalation delay: nobody else would see it.

    The email is queued in the outbox in the same transaction as the alert and sent after
    it commits, so the alert (and the submission that raised it) is stored and visible
    whatever the mail server does; the outbox retries until the mail goes out.

    Idempotent per source object: raising the same alert for the same administration
    again (a retried submission) returns the existing alert and sends nothing twice.
    """
    source_type = source._meta.label_lower if source is not None else ""
    source_id = str(source.pk) if source is not None else ""
    if source_id:
        existing = Alert.objects.filter(
            kind=kind, source_type=source_type, source_id=source_id
        ).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        alert = Alert.objects.create(
            client=client,
            episode=episode,
            kind=kind,
            summary=summary[:200],
            source_type=source_type,
            source_id=source_id,
        )
        trail.record(ctx, Action.CREATE, alert, client_id=client.pk, detail={"kind": kind})
        recipients = alert_recipients(alert)
        for therapist in recipients:
            emails.alert_raised(alert, therapist)
        if not recipients and kind == AlertKind.CRISIS:
            _escalate(alert, timezone.now(), reason="no_current_therapist")
    return alert


def restate_alert(ctx: trail.Context, alert: Alert, *, summary: str) -> None:
    """Bring an alert's factual summary up to date with its source (a crisis answer saved
    in progress, then submitted), audited. It changes nothing else: an acknowledged alert
    stays acknowledged, an escalated one escalated."""
    summary = summary[:200]
    if alert.summary == summary:
        return
    with transaction.atomic():
        alert.summary = summary
        alert.save(update_fields=["summary"])
        trail.record(ctx, Action.UPDATE, alert, client_id=alert.client_id, detail={"summary": True})


def alert_recipients(alert: Alert) -> list[User]:
    """Who is told of a new alert: the therapists caring for the client now, as
    ``care.access.visible_alerts`` decides who sees it. That is the therapist of the
    alert's episode while it runs, else the therapists of the client's running episodes;
    a therapist whose episode ended is not told (and no longer sees the alert)."""
    episode = alert.episode
    if episode is not None and episode.status != EpisodeStatus.ENDED:
        therapist_ids = [episode.therapist_id]
    else:
        therapist_ids = list(
            Episode.objects.filter(client_id=alert.client_id)
            .exclude(status=EpisodeStatus.ENDED)
            .values_list("therapist_id", flat=True)
        )
    return list(User.objects.filter(pk__in=therapist_ids, is_active=True).order_by("pk"))


def _escalate(alert: Alert, now: datetime.datetime, *, reason: str) -> bool:
    """Escalate the alert to the practice admins, once: claim it with a conditional UPDATE
    (whichever worker or request gets there first), audit it and queue the admins' emails,
    all in one transaction; the outbox sends them after commit. False when it had been
    escalated already."""
    with transaction.atomic():
        if not Alert.objects.filter(pk=alert.pk, escalated_at__isnull=True).update(
            escalated_at=now
        ):
            return False
        alert.escalated_at = now
        practice = alert.client.practice
        trail.record(
            trail.system("care.escalation", practice=practice),
            Action.UPDATE,
            alert,
            client_id=alert.client_id,
            detail={"escalated": True, "reason": reason},
        )
        admins = User.objects.filter(practice_id=practice.pk, role=Role.ADMIN, is_active=True)
        for admin in admins.order_by("pk"):
            emails.alert_escalated(alert, admin)
    return True


def acknowledge_alert(ctx: trail.Context, alert: Alert) -> None:
    if alert.acknowledged_at is not None:
        return
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=ctx.user
        )
        if updated:
            trail.record(
                ctx, Action.UPDATE, alert, client_id=alert.client_id, detail={"acknowledged": True}
            )
    alert.refresh_from_db()


def escalate_unacknowledged(now: datetime.datetime | None = None) -> int:
    """Email the practice admins about crisis alerts nobody acknowledged in time.

    Each alert is claimed with a conditional UPDATE, so it is escalated once even when
    several workers run this at the same moment. The claim, its audit entry and the
    admins' emails commit together; the emails are sent after commit by the outbox, so
    escalation happens (and shows on the Alerts page) even while mail is down.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES)
    due = Alert.objects.filter(
        kind=AlertKind.CRISIS,
        acknowledged_at__isnull=True,
        escalated_at__isnull=True,
        created_at__lte=cutoff,
    ).values_list("pk", flat=True)
    escalated = 0
    for alert in Alert.objects.filter(pk__in=list(due)).select_related("client__practice"):
        if not _escalate(alert, now, reason="unacknowledged"):
            continue  # another worker escalated it first
        escalated += 1
    return escalated
