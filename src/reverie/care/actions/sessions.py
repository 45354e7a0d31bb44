"""Recurring series, breaks, attendance, reminders and the calendar feed."""

from __future__ import annotations

import datetime
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reverie.accounts.models import Role, User, hash_token
from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care import emails, hooks, telehealth
from reverie.care.actions.alerts import CareActionError
from reverie.care.models import (
    Appointment,
    Attendance,
    Break,
    CalendarFeed,
    Episode,
    EpisodeStatus,
    SessionSeries,
    VideoRoom,
)
from reverie.lib.recurrence import occurrences
from reverie.vault import envelope
from reverie.vault.models import Scope

#: How far ahead series are turned into bookable sessions; the worker extends it daily.
HORIZON_WEEKS = 12


def materialize_series(series: SessionSeries, *, until: datetime.date | None = None) -> int:
    """Create the series' sessions up to the horizon. Safe to repeat, and safe when two
    workers run it at once: the unique (episode, start) constraint absorbs duplicates."""
    today = timezone.localdate()
    until = until or today + datetime.timedelta(weeks=HORIZON_WEEKS)
    start = max(series.starts_on, today)
    breaks = list(series.episode.breaks.values_list("starts_on", "ends_on"))
    times = occurrences(
        weekdays=series.weekdays,
        every_weeks=series.every_weeks,
        starts_on=series.starts_on,
        ends_on=series.ends_on,
        start_time=series.start_time,
        time_zone=series.time_zone,
        window=(start, until),
        breaks=breaks,
    )
    now = timezone.now()
    rows = [
        Appointment(
            episode=series.episode,
            series=series,
            starts_at=t,
            duration_minutes=series.duration_minutes,
        )
        for t in times
        if t > now
    ]
    before = Appointment.objects.filter(series=series).count()
    Appointment.objects.bulk_create(rows, ignore_conflicts=True)
    return Appointment.objects.filter(series=series).count() - before


def _validate_series(weekdays: list[int], every_weeks: int, duration: int) -> None:
    if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
        raise CareActionError("choose at least one weekday")
    if every_weeks not in (1, 2):
        raise CareActionError("a series meets every week or every other week")
    if every_weeks == 2 and len(weekdays) > 1:
        raise CareActionError("a fortnightly series meets on one weekday")
    if not 15 <= duration <= 180:
        raise CareActionError("a session lasts between 15 and 180 minutes")


def create_series(
    ctx: trail.Context,
    episode: Episode,
    *,
    weekdays: list[int],
    every_weeks: int,
    start_time: datetime.time,
    starts_on: datetime.date,
    duration_minutes: int = 50,
    video_link: str = "",
) -> SessionSeries:
    if ctx.user is None:
        raise CareActionError("this change needs a signed-in person")
    if episode.status == EpisodeStatus.ENDED:
        raise CareActionError("an ended episode cannot have new sessions")
    weekdays = sorted(set(weekdays))
    _validate_series(weekdays, every_weeks, duration_minutes)
    video_link = _video_link(video_link)
    with transaction.atomic():
        series = SessionSeries.objects.create(
            video_link=video_link,
            episode=episode,
            weekdays=weekdays,
            every_weeks=every_weeks,
            start_time=start_time,
            duration_minutes=duration_minutes,
            time_zone=episode.client.practice.zone.key,
            starts_on=starts_on,
            created_by=ctx.user,
        )
        created = materialize_series(series)
        trail.record(
            ctx,
            Action.CREATE,
            series,
            client_id=episode.client_id,
            detail={
                "weekdays": weekdays,
                "every_weeks": every_weeks,
                "sessions": created,
                "video": bool(video_link),
            },
        )
    return series


