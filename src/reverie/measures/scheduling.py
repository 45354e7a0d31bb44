"""When a client is asked to complete which questionnaire.

Each episode has a measurement schedule: per instrument, whether it is asked before every
session and how many months after the episode ends it is asked again. Without a saved
schedule an episode uses the defaults: PHQ-9 and GAD-7 before every session and 1, 3, 6
and 12 months after termination. The follow-ups are what let a practice test whether gains
last after therapy ends (the brief's central question).

What is asked becomes a :class:`~reverie.measures.models.MeasureRequest` with a window:

- before a session: opens 48 hours before the session and closes when it starts, with a
  reminder 3 hours before it closes; only one session request per instrument and episode
  is open at a time, so a client seen three times a week is not asked three times over;
- after a session, for instruments that rate the session itself (definition ``timing``
  ``after_session``, e.g. the SPARQ): opens when the session ends (start plus its length)
  and stays open 48 hours, with a reminder 24 hours before it closes; the same
  one-open-request rule applies, and a session marked cancelled or missed withdraws it;
- a follow-up: opens at 09:00 (practice time) on the day *n* calendar months after the
  end date and stays open 14 days, with a reminder 3 days before it closes.

Every function here is idempotent: database constraints (one request per session and
instrument, one per follow-up timepoint) make a repeated or concurrent call harmless, and
each request created is written to the audit trail.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import Action
from reverie.care.models import Appointment, Attendance, Episode, EpisodeStatus
from reverie.measures.models import (
    FOLLOWUP_TIMEPOINTS,
    Instrument,
    MeasureRequest,
    MeasureSchedule,
    RequestStatus,
    Timepoint,
)
from reverie.measures.registry import definition_for, visible_instruments

DEFAULT_INSTRUMENTS: Final = ("phq-9", "gad-7")
DEFAULT_FOLLOWUP_MONTHS: Final = (1, 3, 6, 12)
FOLLOWUP_MONTH_CHOICES: Final = tuple(sorted(FOLLOWUP_TIMEPOINTS))

SESSION_OPENS_BEFORE: Final = datetime.timedelta(hours=48)
SESSION_REMIND_BEFORE_CLOSE: Final = datetime.timedelta(hours=3)
FOLLOWUP_WINDOW: Final = datetime.timedelta(days=14)
FOLLOWUP_REMIND_BEFORE_CLOSE: Final = datetime.timedelta(days=3)
FOLLOWUP_OPENS_AT: Final = datetime.time(9, 0)
#: Window of a request the therapist makes by hand ("ask now").
MANUAL_WINDOW: Final = datetime.timedelta(days=7)
MANUAL_REMIND_BEFORE_CLOSE: Final = datetime.timedelta(days=2)
#: Window of a request asked after a session, from the session's end.
AFTER_SESSION_WINDOW: Final = datetime.timedelta(hours=48)
AFTER_SESSION_REMIND_BEFORE_CLOSE: Final = datetime.timedelta(hours=24)
#: Longest session the after-session query looks back over (beyond its 48-hour window).
_LONGEST_SESSION: Final = datetime.timedelta(hours=8)


@dataclass(frozen=True)
class ScheduleEntry:
    """How one instrument is used in an episode."""

    instrument: Instrument
    before_sessions: bool
    followup_months: tuple[int, ...]

    @property
    def in_use(self) -> bool:
        return self.before_sessions or bool(self.followup_months)

    @property
    def after_session(self) -> bool:
        """Whether "every session" means after it (an instrument that rates the session)."""
        return _after_session(self.instrument)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus whole calendar months, clamped to the end of a shorter month.

    >>> add_months(datetime.date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    >>> add_months(datetime.date(2026, 11, 15), 3)
    datetime.date(2027, 2, 15)
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def effective_schedule(episode: Episode) -> list[ScheduleEntry]:
    """The saved schedule of ``episode``, or the defaults when none was saved."""
    rows = list(MeasureSchedule.objects.filter(episode=episode).select_related("instrument"))
    if rows:
        return [
            ScheduleEntry(
                row.instrument,
                row.before_sessions,
                tuple(sorted(int(m) for m in row.followup_months)),
            )
            for row in rows
        ]
    return default_schedule(episode.client.practice_id)


def default_schedule(practice_id: int | None) -> list[ScheduleEntry]:
    instruments = visible_instruments(practice_id).filter(code__in=DEFAULT_INSTRUMENTS)
    return [ScheduleEntry(i, True, DEFAULT_FOLLOWUP_MONTHS) for i in instruments]


def _create(ctx: trail.Context, request: MeasureRequest) -> MeasureRequest | None:
    """Insert one request unless a constraint says it already exists; audit the insert."""
    try:
        with transaction.atomic():
            request.save(force_insert=True)
            trail.record(
                ctx,
                Action.CREATE,
                request,
                client_id=request.client_id,
                detail={
                    "instrument": request.instrument.code,
                    "timepoint": request.timepoint,
                    "appointment": request.appointment_id,
                },
            )
    except IntegrityError:
        return None
    return request


def schedule_followups(ctx: trail.Context, episode: Episode) -> list[MeasureRequest]:
    """Create the follow-up requests of an ended episode; cancel those no longer planned.

    Called when an episode ends (``care.hooks.episode_ended``, sent by
    ``care.actions.end_episode``) in the same transaction as the ending, and again
    whenever the therapist changes the schedule of an ended episode. Idempotent: a
    follow-up that already exists (in any state) is left alone, and the unique constraint
    on (episode, instrument, timepoint) makes a concurrent second call create nothing.

    Returns the requests created by this call.
    """
    if episode.end_date is None:
        return []
    zone = episode.client.practice.zone
    created: list[MeasureRequest] = []
    planned: set[tuple[int, str]] = set()
    for entry in effective_schedule(episode):
        for months in entry.followup_months:
            timepoint = FOLLOWUP_TIMEPOINTS.get(months)
            if timepoint is None:
                continue
            planned.add((entry.instrument.pk, timepoint))
            opens = datetime.datetime.combine(
                add_months(episode.end_date, months), FOLLOWUP_OPENS_AT, tzinfo=zone
            )
            expires = opens + FOLLOWUP_WINDOW
            exists = MeasureRequest.objects.filter(
                episode=episode, instrument=entry.instrument, timepoint=timepoint
            ).exists()
            if exists:
                continue
            request = _create(
                ctx,
                MeasureRequest(
                    client_id=episode.client_id,
                    episode=episode,
                    instrument=entry.instrument,
                    timepoint=timepoint,
                    opens_at=opens,
                    expires_at=expires,
                    remind_at=expires - FOLLOWUP_REMIND_BEFORE_CLOSE,
                    created_by=ctx.user,
                ),
            )
            if request is not None:
                created.append(request)
    stale = MeasureRequest.objects.filter(
        episode=episode, timepoint__startswith="followup_", status=RequestStatus.OPEN
    )
    for request in stale.select_related("instrument"):
        if (request.instrument_id, request.timepoint) not in planned:
            cancel_request(ctx, request, reason="schedule_changed")
    return created


def cancel_request(ctx: trail.Context, request: MeasureRequest, *, reason: str) -> bool:
    """Withdraw an open request. Returns False if it was no longer open."""
    with transaction.atomic():
        changed = MeasureRequest.objects.filter(pk=request.pk, status=RequestStatus.OPEN).update(
            status=RequestStatus.CANCELLED
        )
        if changed:
            trail.record(
                ctx,
                Action.UPDATE,
                request,
                client_id=request.client_id,
                detail={"status": "cancelled", "reason": reason},
            )
    if changed:
        request.status = RequestStatus.CANCELLED
    return bool(changed)


def create_manual_request(
    ctx: trail.Context,
    *,
    episode: Episode,
    instrument: Instrument,
    timepoint: str = Timepoint.SESSION,
    now: datetime.datetime | None = None,
) -> MeasureRequest:
    """A request the therapist makes by hand: open now, for seven days."""
    now = now or timezone.now()
    expires = now + MANUAL_WINDOW
    request = MeasureRequest(
        client_id=episode.client_id,
        episode=episode,
        instrument=instrument,
        timepoint=timepoint,
        opens_at=now,
        expires_at=expires,
        remind_at=expires - MANUAL_REMIND_BEFORE_CLOSE,
        created_by=ctx.user,
    )
    created = _create(ctx, request)
    if created is None:
        raise ValueError("this follow-up has already been asked for")
    return created


def _episode_schedules(episodes: Sequence[Episode]) -> dict[int, list[ScheduleEntry]]:
    """Schedules of many episodes in two queries."""
    saved: dict[int, list[ScheduleEntry]] = {}
    rows = MeasureSchedule.objects.filter(episode__in=episodes).select_related("instrument")
    for row in rows:
        saved.setdefault(row.episode_id, []).append(
            ScheduleEntry(row.instrument, row.before_sessions, tuple(row.followup_months))
        )
    defaults: dict[int, list[ScheduleEntry]] = {}
    out: dict[int, list[ScheduleEntry]] = {}
    for episode in episodes:
        if episode.pk in saved:
            out[episode.pk] = saved[episode.pk]
            continue
        practice_id = episode.client.practice_id
        if practice_id not in defaults:
            defaults[practice_id] = default_schedule(practice_id)
        out[episode.pk] = defaults[practice_id]
    return out


def open_session_requests(now: datetime.datetime | None = None) -> list[MeasureRequest]:
    """Ask for each scheduled instrument before each session in the next 48 hours.

    Skips an instrument while an earlier request for it in the same episode is still open,
    and sessions that are cancelled or belong to episodes that are not running.
    """
    now = now or timezone.now()
    appointments = list(
        Appointment.objects.filter(
            starts_at__gt=now,
            starts_at__lte=now + SESSION_OPENS_BEFORE,
            attendance=Attendance.SCHEDULED,
            episode__status__in=(EpisodeStatus.INTAKE, EpisodeStatus.ACTIVE),
        )
        .select_related("episode__client")
        .order_by("starts_at")
    )
    if not appointments:
        return []
    return _ask_at_sessions(appointments, now, after_session=False, window=_before_window(now))


def _after_session(instrument: Instrument) -> bool:
    return definition_for(instrument).timing == "after_session"


def open_after_session_requests(now: datetime.datetime | None = None) -> list[MeasureRequest]:
    """Ask for each scheduled after-session instrument (the SPARQ) once a session has ended.

    A session counts while it is scheduled or marked attended and ended within the last 48
    hours; the request closes 48 hours after the end. Skips an instrument while an earlier
    request for it in the same episode is still open, as before sessions.
    """
    now = now or timezone.now()
    appointments = [
        a
        for a in Appointment.objects.filter(
            starts_at__gt=now - AFTER_SESSION_WINDOW - _LONGEST_SESSION,
            starts_at__lte=now,
            attendance__in=(Attendance.SCHEDULED, Attendance.ATTENDED),
            episode__status__in=(EpisodeStatus.INTAKE, EpisodeStatus.ACTIVE),
        )
        .select_related("episode__client")
        .order_by("starts_at")
        if now - AFTER_SESSION_WINDOW < _session_end(a) <= now
    ]
    if not appointments:
        return []
    return _ask_at_sessions(appointments, now, after_session=True, window=_after_window)


#: When a request for one session opens, closes and is reminded (None: no reminder).
Window = tuple[datetime.datetime, datetime.datetime, datetime.datetime | None]


def _before_window(now: datetime.datetime) -> Callable[[Appointment], Window]:
    def window(appointment: Appointment) -> Window:
        expires = appointment.starts_at
        opens = max(now, expires - SESSION_OPENS_BEFORE)
        remind = expires - SESSION_REMIND_BEFORE_CLOSE
        return opens, expires, remind if remind > opens else None

    return window


def _after_window(appointment: Appointment) -> Window:
    opens = _session_end(appointment)
    expires = opens + AFTER_SESSION_WINDOW
    return opens, expires, expires - AFTER_SESSION_REMIND_BEFORE_CLOSE


def _ask_at_sessions(
    appointments: list[Appointment],
    now: datetime.datetime,
    *,
    after_session: bool,
    window: Callable[[Appointment], Window],
) -> list[MeasureRequest]:
    """One request per session for each instrument scheduled at sessions whose timing is
    after (or before) the session, skipping an instrument while an earlier request for it in
    the same episode is open and a session already asked for it. The before- and
    after-session schedulers differ only in which sessions they pass and the window."""
    episodes = list({a.episode_id: a.episode for a in appointments}.values())
    schedules = _episode_schedules(episodes)
    open_pairs = set(
        MeasureRequest.objects.filter(
            episode__in=episodes, status=RequestStatus.OPEN, expires_at__gt=now
        ).values_list("episode_id", "instrument_id")
    )
    asked = set(
        MeasureRequest.objects.filter(appointment__in=appointments).values_list(
            "appointment_id", "instrument_id"
        )
    )
    created: list[MeasureRequest] = []
    for appointment in appointments:
        episode = appointment.episode
        ctx = trail.system("measures.scheduler", practice=episode.client.practice)
        for entry in schedules.get(episode.pk, []):
            if not entry.before_sessions or _after_session(entry.instrument) != after_session:
                continue
            pair = (episode.pk, entry.instrument.pk)
            if pair in open_pairs or (appointment.pk, entry.instrument.pk) in asked:
                continue
            opens, expires, remind = window(appointment)
            request = _create(
                ctx,
                MeasureRequest(
                    client_id=episode.client_id,
                    episode=episode,
                    instrument=entry.instrument,
                    timepoint=Timepoint.SESSION,
                    appointment=appointment,
                    opens_at=opens,
                    expires_at=expires,
                    remind_at=remind,
                ),
            )
            if request is not None:
                created.append(request)
                open_pairs.add(pair)
    return created


def _session_end(appointment: Appointment) -> datetime.datetime:
    return appointment.starts_at + datetime.timedelta(minutes=appointment.duration_minutes)


def close_lapsed_requests(now: datetime.datetime | None = None) -> int:
    """Mark requests whose window has passed as expired, and withdraw those whose session
    was cancelled or missed. Each change is audited with the ids it touched."""
    now = now or timezone.now()
    changed = 0
    for status, query, reason in (
        (RequestStatus.EXPIRED, Q(expires_at__lte=now), "window_closed"),
        (
            RequestStatus.CANCELLED,
            Q(
                appointment__attendance__in=(
                    Attendance.CANCELLED,
                    Attendance.LATE_CANCEL,
                )
            ),
            "session_cancelled",
        ),
        # Only an after-session request can still be open when a session is marked missed.
        (
            RequestStatus.CANCELLED,
            Q(appointment__attendance=Attendance.NO_SHOW),
            "session_missed",
        ),
    ):
        rows = list(
            MeasureRequest.objects.filter(query, status=RequestStatus.OPEN).values_list(
                "pk", "client_id", "client__practice_id"
            )
        )
        for pk, client_id, practice_id in rows:
            with transaction.atomic():
                if MeasureRequest.objects.filter(pk=pk, status=RequestStatus.OPEN).update(
                    status=status
                ):
                    trail.record(
                        _system_for(practice_id),
                        Action.UPDATE,
                        object_type="measures.measurerequest",
                        object_id=pk,
                        client_id=client_id,
                        detail={"status": str(status), "reason": reason},
                    )
                    changed += 1
    return changed


def _system_for(practice_id: int) -> trail.Context:
    from reverie.accounts.models import Practice

    return trail.system("measures.scheduler", practice=Practice(pk=practice_id))


def requests_for(episodes: Iterable[Episode]) -> list[MeasureRequest]:
    return list(
        MeasureRequest.objects.filter(episode__in=list(episodes))
        .select_related("instrument")
        .order_by("opens_at")
    )
