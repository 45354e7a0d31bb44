"""Every change the front door makes, each writing its audit entry in the same transaction.

Views call these; they never save the front door's models themselves. Consultation requests
hold what a prospective client chose to tell the practice, so their reads and changes are
audited like clinical data; audit entries carry identifiers and field names, never text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reverie.accounts import actions as account_actions
from reverie.accounts.models import Practice, Role, User
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import actions as care_actions
from reverie.care.models import Client, Episode
from reverie.directory import content, emails, hooks
from reverie.directory.models import (
    ConsultationAttempt,
    ConsultationRequest,
    EducationPage,
    RequestStatus,
    TherapistProfile,
)
from reverie.directory.profiles import concern_key
from reverie.directory.selfcheck import evaluate

#: How many consultation requests one connection may send in :data:`RATE_WINDOW`. A person
#: rarely needs more than one; a handful leaves room for mistakes and shared connections.
RATE_LIMIT: Final = 5
RATE_WINDOW: Final = dt.timedelta(hours=1)
#: Requests still "new" after this long are brought to the admins' attention once.
REPLY_REMINDER_AFTER: Final = dt.timedelta(days=2)

PROFILE_FIELDS: Final = (
    "published",
    "accepting_new",
    "credentials",
    "pronouns",
    "approach",
    "modalities",
    "concerns",
    "languages",
    "fee",
    "sliding_scale",
    "sliding_scale_min",
    "insurance",
    "telehealth",
    "location",
    "identity",
    "weekly_slots",
)


class DirectoryActionError(ValueError):
    """The change cannot be made; the message is safe to show and nothing was changed."""


def _require_admin(ctx: trail.Context, practice_id: int) -> User:
    user = ctx.user
    if user is None or user.role != Role.ADMIN or user.practice_id != practice_id:
        raise DirectoryActionError("this change needs a practice admin of the same practice")
    return user


# --- therapist profiles ------------------------------------------------------------------


def save_profile(
    ctx: trail.Context,
    therapist: User,
    fields: dict[str, Any],
    *,
    photo: bytes | None = None,
    remove_photo: bool = False,
) -> tuple[TherapistProfile, list[str]]:
    """Create or update the therapist's own profile; returns it and the changed field names."""
    if therapist.role != Role.THERAPIST:
        raise DirectoryActionError("only therapists have directory profiles")
    if ctx.user is None or ctx.user.pk != therapist.pk:
        raise DirectoryActionError("therapists edit their own profile only")
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise DirectoryActionError(f"unknown profile fields: {', '.join(sorted(unknown))}")
    now = timezone.now()
    with transaction.atomic():
        profile, created = TherapistProfile.objects.select_for_update().get_or_create(
            user=therapist, defaults={"published": False}
        )
        changed: list[str] = [
            f for f in PROFILE_FIELDS if f in fields and getattr(profile, f) != fields[f]
        ]
        for name in changed:
            setattr(profile, name, fields[name])
        if photo is not None:
            profile.photo = photo
            profile.photo_updated_at = now
            changed += ["photo", "photo_updated_at"]
        elif remove_photo and profile.photo:
            profile.photo = None
            profile.photo_updated_at = now
            changed += ["photo", "photo_updated_at"]
        if changed or created:
            profile.updated_at = now
            profile.save(update_fields=[*changed, "updated_at"])
            trail.record(
                ctx,
                Action.CREATE if created else Action.UPDATE,
                profile,
                detail={"fields": [f for f in changed if f != "photo_updated_at"]},
            )
    return profile, [f for f in changed if f != "photo_updated_at"]


def set_profile_published(ctx: trail.Context, profile: TherapistProfile, published: bool) -> None:
    """A practice admin shows or hides a therapist's profile."""
    _require_admin(ctx, profile.user.practice_id)
    if profile.published == published:
        return
    with transaction.atomic():
        profile.published = published
        profile.updated_at = timezone.now()
        profile.save(update_fields=["published", "updated_at"])
        trail.record(ctx, Action.UPDATE, profile, detail={"published": published})


# --- education pages -----------------------------------------------------------------------


def save_education_page(
    ctx: trail.Context, practice: Practice, slug: str, *, title: str, summary: str, body: str
) -> EducationPage:
    """Replace a psychoeducation page with the practice's own text."""
    _require_admin(ctx, practice.pk)
    if slug not in content.PAGES:
        raise DirectoryActionError(f"there is no page called {slug!r}")
    if not title.strip() or not summary.strip() or not body.strip():
        raise DirectoryActionError("a page needs a title, a summary and some text")
    with transaction.atomic():
        page, created = EducationPage.objects.select_for_update().get_or_create(
            practice=practice,
            slug=slug,
            defaults={"title": title, "summary": summary, "body": body, "updated_by": ctx.user},
        )
        if not created:
            page.title, page.summary, page.body = title, summary, body
            page.updated_by = ctx.user
            page.updated_at = timezone.now()
            page.save(update_fields=["title", "summary", "body", "updated_by", "updated_at"])
        trail.record(ctx, Action.CREATE if created else Action.UPDATE, page, detail={"slug": slug})
    return page


