"""Read models for the therapist's Today page: one day, or one week, of work.

Each function runs a fixed number of queries whatever the caseload, so the page stays fast
for a full diary (``tests/care/test_today.py`` holds the count), and decrypts only the text
the page shows, the plan of each session's latest note (``vault.fields.unread`` defers the
rest; ``DECRYPTS`` in ``tests/browser/test_walk.py`` holds what each page may decrypt).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from reverie.accounts.models import User
from reverie.care import hooks
from reverie.care.access import visible_alerts
from reverie.care.models import Alert, Appointment, Attendance, Episode, ProgressNote
from reverie.vault.fields import unread

#: A session from this far back whose note is missing is still listed as "to write":
#: older gaps belong to the record's own review, not to a day's to-do list.
NOTES_LOOKBACK = datetime.timedelta(days=28)


def parse_day(raw: str | None, today: datetime.date) -> datetime.date | None:
    """The ``day`` query parameter as a date, ``today`` when absent, ``None`` when it is not
    an ISO date (the page then says so and shows nothing else)."""
    if not raw:
        return today
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return None


def week_of(day: datetime.date) -> list[datetime.date]:
    """Monday to Sunday of the week that holds ``day``."""
    monday = day - datetime.timedelta(days=day.weekday())
    return [monday + datetime.timedelta(days=i) for i in range(7)]


def _bounds(first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, ...]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def other_appointments(
    user: User, first: datetime.date, last: datetime.date
) -> list[hooks.AgendaItem]:
    """The therapist's appointments that are not sessions (first consultations booked from
    the directory), from ``first`` to ``last`` inclusive, from the apps that provide them."""
    start, end = _bounds(first, last)
    return hooks.agenda(user, start, end)


def sessions(user: User, first: datetime.date, last: datetime.date) -> QuerySet[Appointment]:
    """The therapist's own sessions from ``first`` to ``last`` (inclusive), in order."""
    start, end = _bounds(first, last)
    return (
        Appointment.objects.filter(episode__therapist=user, starts_at__gte=start, starts_at__lt=end)
        .select_related("episode__client")
        .defer(*unread(Appointment), *unread(Episode, "episode"))
        .annotate(
            note_id=Subquery(
                ProgressNote.objects.filter(appointment=OuterRef("pk")).values("pk")[:1]
            )
        )
        .order_by("starts_at")
    )


@dataclass(frozen=True)
class Snapshot:
    """Where a client stands, shown beside a session."""

    #: The last PHQ-9 (a ``measures.Administration``: measures is above care, so the
    #: scores come through ``care.hooks.questionnaires``).
    last: Any
    trend: int | None
    plan: str
    alerts: int


def snapshots(
    user: User, appointments: list[Appointment], day: datetime.date
) -> dict[int, Snapshot]:
    """``{episode id: Snapshot}`` for the sessions' episodes: the last two PHQ-9 scores,
    the plan from the latest progress note and the count of open alerts."""
    episode_ids = {a.episode_id for a in appointments}
    client_ids = {a.episode.client_id for a in appointments}
    scores = hooks.questionnaires().latest(episode_ids, "phq-9", 2)
    # Only each episode's latest note, chosen in the database: reading every note's plan to
    # keep the newest decrypted the whole history (455 plans for the demo's Today page).
    latest = (
        ProgressNote.objects.filter(episode_id=OuterRef("pk"))
        .order_by("-session_date", "-pk")
        .values("pk")[:1]
    )
    plans: dict[int, str] = dict(
        ProgressNote.objects.filter(
            pk__in=Episode.objects.filter(pk__in=episode_ids)
            .annotate(latest=Subquery(latest))
            .values("latest")
        ).values_list("episode_id", "plan")
    )
    alert_counts = dict(
        visible_alerts(user)
        .filter(client_id__in=client_ids, acknowledged_at__isnull=True)
        .values_list("client_id")
        .annotate(n=Count("pk"))
        .values_list("client_id", "n")
    )
    clients = {a.episode_id: a.episode.client_id for a in appointments}
    out = {}
    for episode_id in episode_ids:
        last = scores.get(episode_id, [])
        out[episode_id] = Snapshot(
            last=last[0] if last else None,
            trend=(last[0].total - last[1].total) if len(last) == 2 else None,
            plan=plans.get(episode_id, ""),
            alerts=alert_counts.get(clients[episode_id], 0),
        )
    return out


@dataclass(frozen=True)
class NoteToDo:
    """A session held without a progress note (``note`` is None), or a draft to sign."""

    appointment: Appointment | None
    note: ProgressNote | None

    @property
    def episode(self) -> Episode:
        if self.note is not None:
            return self.note.episode
        assert self.appointment is not None  # noqa: S101 - one of the two is always set
        return self.appointment.episode


def notes_to_do(user: User, now: datetime.datetime) -> list[NoteToDo]:
    """Unsigned drafts the therapist wrote, then sessions of the last four weeks that were
    held (or are past and still marked scheduled) and have no note yet, oldest first."""
    drafts = [
        NoteToDo(appointment=None, note=n)
        for n in ProgressNote.objects.filter(author=user, signed_at__isnull=True)
        .select_related("episode__client")
        .defer(*unread(ProgressNote), *unread(Episode, "episode"))
        .order_by("session_date")[:50]
    ]
    missing = [
        NoteToDo(appointment=a, note=None)
        for a in Appointment.objects.filter(
            episode__therapist=user,
            starts_at__lt=now,
            starts_at__gte=now - NOTES_LOOKBACK,
            attendance__in=(Attendance.ATTENDED, Attendance.SCHEDULED),
            progress_note__isnull=True,
        )
        .select_related("episode__client")
        .defer(*unread(Appointment), *unread(Episode, "episode"))
        .order_by("starts_at")[:50]
    ]
    return drafts + missing


def open_alerts(user: User) -> QuerySet[Alert]:
    """The therapist's open alerts (current care only, as everywhere alerts are counted)."""
    return (
        visible_alerts(user)
        .filter(acknowledged_at__isnull=True)
        .select_related("client")
        .order_by("-created_at")
    )


def returned_since_last_session(user: User, now: datetime.datetime) -> list[Any]:
    """Questionnaires completed by clients in the therapist's current care since that
    client's last session with them (or ever, for a client not yet seen) — what to read
    before the next session. Measures reads them (``care.hooks.questionnaires``)."""
    return hooks.questionnaires().returned_since_last_session(user, now)