def change_series_from(
    ctx: trail.Context,
    series: SessionSeries,
    *,
    from_date: datetime.date,
    weekdays: list[int],
    every_weeks: int,
    start_time: datetime.time,
    duration_minutes: int,
    video_link: str | None = None,
) -> SessionSeries:
    """Change the pattern from a date on. The old series ends the day before; its future
    sessions that have not happened are removed; everything before stays as it was."""
    if from_date <= series.starts_on:
        raise CareActionError("the change must start after the series began")
    if from_date < timezone.localdate():
        raise CareActionError("a change cannot start in the past: past sessions stay as they were")
    with transaction.atomic():
        series.ends_on = from_date - datetime.timedelta(days=1)
        series.save(update_fields=["ends_on"])
        start = datetime.datetime.combine(from_date, datetime.time.min, tzinfo=datetime.UTC)
        removed, _ = Appointment.objects.filter(
            series=series, starts_at__gte=start, attendance=Attendance.SCHEDULED
        ).delete()
        new = create_series(
            ctx,
            series.episode,
            weekdays=weekdays,
            every_weeks=every_weeks,
            start_time=start_time,
            starts_on=from_date,
            duration_minutes=duration_minutes,
            video_link=series.video_link if video_link is None else video_link,
        )
        trail.record(
            ctx,
            Action.UPDATE,
            series,
            client_id=series.episode.client_id,
            detail={
                "ended_on": series.ends_on.isoformat(),
                "removed_future": removed,
                "replaced_by": new.pk,
            },
        )
    return new


def _video_link(url: str) -> str:
    url = url.strip()
    if url:
        problem = telehealth.check_video_link(url)
        if problem:
            raise CareActionError(problem)
    return url


def set_video_link(ctx: trail.Context, appointment: Appointment, url: str) -> None:
    """Give one session its own video link (empty: use the series' link, if any)."""
    if ctx.user is None:
        raise CareActionError("this change needs a signed-in person")
    url = _video_link(url)
    if appointment.video_link == url:
        return
    with transaction.atomic():
        appointment.video_link = url
        appointment.save(update_fields=["video_link"])
        trail.record(
            ctx,
            Action.UPDATE,
            appointment,
            client_id=appointment.episode.client_id,
            detail={"fields": ["video_link"], "video": bool(url)},
        )


def set_video_room(ctx: trail.Context, url: str) -> None:
    """Set (or, with an empty ``url``, remove) the signed-in therapist's own video room."""
    user = ctx.user
    if user is None or user.role != Role.THERAPIST:
        raise CareActionError("only a therapist has a video room")
    url = _video_link(url)
    with transaction.atomic():
        if not url:
            room = VideoRoom.objects.filter(therapist=user).first()
            if room is not None:
                trail.record(ctx, Action.DELETE, room)
                room.delete()
            return
        room, created = VideoRoom.objects.update_or_create(
            therapist=user, defaults={"url": url, "updated_at": timezone.now()}
        )
        trail.record(ctx, Action.CREATE if created else Action.UPDATE, room)