def reset_education_page(ctx: trail.Context, practice: Practice, slug: str) -> bool:
    """Remove the practice's version so the shipped page shows again; False if none existed."""
    _require_admin(ctx, practice.pk)
    with transaction.atomic():
        page = EducationPage.objects.filter(practice=practice, slug=slug).first()
        if page is None:
            return False
        page_id = page.pk
        page.delete()
        trail.record(
            ctx,
            Action.DELETE,
            object_type="directory.educationpage",
            object_id=page_id,
            detail={"slug": slug},
        )
    return True


# --- consultation requests ------------------------------------------------------------------


def ip_digest(ip: str | None) -> str:
    """A keyed digest of the connection's address: enough to count, useless to anyone else."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, (ip or "unknown").encode(), hashlib.sha256).hexdigest()


def rate_limited(digest: str, now: dt.datetime | None = None) -> bool:
    """True when this connection has already sent :data:`RATE_LIMIT` requests lately."""
    since = (now or timezone.now()) - RATE_WINDOW
    return ConsultationAttempt.objects.filter(ip_digest=digest, at__gte=since).count() >= RATE_LIMIT


def note_attempt(digest: str, now: dt.datetime | None = None) -> None:
    """Count one submission (genuine or not) towards the connection's limit."""
    ConsultationAttempt.objects.create(ip_digest=digest, at=now or timezone.now())


def submit_consultation(
    ctx: trail.Context,
    practice: Practice,
    *,
    name: str,
    email: str,
    phone: str = "",
    contact_by: str = "email",
    therapists: list[User] | None = None,
    days: list[int] | None = None,
    times: list[str] | None = None,
    availability_note: str = "",
    message: str = "",
    selfcheck: dict[str, object] | None = None,
) -> ConsultationRequest:
    """Store a consultation request, then confirm it to the person and tell the admins."""
    therapists = therapists or []
    if not name.strip() or not email.strip():
        raise DirectoryActionError("a request needs a name and an email address")
    if contact_by not in ("email", "phone") or (contact_by == "phone" and not phone.strip()):
        raise DirectoryActionError("choose email, or phone with a phone number")
    for therapist in therapists:
        if therapist.practice_id != practice.pk or therapist.role != Role.THERAPIST:
            raise DirectoryActionError("a chosen therapist does not work at this practice")
    if selfcheck is not None:
        try:
            evaluate(selfcheck)
        except ValueError as exc:
            raise DirectoryActionError(f"the self-check answers are not valid: {exc}") from None
    with transaction.atomic():
        request = ConsultationRequest.objects.create(
            practice=practice,
            name=" ".join(name.split()),
            email=email.strip().lower(),
            phone=phone.strip(),
            contact_by=contact_by,
            availability_days=sorted(set(days or [])),
            availability_times=list(times or []),
            availability_note=availability_note.strip(),
            message=message.strip(),
            selfcheck=selfcheck,
        )
        request.preferred_therapists.set(therapists)
        trail.record(
            ctx,
            Action.CREATE,
            request,
            detail={
                "therapists": sorted(t.pk for t in therapists),
                "selfcheck_attached": selfcheck is not None,
            },
        )
        # Queued with the request and sent after commit: a mail outage delays them and
        # never loses the request.
        emails.consultation_received(request)
        admins = User.objects.filter(practice=practice, role=Role.ADMIN, is_active=True)
        for admin in admins.order_by("pk"):
            emails.consultation_new(request, admin)
    return request


def triage(
    ctx: trail.Context,
    request: ConsultationRequest,
    *,
    status: str,
    triage_notes: str,
    assigned_therapist: User | None,
) -> list[str]:
    """Record where a request stands; returns the changed field names (audited by name)."""
    _require_admin(ctx, request.practice_id)
    if request.status == RequestStatus.CONVERTED:
        raise DirectoryActionError("this request has already become a client")
    if status not in RequestStatus.values or status == RequestStatus.CONVERTED:
        raise DirectoryActionError("choose a status; becoming a client happens by converting")
    if assigned_therapist is not None and (
        assigned_therapist.practice_id != request.practice_id
        or assigned_therapist.role != Role.THERAPIST
    ):
        raise DirectoryActionError("the assigned therapist must work at this practice")
    new = {
        "status": status,
        "triage_notes": triage_notes.strip(),
        "assigned_therapist_id": assigned_therapist.pk if assigned_therapist else None,
    }
    changed = [f for f, value in new.items() if getattr(request, f) != value]
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            setattr(request, name, new[name])
        request.updated_at = timezone.now()
        request.save(update_fields=[*changed, "updated_at"])
        trail.record(
            ctx,
            Action.UPDATE,
            request,
            detail={
                "fields": [f.removesuffix("_id") for f in changed],
                "status": status,
                "assigned_therapist": new["assigned_therapist_id"],
            },
        )
    return [f.removesuffix("_id") for f in changed]


