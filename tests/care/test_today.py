"""The therapist's Today page: a day with previous/next, a week, and the day's to-do lists."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions, daily
from reverie.care.models import Appointment
from reverie.measures.models import Administration, Instrument
from reverie.testing import World


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


def test_week_of_runs_monday_to_sunday() -> None:
    week = daily.week_of(datetime.date(2026, 12, 5))  # a Saturday
    assert week[0] == datetime.date(2026, 11, 30) and week[-1] == datetime.date(2026, 12, 6)
    assert [d.weekday() for d in week] == list(range(7))


def test_parse_day_takes_iso_dates_and_refuses_anything_else() -> None:
    today = datetime.date(2026, 12, 5)
    assert daily.parse_day(None, today) == today
    assert daily.parse_day("2026-12-07", today) == datetime.date(2026, 12, 7)
    assert daily.parse_day("next tuesday", today) is None


def test_another_day_shows_its_sessions_and_links_to_the_days_around_it(
    world: World, as_user
) -> None:
    later = timezone.localdate() + datetime.timedelta(days=3)
    Appointment.objects.create(episode=world.episode, starts_at=_at(later, 10))
    http = as_user("therapist")
    page = http.get(reverse("care:today"), {"day": later.isoformat()}).content.decode()
    assert world.client.display_name in page
    assert f"?day={(later - datetime.timedelta(days=1)).isoformat()}" in page
    assert f"?day={(later + datetime.timedelta(days=1)).isoformat()}" in page
    # The day after has nothing, and says what to do.
    empty = http.get(
        reverse("care:today"), {"day": (later + datetime.timedelta(days=1)).isoformat()}
    ).content.decode()
    assert "No sessions on this day" in empty and "week view" in empty


def test_week_view_lists_every_day_with_its_sessions(world: World, as_user) -> None:
    day = timezone.localdate()
    week = daily.week_of(day)
    Appointment.objects.create(episode=world.episode, starts_at=_at(week[0], 9))
    Appointment.objects.create(episode=world.episode, starts_at=_at(week[6], 11))
    page = (
        as_user("therapist")
        .get(reverse("care:today"), {"day": day.isoformat(), "view": "week"})
        .content.decode()
    )
    assert page.count(world.client.display_name) >= 2
    assert page.count("No sessions.") == 5  # the five days without one
    assert "Next week" in page and "Previous week" in page


def test_a_day_that_is_not_a_date_gets_a_clear_400(world: World, as_user) -> None:
    response = as_user("therapist").get(reverse("care:today"), {"day": "31/12/2026"})
    assert response.status_code == 400
    assert "not a date" in response.content.decode()


def test_notes_to_write_and_drafts_to_sign_are_listed(world: World, as_user) -> None:
    ctx = trail.Context(user=world.therapist)
    held = Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() - datetime.timedelta(days=2),
        attendance="attended",
    )
    draft = actions.save_progress_note(
        ctx,
        episode=world.episode,
        fields={"session_date": timezone.localdate() - datetime.timedelta(days=9), "plan": "x"},
    )
    page = as_user("therapist").get(reverse("care:today")).content.decode()
    assert reverse("care:progress_note", args=[draft.pk]) in page
    assert f"?appointment={held.pk}" in page
    # The colleague has neither.
    other = as_user("colleague").get(reverse("care:today")).content.decode()
    assert f"?appointment={held.pk}" not in other
    assert reverse("care:progress_note", args=[draft.pk]) not in other


def test_questionnaires_returned_since_the_last_session_are_listed(world: World, as_user) -> None:
    before = as_user("therapist").get(reverse("care:today")).content.decode()
    assert "No questionnaires came back" in before  # the world's scores predate its sessions
    Administration.objects.create(
        client=world.client,
        episode=world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        completed_at=timezone.now() - datetime.timedelta(hours=1),
        source="portal",
        total=9,
        band="mild",
    )
    page = as_user("therapist").get(reverse("care:today")).content.decode()
    assert "No questionnaires came back" not in page
    assert "9 (mild)" in page


def test_open_alerts_are_listed_and_the_read_is_audited(world: World, as_user) -> None:
    page = as_user("therapist").get(reverse("care:today")).content.decode()
    assert "Not on track" in page and world.client.display_name in page
    entry = AuditEntry.objects.filter(actor=world.therapist, action="list").latest("pk")
    assert entry.detail["view"] == "today" and world.client.pk in entry.detail["clients"]


def test_today_runs_the_same_number_of_queries_for_one_session_or_six(
    world: World, as_user
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http = as_user("therapist")
    http.get(reverse("care:today"))  # warm the session

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert http.get(reverse("care:today")).status_code == 200
        return len(queries)

    Appointment.objects.create(episode=world.episode, starts_at=_at(timezone.localdate(), 7))
    one = count()
    for offset in range(1, 6):
        Appointment.objects.create(
            episode=world.episode,
            starts_at=_at(timezone.localdate(), 7 + offset),
            attendance="attended" if offset < 3 else "scheduled",
        )
    assert count() == one


def test_today_decrypts_the_latest_plan_of_each_session_and_nothing_else(
    world: World, as_user, decryptions
) -> None:
    """The snapshot beside a session shows the plan of the client's latest note. Reading
    every note's plan to keep the newest decrypted a client's whole history (455 plans on
    the demo's Today); the goals and notes joined in for names and dates were decrypted too."""
    ctx = trail.Context(user=world.therapist)
    for weeks in range(6, 0, -1):
        actions.save_progress_note(
            ctx,
            episode=world.episode,
            fields={
                "session_date": timezone.localdate() - datetime.timedelta(weeks=weeks),
                "content": f"session {weeks} weeks ago",
                "plan": f"plan from {weeks} weeks ago",
            },
        )
    world.episode.goals = "to feel less alone"
    world.episode.save()
    Appointment.objects.create(episode=world.episode, starts_at=_at(timezone.localdate(), 9))
    http = as_user("therapist")
    decryptions.clear()
    page = http.get(reverse("care:today")).content.decode()
    assert "plan from 1 weeks ago" in page
    assert dict(decryptions) == {"ProgressNote.plan": 1}


def test_the_snapshot_takes_each_episodes_two_newest_scores(world: World) -> None:
    """``latest`` keeps the newest results of each episode in the database (a window per
    episode), newest first, ties on the time broken by the later entry."""
    from reverie.measures import today as reader

    phq9 = Instrument.objects.get(code="phq-9")
    now = timezone.now()
    made = {}
    for episode in (world.episode, world.other_episode):
        Administration.objects.filter(episode=episode).delete()
        for days, total in ((40, 20), (30, 17), (20, 14), (20, 12), (10, 9)):
            made[(episode.pk, total)] = Administration.objects.create(
                client=episode.client,
                episode=episode,
                instrument=phq9,
                completed_at=now - datetime.timedelta(days=days),
                source="portal",
                total=total,
                band="",
            )
    got = reader.latest([world.episode.pk, world.other_episode.pk], "phq-9", 2)
    for episode in (world.episode, world.other_episode):
        assert [a.total for a in got[episode.pk]] == [9, 12]
        assert got[episode.pk][1].pk == made[(episode.pk, 12)].pk
    assert reader.latest([world.episode.pk], "phq-9", 3)[world.episode.pk][2].total == 14
    assert reader.latest([world.episode.pk], "gad-7", 2) == {}
