"""The practice overview's figures, each now and month by month for a year.

Every figure is a count or a proportion over the whole practice; none names a client, so
an admin (who may not read clinical content) may see them. Each figure loads only the dates
it needs, in one query, and buckets them in Python (``overview.trend``): seven queries in
all, whatever the size of the practice.
"""

from __future__ import annotations

import dataclasses
import datetime
import statistics
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Q
from django.utils import timezone

from reverie.care.models import Alert, Appointment, Attendance, Episode
from reverie.directory.models import ConsultationRequest
from reverie.directory.models import RequestStatus as IntakeStatus
from reverie.lib import dates
from reverie.measures.models import MeasureRequest
from reverie.measures.models import RequestStatus as MeasureStatus
from reverie.overview import trend

#: The headline rates look back this far: one month is too few sessions in a small practice.
RATE_WINDOW = datetime.timedelta(days=90)
#: Consultation requests still being dealt with: the intake queue.
WAITING = (IntakeStatus.NEW, IntakeStatus.CONTACTED, IntakeStatus.BOOKED)
#: Sessions that were due to happen: the denominator of the attendance rate. A session
#: cancelled in good time is not a missed one; a late cancellation or a no-show is.
DUE = (Attendance.ATTENDED, Attendance.NO_SHOW, Attendance.LATE_CANCEL)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str
    note: str
    trend_label: str
    values: list[float | None]
    percent: bool = False
    months: tuple[str, ...] = ()

    @property
    def spark(self) -> trend.Sparkline:
        return trend.sparkline(self.values)

    @property
    def points(self) -> list[tuple[str, str]]:
        """(month, value) in words, for the table beside each chart (screen readers, print)."""
        return list(zip(self.months, [self._fmt(v) for v in self.values], strict=False))

    def _fmt(self, v: float | None) -> str:
        if v is None:
            return "—"
        return f"{v:.0%}" if self.percent else f"{v:g}"


def _day(dt: datetime.datetime) -> datetime.date:
    return timezone.localtime(dt).date()


def _pct(n: int, d: int) -> str:
    return f"{n / d:.0%}" if d else "—"


def overview(practice_id: int, today: datetime.date | None = None) -> list[Figure]:
    today = today or timezone.localdate()
    months = trend.month_starts(today)
    labels = tuple(dates.format_date(m, "mon") for m in months)
    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(months[0], datetime.time.min, tzinfo=tz)
    now = timezone.now()
    figures = [
        _active_clients(practice_id, today, months),
        *_sessions(practice_id, today, months, since, now),
        _completion(practice_id, months, since, now),
        _alerts(practice_id, months, since, now),
        _intake(practice_id, months, since),
    ]
    return [dataclasses.replace(f, months=labels) for f in figures]


def _active_clients(practice_id: int, today: datetime.date, months: list[datetime.date]) -> Figure:
    rows = list(
        Episode.objects.filter(client__practice_id=practice_id)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=months[0]))
        .values_list("client_id", "start_date", "end_date", "status")
    )
    per_month: list[float | None] = []
    for start in months:
        end = trend.month_end(start)
        clients = {c for c, s, e, _ in rows if s <= end and (e is None or e >= start)}
        per_month.append(len(clients))
    now_active = {c for c, _, _, status in rows if status != "ended"}
    return Figure(
        "active_clients",
        "Active clients",
        str(len(now_active)),
        "Clients with an episode that has not ended (intake, active or paused).",
        "Clients in treatment at any time in the month",
        per_month,
    )


def _sessions(
    practice_id: int,
    today: datetime.date,
    months: list[datetime.date],
    since: datetime.datetime,
    now: datetime.datetime,
) -> list[Figure]:
    rows = [
        (_day(at), attendance)
        for at, attendance in Appointment.objects.filter(
            episode__client__practice_id=practice_id, starts_at__gte=since
        ).values_list("starts_at", "attendance")
    ]
    monday = today - datetime.timedelta(days=today.weekday())
    week = sum(
        1
        for d, a in rows
        if monday <= d < monday + datetime.timedelta(days=7) and a != Attendance.CANCELLED
    )
    month = sum(
        1 for d, a in rows if (d.year, d.month) == (today.year, today.month) and a != "cancelled"
    )
    attended = trend.bucket((d for d, a in rows if a == Attendance.ATTENDED), months)
    due = trend.bucket((d for d, a in rows if a in DUE and d <= today), months)
    window = today - RATE_WINDOW
    recent_due = [a for d, a in rows if window <= d <= today and a in DUE]
    recent_attended = sum(1 for a in recent_due if a == Attendance.ATTENDED)
    return [
        Figure(
            "sessions",
            "Sessions this week / this month",
            f"{week} / {month}",
            "Sessions held or booked, cancellations left out.",
            "Sessions attended per month",
            list(attended),
        ),
        Figure(
            "attendance",
            "Attendance rate",
            _pct(recent_attended, len(recent_due)),
            "Sessions attended of those due in the last 90 days (a late cancellation or a "
            "no-show counts as missed; a cancellation in good time does not).",
            "Attendance rate per month",
            trend.rate(attended, due),
            percent=True,
        ),
    ]