@dataclass(frozen=True)
class Conversion:
    client: Client
    episode: Episode
    portal_user: User | None
    invitation_sent: bool  # queued in the outbox; it goes out after commit


def _concerns(selfcheck: object) -> list[str]:
    if not isinstance(selfcheck, dict):
        return []
    raw = selfcheck.get("concerns")
    keys = [concern_key(c) for c in raw] if isinstance(raw, list) else []
    return list(dict.fromkeys(k for k in keys if k))


def convert_to_client(
    ctx: trail.Context,
    request: ConsultationRequest,
    *,
    given_name: str,
    family_name: str,
    email: str,
    phone: str,
    therapist: User,
    modality: str,
    sessions_per_week: Decimal,
    start_date: dt.date,
    invite: bool,
) -> Conversion:
    """Make the person a client with an intake episode and, if asked, a portal invitation.

    All of it happens in one transaction: if any step is refused (an email already in use,
    a therapist of another practice), nothing is created. The invitation is queued in the
    same transaction and sent after it commits.
    """
    admin = _require_admin(ctx, request.practice_id)
    if request.client_id is not None or request.status == RequestStatus.CONVERTED:
        raise DirectoryActionError("this request has already become a client")
    email = email.strip().lower()
    fields = {
        "given_name": given_name.strip(),
        "family_name": family_name.strip(),
        "email": email,
        "phone": phone.strip(),
        "presenting_concerns": _concerns(request.selfcheck),
        "referral_source": "Consultation request from the website",
        "consent_email_reminders": False,
    }
    try:
        with transaction.atomic():
            client, episode = care_actions.create_client(
                ctx,
                therapist=therapist,
                fields=fields,
                modality=modality,
                sessions_per_week=sessions_per_week,
                start_date=start_date,
            )
            portal = None
            if invite:
                portal = account_actions.create_user(
                    ctx,
                    email=email,
                    role=Role.CLIENT,
                    practice=request.practice,
                    full_name=f"{fields['given_name']} {fields['family_name']}",
                )
                care_actions.link_portal_account(ctx, client, portal)
            request.status = RequestStatus.CONVERTED
            request.client = client
            request.assigned_therapist = therapist
            request.updated_at = timezone.now()
            request.save(update_fields=["status", "client", "assigned_therapist", "updated_at"])
            trail.record(
                ctx,
                Action.UPDATE,
                request,
                client_id=client.pk,
                detail={"status": RequestStatus.CONVERTED, "client": client.pk},
            )
            # A booked consultation becomes the client's first session (scheduling).
            hooks.request_converted.send(
                ConsultationRequest, ctx=ctx, request=request, client=client, episode=episode
            )
            if portal is not None:
                account_actions.send_invitation(ctx, portal, admin.display_name, client.pk)
    except (care_actions.CareActionError, account_actions.ActionError) as exc:
        raise DirectoryActionError(str(exc)) from None
    return Conversion(client, episode, portal, portal is not None)


# --- housekeeping (run by the worker) -------------------------------------------------------


def prune_attempts(now: dt.datetime | None = None) -> int:
    """Forget rate-limit counts older than a day; they only ever matter for an hour."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=1)
    with transaction.atomic():
        deleted, _ = ConsultationAttempt.objects.filter(at__lt=cutoff).delete()
        if deleted:
            trail.record(
                trail.system("directory.prune_attempts"),
                Action.DELETE,
                object_type="directory.consultationattempt",
                detail={"deleted": deleted, "before": cutoff.isoformat()},
            )
    return deleted


def remind_waiting(now: dt.datetime | None = None) -> dict[int, int]:
    """Email each practice's admins once about requests still new after two days.

    Each request is claimed with a conditional UPDATE (``reminded_at`` still empty), so two
    workers running at once never count the same request twice. Returns {practice id: count}.
    """
    now = now or timezone.now()
    due = ConsultationRequest.objects.filter(
        status=RequestStatus.NEW,
        reminded_at__isnull=True,
        created_at__lte=now - REPLY_REMINDER_AFTER,
    ).values_list("pk", "practice_id")
    counts: dict[int, int] = {}
    # Claims, their audit entries and reminders commit together: a request is marked
    # reminded only if its reminder is queued.
    with transaction.atomic():
        for pk, practice_id in due:
            claimed = ConsultationRequest.objects.filter(pk=pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if claimed:
                trail.record(
                    trail.system("directory.remind_waiting", practice=Practice(pk=practice_id)),
                    Action.UPDATE,
                    object_type="directory.consultationrequest",
                    object_id=pk,
                    detail={"reminded": True},
                )
                counts[practice_id] = counts.get(practice_id, 0) + 1
        for practice in Practice.objects.filter(pk__in=counts):
            admins = User.objects.filter(practice=practice, role=Role.ADMIN, is_active=True)
            for admin in admins.order_by("pk"):
                emails.consultation_waiting(practice, admin, counts[practice.pk])
    return counts
