"""The practice overview: figures checked against data made for the test, and the trends'
arithmetic on its own."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from reverie.audit.models import AuditEntry
from reverie.care.models import Alert, Appointment
from reverie.directory.models import ConsultationRequest
from reverie.overview import figures, trend
from reverie.testing import World


def test_month_starts_run_back_a_year_across_new_year() -> None:
    months = trend.month_starts(datetime.date(2026, 2, 14))
    assert months[0] == datetime.date(2025, 3, 1) and months[-1] == datetime.date(2026, 2, 1)
    assert len(months) == 12 and len(set(months)) == 12
    assert trend.month_end(datetime.date(2024, 2, 1)) == datetime.date(2024, 2, 29)
    assert trend.month_end(datetime.date(2026, 12, 1)) == datetime.date(2026, 12, 31)


def test_bucket_and_rate_count_per_month_and_leave_empty_months_blank() -> None:
    months = [datetime.date(2026, m, 1) for m in (1, 2, 3)]
    days = [datetime.date(2026, 1, 5), datetime.date(2026, 1, 31), datetime.date(2026, 3, 1)]
    days.append(datetime.date(2025, 12, 31))  # outside: ignored
    assert trend.bucket(days, months) == [2, 0, 1]
    assert trend.rate([1, 0, 3], [2, 0, 4]) == [0.5, None, 0.75]


def test_sparkline_skips_gaps_and_starts_its_scale_at_zero() -> None:
    s = trend.sparkline([0, None, 10], width=104, height=24, pad=2)
    assert s.dots == [(2.0, 22.0), (102.0, 2.0)]
    assert s.points == "2.0,22.0 102.0,2.0"
    assert trend.sparkline([None, None]).dots == []


def test_the_figures_match_the_practice(world: World) -> None:
    # The world: one open alert, three attended sessions ten, six and two weeks ago.
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    held = datetime.datetime.combine(today, datetime.time(0, 5), tzinfo=tz)
    Appointment.objects.create(episode=world.episode, starts_at=held, attendance="no_show")
    ConsultationRequest.objects.create(practice=world.practice, name="Nell Synthetic")
    rows = {f.key: f for f in figures.overview(world.practice.pk, today)}
    # Cleo and Olly are in treatment; the stranger's client belongs to another practice.
    assert rows["active_clients"].value == "2"
    assert rows["active_clients"].values[-1] == 2
    # Attended 3 of 4 sessions due in the last 90 days.
    assert rows["attendance"].value == "75%"
    assert sum(v or 0 for v in rows["sessions"].values) == 3
    assert rows["alerts"].value == "1" and rows["alerts"].values[-1] == 1
    assert rows["intake"].value == "1" and rows["intake"].values[-1] == 1
    assert rows["completion"].value == "—"  # no questionnaire has closed yet
    assert len(rows["sessions"].points) == 12


def test_an_alert_acknowledged_last_month_was_open_at_the_end_of_the_month_before(
    world: World,
) -> None:
    today = timezone.localdate()
    months = trend.month_starts(today)
    tz = timezone.get_current_timezone()
    opened = datetime.datetime.combine(months[-4], datetime.time(12), tzinfo=tz)
    closed = datetime.datetime.combine(months[-2], datetime.time(12), tzinfo=tz)
    Alert.objects.all().delete()
    Alert.objects.create(
        client=world.client,
        kind="overdue_measure",
        summary="x",
        created_at=opened,
        acknowledged_at=closed,
    )
    alerts = next(f for f in figures.overview(world.practice.pk, today) if f.key == "alerts")
    assert alerts.values[-4:] == [1, 1, 0, 0] and alerts.value == "0"


def test_the_admin_sees_the_overview_and_the_read_is_audited(world: World, as_user) -> None:
    page = as_user("admin").get(reverse("overview:practice")).content.decode()
    for label in ("Active clients", "Attendance rate", "Questionnaire completion rate"):
        assert label in page
    assert "Intake queue" in page and "Last backup" in page and "<svg" in page
    entry = AuditEntry.objects.filter(actor=world.admin).latest("pk")
    assert (entry.action, entry.object_type) == ("view", "overview.practice")
    trail_page = as_user("admin").get(reverse("practice:audit")).content.decode()
    assert "viewed the practice overview" in trail_page


def test_last_backup_is_the_newest_successful_run(db) -> None:
    from reverie.backups.models import BackupRun

    assert figures.last_backup() == figures.Backup(True, None)
    good = timezone.now() - datetime.timedelta(days=2)
    BackupRun.objects.create(started_at=good, finished_at=good, ok=True, by="worker")
    failed = timezone.now() - datetime.timedelta(hours=1)
    BackupRun.objects.create(
        started_at=failed, finished_at=failed, ok=False, by="worker", error="disk full"
    )
    # The failed run is newer, but the last backup the practice can restore is the good one.
    assert figures.last_backup() == figures.Backup(True, good)
