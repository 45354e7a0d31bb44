"""Changes to the clinical record. Each action writes its audit entry in the same
transaction as the change."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import CareGrant, Client


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