def add_break(
    ctx: trail.Context,
    episode: Episode,
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    reason: str,
) -> Break:
    """A holiday or break: sessions inside it are cancelled with the reason, and series
    generate none there."""
    if ends_on < starts_on:
        raise CareActionError("a break must end on or after its first day")
    with transaction.atomic():
        pause = Break.objects.create(
            episode=episode, starts_on=starts_on, ends_on=ends_on, reason=reason[:200]
        )
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(starts_on, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(ends_on, datetime.time.max, tzinfo=tz)
        cancelled = Appointment.objects.filter(
            episode=episode, starts_at__range=(start, end), attendance=Attendance.SCHEDULED
        ).update(
            attendance=Attendance.CANCELLED,
            # One token for every session of the break (the field refuses plaintext here).
            cancel_reason=envelope.seal(Scope.CLIENT, episode.client_id, f"break: {reason}"[:200]),
        )
        trail.record(
            ctx,
            Action.CREATE,
            pause,
            client_id=episode.client_id,
            detail={"cancelled_sessions": cancelled},
        )
    return pause


def cancel_after(episode: Episode, day: datetime.date, *, reason: str) -> int:
    """Cancel scheduled sessions after ``day``; the caller audits."""
    after = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    return Appointment.objects.filter(
        episode=episode, starts_at__gte=after, attendance=Attendance.SCHEDULED
    ).update(
        attendance=Attendance.CANCELLED,
        cancel_reason=envelope.seal(Scope.CLIENT, episode.client_id, reason[:200]),
    )


def record_attendance(
    ctx: trail.Context, appointment: Appointment, attendance: str, *, reason: str = ""
) -> None:
    if attendance not in Attendance.values:
        raise CareActionError("unknown attendance")
    happened = appointment.starts_at <= timezone.now()
    if attendance in (Attendance.ATTENDED, Attendance.NO_SHOW) and not happened:
        raise CareActionError("attendance can be recorded once the session has begun")
    if attendance in (Attendance.CANCELLED, Attendance.LATE_CANCEL) and not reason.strip():
        raise CareActionError("give the reason for the cancellation")
    with transaction.atomic():
        appointment.attendance = attendance
        appointment.cancel_reason = reason.strip()[:200]
        appointment.save(update_fields=["attendance", "cancel_reason"])
        trail.record(
            ctx,
            Action.UPDATE,
            appointment,
            client_id=appointment.episode.client_id,
            detail={"attendance": attendance},
        )
        hooks.attendance_recorded.send(sender=Appointment, ctx=ctx, appointment=appointment)


def send_due_reminders(
    now: datetime.datetime | None = None, *, ahead: datetime.timedelta | None = None
) -> int:
    """Email consenting clients about sessions in the next day, each exactly once.

    The reminder is claimed by a conditional UPDATE and queued in the outbox in the same
    transaction, so two workers racing for the same session cannot both queue it, and a
    session is never marked reminded without its reminder. Returns how many were queued.
    """
    now = now or timezone.now()
    ahead = ahead or datetime.timedelta(hours=24)
    due = Appointment.objects.filter(
        starts_at__gt=now,
        starts_at__lte=now + ahead,
        attendance=Attendance.SCHEDULED,
        reminder_sent_at__isnull=True,
        episode__client__consent_email_reminders=True,
    ).exclude(episode__client__email="")
    sent = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            if not Appointment.objects.filter(pk=pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue
            appointment = Appointment.objects.select_related(
                "episode__client__practice", "series"
            ).get(pk=pk)
            trail.record(
                trail.system("care.reminders", practice=appointment.episode.client.practice),
                Action.UPDATE,
                appointment,
                client_id=appointment.episode.client_id,
                detail={"reminder_sent": True},
            )
            emails.appointment_reminder(appointment)
        sent += 1
    return sent


def extend_running_series(today: datetime.date | None = None) -> int:
    """Keep :data:`HORIZON_WEEKS` of sessions bookable ahead of every running series (the
    ``care.extend_series`` job). Each series' new sessions are created and audited, as
    the system, in one transaction; returns how many sessions were created."""
    today = today or timezone.localdate()
    running = (
        SessionSeries.objects.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .exclude(episode__status=EpisodeStatus.ENDED)
        .select_related("episode__client__practice")
    )
    total = 0
    for series in running:
        with transaction.atomic():
            known = set(Appointment.objects.filter(series=series).values_list("pk", flat=True))
            created = materialize_series(series)
            if not created:
                continue
            new = sorted(
                set(Appointment.objects.filter(series=series).values_list("pk", flat=True)) - known
            )
            client = series.episode.client
            trail.record(
                trail.system("care.extend_series", practice=client.practice),
                Action.CREATE,
                object_type="care.appointment",
                client_id=client.pk,
                detail={"series": series.pk, "appointments": new},
            )
        total += created
    return total


def create_calendar_feed(ctx: trail.Context, therapist: User) -> str:
    """A new private feed URL token; earlier feeds of the therapist are revoked. Only the
    token's digest is stored, so the URL is shown once."""
    if therapist.role != Role.THERAPIST:
        raise CareActionError("calendar feeds are for therapists")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.filter(therapist=therapist, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        feed = CalendarFeed.objects.create(therapist=therapist, digest=hash_token(raw))
        trail.record(ctx, Action.TOKEN_CREATE, feed)
    return raw


def revoke_calendar_feed(ctx: trail.Context, therapist: User) -> int:
    with transaction.atomic():
        revoked = CalendarFeed.objects.filter(therapist=therapist, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            trail.record(
                ctx, Action.TOKEN_REVOKE, object_type="care.calendarfeed", object_id=therapist.pk
            )
    return revoked
