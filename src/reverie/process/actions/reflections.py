"""Session reflections: the treating therapist's seven-feature rating of one session."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Attendance
from reverie.process.actions.common import (
    ProcessActionError,
    _text,
    _user,
)
from reverie.process.models import (
    SessionReflection,
)
from reverie.process.reflection import FEATURE_KEYS, validate_scores

# ----------------------------------------------------------------- session reflections


def save_reflection(
    ctx: trail.Context,
    *,
    appointment: Appointment,
    scores: Mapping[str, object],
    comment: str = "",
) -> SessionReflection:
    """Create or update the reflection on one session. Only the episode's therapist
    reflects on its sessions, and only on sessions that took place."""
    author = _user(ctx, Role.THERAPIST, "a session reflection")
    episode = appointment.episode
    if episode.therapist_id != author.pk:
        raise ProcessActionError("only the treating therapist reflects on this session")
    if appointment.starts_at > timezone.now():
        raise ProcessActionError("this session has not happened yet")
    if appointment.attendance in (Attendance.CANCELLED, Attendance.LATE_CANCEL, Attendance.NO_SHOW):
        raise ProcessActionError("reflections are for sessions that took place")
    try:
        clean = validate_scores(scores)
    except ValueError as exc:
        raise ProcessActionError(str(exc)) from None
    comment = _text(comment, "the comment", limit=2_000)
    session_date = timezone.localtime(appointment.starts_at).date()
    with transaction.atomic():
        existing = (
            SessionReflection.objects.select_for_update().filter(appointment=appointment).first()
        )
        if existing is None:
            reflection = SessionReflection.objects.create(
                appointment=appointment,
                episode=episode,
                author=author,
                session_date=session_date,
                comment=comment,
                **clean,
            )
            trail.record(
                ctx,
                Action.CREATE,
                reflection,
                client_id=episode.client_id,
                detail={"appointment": appointment.pk},
            )
            return reflection
        if existing.author_id != author.pk:
            raise ProcessActionError("only the author may change this reflection")
        changed = [k for k in FEATURE_KEYS if getattr(existing, k) != clean[k]]
        if existing.comment != comment:
            changed.append("comment")
        if not changed:
            return existing
        for key in FEATURE_KEYS:
            setattr(existing, key, clean[key])
        existing.comment = comment
        existing.updated_at = timezone.now()
        existing.save(update_fields=[*changed, "updated_at"])
        trail.record(
            ctx,
            Action.UPDATE,
            existing,
            client_id=episode.client_id,
            detail={"fields": changed},
        )
        return existing


# --------------------------------------------------------------- relationship episodes
