"""Schedules, follow-ups after termination, session requests, links and reminders sent once."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.db import DatabaseError
from django.utils import timezone

from reverie.accounts.models import hash_token
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Appointment
from reverie.measures import actions, scheduling
from reverie.measures.models import (
    Instrument,
    MeasureRequest,
    MeasureSchedule,
    RequestLink,
    RequestStatus,
)
from reverie.outbox.models import Message
from reverie.testing import World


def _end(world: World, days_ago: int = 0) -> datetime.date:
    end = timezone.localdate() - datetime.timedelta(days=days_ago)
    world.episode.start_date = end - datetime.timedelta(days=300)
    world.episode.save(update_fields=["start_date"])
    care_actions.end_episode(
        trail.Context(user=world.therapist), world.episode, reason="mutual", end_date=end
    )
    world.episode.refresh_from_db()
    return end


def test_ending_an_episode_schedules_default_follow_ups_at_1_3_6_and_12_months(
    world: World,
) -> None:
    end = _end(world)
    rows = MeasureRequest.objects.filter(episode=world.episode).select_related("instrument")
    got = sorted((r.instrument.code, r.timepoint, r.opens_at.date()) for r in rows)
    expected = sorted(
        (code, f"followup_{m}m", scheduling.add_months(end, m))
        for code in ("gad-7", "phq-9")
        for m in (1, 3, 6, 12)
    )
    assert got == expected
    assert all(r.expires_at - r.opens_at == datetime.timedelta(days=14) for r in rows)
    audited = AuditEntry.objects.filter(
        object_type="measures.measurerequest", action="create", client_id=world.client.pk
    )
    assert sorted(int(e.object_id) for e in audited) == sorted(r.pk for r in rows)


def test_scheduling_follow_ups_again_creates_nothing(world: World) -> None:
    _end(world)
    count = MeasureRequest.objects.count()
    audit = AuditEntry.objects.count()
    assert scheduling.schedule_followups(trail.system("test"), world.episode) == []
    assert MeasureRequest.objects.count() == count
    assert AuditEntry.objects.count() == audit


def test_changing_the_schedule_of_an_ended_episode_adjusts_its_follow_ups(world: World) -> None:
    _end(world)
    phq9 = Instrument.objects.get(code="phq-9")
    gad7 = Instrument.objects.get(code="gad-7")
    actions.set_schedule(
        trail.Context(user=world.therapist),
        world.episode,
        [(phq9, True, [1, 3, 6, 12]), (gad7, False, [6])],
    )
    open_gad = MeasureRequest.objects.filter(
        episode=world.episode, instrument=gad7, status=RequestStatus.OPEN
    )
    assert [r.timepoint for r in open_gad] == ["followup_6m"]
    cancelled = MeasureRequest.objects.filter(
        episode=world.episode, instrument=gad7, status=RequestStatus.CANCELLED
    )
    assert sorted(r.timepoint for r in cancelled) == ["followup_12m", "followup_1m", "followup_3m"]
    assert MeasureSchedule.objects.filter(episode=world.episode).count() == 2
    entry = AuditEntry.objects.filter(object_type="care.episode", action="update").order_by("-seq")[
        0
    ]
    assert entry.detail["schedule"]["gad-7"] == {"before_sessions": False, "followup_months": [6]}


def test_a_month_outside_the_choices_is_refused_and_nothing_changes(world: World) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    try:
        actions.set_schedule(
            trail.Context(user=world.therapist), world.episode, [(phq9, True, [2])]
        )
    except actions.MeasureActionError as error:
        assert "not [2]" in str(error)
    else:
        raise AssertionError("month 2 was accepted")
    assert not MeasureSchedule.objects.filter(episode=world.episode).exists()


def _session_tomorrow(world: World) -> Appointment:
    return Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(hours=20)
    )


def test_sessions_in_the_next_48_hours_get_one_request_per_instrument_once(world: World) -> None:
    appointment = _session_tomorrow(world)
    created = scheduling.open_session_requests()
    assert sorted(r.instrument.code for r in created) == ["gad-7", "phq-9"]
    assert all(
        r.appointment == appointment and r.expires_at == appointment.starts_at for r in created
    )
    assert scheduling.open_session_requests() == []
    # A second session the day after: the first requests are still open, so none are added.
    Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(hours=30)
    )
    assert scheduling.open_session_requests() == []


def test_an_instrument_taken_off_the_session_schedule_is_not_asked(world: World) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    gad7 = Instrument.objects.get(code="gad-7")
    actions.set_schedule(
        trail.Context(user=world.therapist), world.episode, [(phq9, False, []), (gad7, True, [])]
    )
    _session_tomorrow(world)
    assert [r.instrument.code for r in scheduling.open_session_requests()] == ["gad-7"]


def test_the_link_is_emailed_once_with_a_token_stored_only_as_a_digest(
    world: World, django_capture_on_commit_callbacks
) -> None:
    _session_tomorrow(world)
    scheduling.open_session_requests()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_due_links() == 2
        assert actions.send_due_links() == 0
    assert [m.to for m in mail.outbox] == [[world.client.email]] * 2
    body = mail.outbox[0].body
    token = re.search(r"/m/([\w-]+)/", body).group(1)  # type: ignore[union-attr]
    assert "PHQ" not in body and "GAD" not in body and "depress" not in body.lower()
    digests = set(RequestLink.objects.values_list("digest", flat=True))
    assert token not in digests and hash_token(token) in digests


def test_a_request_claimed_by_another_worker_is_not_sent_twice(world: World, monkeypatch) -> None:
    _session_tomorrow(world)
    scheduling.open_session_requests()
    mail.outbox.clear()
    real_filter = MeasureRequest.objects.filter

    def claimed_by_someone_else(*args, **kwargs):
        # Between this worker's SELECT and its UPDATE, another worker claims every row.
        if kwargs.get("link_sent_at__isnull") is True and "pk" in kwargs:
            MeasureRequest.objects.all().update(link_sent_at=timezone.now())
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(MeasureRequest.objects, "filter", claimed_by_someone_else)
    assert actions.send_due_links() == 0
    assert not Message.objects.exists()


def test_one_reminder_is_sent_before_the_request_closes(
    world: World, make_request, django_capture_on_commit_callbacks
) -> None:
    request = make_request()
    actions.send_link(trail.Context(user=world.therapist), request)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.send_due_reminders() == 0  # not yet due
        later = request.remind_at + datetime.timedelta(minutes=1)
        assert actions.send_due_reminders(now=later) == 1
        assert actions.send_due_reminders(now=later) == 0
    assert len(mail.outbox) == 1 and "Reminder" in mail.outbox[0].subject
    assert RequestLink.objects.filter(request=request).count() == 2


def test_a_failure_while_queuing_the_email_releases_the_claim_for_the_next_run(
    world: World, make_request, monkeypatch
) -> None:
    """Mail-server trouble cannot happen here any more (the outbox sends after commit and
    retries); a failure to queue (the database) rolls the claim back with it."""
    request = make_request()
    from reverie.measures import emails

    def broken(*args, **kwargs):
        raise DatabaseError("the outbox could not be written")

    monkeypatch.setattr(emails, "measure_link", broken)
    with pytest.raises(DatabaseError):
        actions.send_due_links()
    request.refresh_from_db()
    assert request.link_sent_at is None and not RequestLink.objects.filter(request=request).exists()


def test_lapsed_and_cancelled_session_requests_are_closed(world: World, make_request) -> None:
    old = make_request()
    MeasureRequest.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
        opens_at=timezone.now() - datetime.timedelta(days=2),
    )
    appointment = _session_tomorrow(world)
    scheduling.open_session_requests()
    appointment.attendance = "cancelled"
    appointment.save(update_fields=["attendance"])
    assert scheduling.close_lapsed_requests() == 3
    old.refresh_from_db()
    assert old.status == RequestStatus.EXPIRED
    assert set(
        MeasureRequest.objects.filter(appointment=appointment).values_list("status", flat=True)
    ) == {RequestStatus.CANCELLED}
    assert scheduling.close_lapsed_requests() == 0


# --- questionnaires about the session itself (the SPARQ), asked after it ------------------------


def _sparq_after_every_session(world: World) -> Instrument:
    sparq = Instrument.objects.get(code="sparq")
    actions.set_schedule(trail.Context(user=world.therapist), world.episode, [(sparq, True, [])])
    return sparq


def _session(world: World, *, started_minutes_ago: int, attendance: str = "scheduled"):
    return Appointment.objects.create(
        episode=world.episode,
        starts_at=timezone.now() - datetime.timedelta(minutes=started_minutes_ago),
        duration_minutes=50,
        attendance=attendance,
    )


def test_the_sparq_is_asked_when_the_session_ends_and_stays_open_48_hours(world: World) -> None:
    sparq = _sparq_after_every_session(world)
    # Not before a session, even though it is ticked for every session.
    _session_tomorrow(world)
    assert scheduling.open_session_requests() == []
    # Not while a session is still running.
    running = _session(world, started_minutes_ago=20)
    assert scheduling.open_after_session_requests() == []
    # Once it has ended: one request, opening at the end, closing 48 hours later.
    now = running.starts_at + datetime.timedelta(minutes=55)
    (request,) = scheduling.open_after_session_requests(now)
    end = running.starts_at + datetime.timedelta(minutes=50)
    assert (request.instrument, request.appointment, request.timepoint) == (
        sparq,
        running,
        "session",
    )
    assert (request.opens_at, request.expires_at) == (end, end + datetime.timedelta(hours=48))
    assert request.remind_at == end + datetime.timedelta(hours=24)
    assert AuditEntry.objects.filter(
        object_type="measures.measurerequest", action="create", object_id=str(request.pk)
    ).exists()
    assert scheduling.open_after_session_requests(now) == []


def test_old_cancelled_or_unscheduled_sessions_get_no_sparq(world: World) -> None:
    _session(world, started_minutes_ago=60 * 24 * 3)  # ended three days ago
    _session(world, started_minutes_ago=90, attendance="cancelled")
    assert scheduling.open_after_session_requests() == []  # not on the schedule yet
    _sparq_after_every_session(world)
    assert scheduling.open_after_session_requests() == []
    attended = _session(world, started_minutes_ago=120, attendance="attended")
    assert [r.appointment for r in scheduling.open_after_session_requests()] == [attended]


def test_a_sparq_request_is_withdrawn_when_the_session_is_marked_missed(world: World) -> None:
    _sparq_after_every_session(world)
    session = _session(world, started_minutes_ago=70)
    (request,) = scheduling.open_after_session_requests()
    session.attendance = "no_show"
    session.save(update_fields=["attendance"])
    assert scheduling.close_lapsed_requests() == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    reasons = AuditEntry.objects.filter(
        object_type="measures.measurerequest", object_id=str(request.pk), action="update"
    ).values_list("detail", flat=True)
    assert {"status": "cancelled", "reason": "session_missed"} in list(reasons)