def _completion(
    practice_id: int, months: list[datetime.date], since: datetime.datetime, now: datetime.datetime
) -> Figure:
    closed = list(
        MeasureRequest.objects.filter(client__practice_id=practice_id)
        .filter(
            Q(status=MeasureStatus.COMPLETED, completed_at__gte=since)
            | Q(status=MeasureStatus.EXPIRED, expires_at__gte=since)
        )
        .values_list("status", "completed_at", "expires_at")
    )
    done_days = [_day(c) for s, c, _ in closed if s == MeasureStatus.COMPLETED and c]
    missed_days = [_day(e) for s, _, e in closed if s == MeasureStatus.EXPIRED]
    done = trend.bucket(done_days, months)
    missed = trend.bucket(missed_days, months)
    window = timezone.localdate(now) - RATE_WINDOW
    recent_done = sum(1 for d in done_days if d >= window)
    recent_missed = sum(1 for d in missed_days if d >= window)
    return Figure(
        "completion",
        "Questionnaire completion rate",
        _pct(recent_done, recent_done + recent_missed),
        "Questionnaires completed of those that closed in the last 90 days (completed or "
        "expired unanswered; withdrawn ones left out).",
        "Completion rate per month",
        trend.rate(done, [a + b for a, b in zip(done, missed, strict=True)]),
        percent=True,
    )


def _alerts(
    practice_id: int, months: list[datetime.date], since: datetime.datetime, now: datetime.datetime
) -> Figure:
    rows = list(
        Alert.objects.filter(client__practice_id=practice_id)
        .filter(Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gte=since))
        .values_list("created_at", "acknowledged_at")
    )
    tz = timezone.get_current_timezone()
    per_month: list[float | None] = []
    for start in months:
        end = datetime.datetime.combine(
            trend.month_end(start) + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        at = min(end, now)
        per_month.append(sum(1 for c, a in rows if c <= at and (a is None or a > at)))
    ages = sorted((now - c).days for c, a in rows if a is None)
    if ages:
        note = (
            f"Oldest open for {ages[-1]} day{'s' if ages[-1] != 1 else ''}, median "
            f"{statistics.median(ages):g} days. Counted over every therapist's clients; "
            "admins see the escalated ones on the Alerts page."
        )
    else:
        note = "No alert is waiting for a therapist."
    return Figure(
        "alerts",
        "Open alerts",
        str(len(ages)),
        note,
        "Alerts open at the end of each month",
        per_month,
    )


def _intake(practice_id: int, months: list[datetime.date], since: datetime.datetime) -> Figure:
    rows = list(
        ConsultationRequest.objects.filter(practice_id=practice_id)
        .filter(Q(status__in=WAITING) | Q(created_at__gte=since))
        .values_list("status", "created_at")
    )
    waiting = sum(1 for s, _ in rows if s in WAITING)
    received = trend.bucket((_day(c) for _, c in rows if c >= since), months)
    return Figure(
        "intake",
        "Intake queue",
        str(waiting),
        "Consultation requests new, in contact or with a consultation booked.",
        "Consultation requests received per month",
        list(received),
    )


@dataclass(frozen=True)
class Backup:
    installed: bool
    last: datetime.datetime | None


def last_backup() -> Backup:
    """The newest *successful* backup, when the backups app is installed. Read through the
    app registry, not an import: backups sits above the overview in the app order, and the
    overview works the same without it. A failed run (``ok`` false) is not a backup."""
    if not apps.is_installed("reverie.backups"):
        return Backup(False, None)
    run = apps.get_model("backups", "BackupRun")
    newest = (
        run._default_manager.filter(ok=True)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return Backup(True, newest)
