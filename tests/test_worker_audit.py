"""Every background job's writes are in the audit trail, as the system.

For each registered job (``@job`` in ``*/jobs.py``) a case below arranges the work the
job exists for, runs the job as the worker does, and checks that every write it made is
audited by ``system:worker.<job name>`` (never by a person), with the rows the case
expects. Reads a job makes on somebody's behalf (a theme search reads the requesting
therapist's notes as them) may name that person. A new job fails
``test_every_job_has_an_audit_case`` until a case is added here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db.models import Max
from django.utils import timezone
from pyrage import x25519

from reverie.accounts.models import LoginAttempt, UnlockLink
from reverie.audit import trail
from reverie.audit.models import Action, AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Alert, Appointment, Client, Episode, SessionSeries
from reverie.core import worker
from reverie.directory import actions as directory_actions
from reverie.directory.models import ConsultationAttempt, ConsultationRequest, TherapistProfile
from reverie.lifecycle import bulk
from reverie.lifecycle import exports as lifecycle_exports
from reverie.lifecycle.models import BulkLevel, RecordExport
from reverie.measures import scheduling
from reverie.measures.models import Instrument, MeasureRequest
from reverie.outbox.models import Message, Status
from reverie.process import actions as process_actions
from reverie.scheduling.models import Booking, BookingStatus, WaitlistEntry, WaitlistOffer
from reverie.testing import World

#: (action, object type, object id or None for any, client id or None)
Expected = tuple[str, str, str | None, int | None]
WRITES = (Action.CREATE, Action.UPDATE, Action.DELETE)


def _ago(**delta: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def _request(world: World) -> MeasureRequest:
    return scheduling.create_manual_request(
        trail.system("test"),
        episode=world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=_ago(minutes=1),
    )


def escalate_alerts(world: World) -> list[Expected]:
    alert = Alert.objects.create(
        client=world.client, episode=world.episode, kind="crisis", summary="PHQ-9 item 9"
    )
    Alert.objects.filter(pk=alert.pk).update(created_at=_ago(hours=2))
    return [(Action.UPDATE, "care.alert", str(alert.pk), world.client.pk)]


def send_session_reminders(world: World) -> list[Expected]:
    Client.objects.filter(pk=world.client.pk).update(consent_email_reminders=True)
    soon = Appointment.objects.create(episode=world.episode, starts_at=_ago(hours=-3))
    return [(Action.UPDATE, "care.appointment", str(soon.pk), world.client.pk)]


def extend_series(world: World) -> list[Expected]:
    SessionSeries.objects.create(
        episode=world.episode,
        weekdays=[0, 3],
        every_weeks=1,
        start_time=datetime.time(9, 0),
        starts_on=timezone.localdate(),
        created_by=world.therapist,
    )
    return [(Action.CREATE, "care.appointment", None, world.client.pk)]


def prune_consultation_attempts(world: World) -> list[Expected]:
    ConsultationAttempt.objects.create(ip_digest="a" * 64, at=_ago(days=2))
    return [(Action.DELETE, "directory.consultationattempt", None, None)]


def remind_waiting(world: World) -> list[Expected]:
    request = directory_actions.submit_consultation(
        trail.Context(user=None, label="public:consultation form", practice=world.practice),
        world.practice,
        name="Waiting Person",
        email="waiting@example.org",
    )
    ConsultationRequest.objects.filter(pk=request.pk).update(created_at=_ago(days=3))
    return [(Action.UPDATE, "directory.consultationrequest", str(request.pk), None)]


def open_session_requests(world: World) -> list[Expected]:
    Appointment.objects.create(episode=world.episode, starts_at=_ago(hours=-20))
    return [(Action.CREATE, "measures.measurerequest", None, world.client.pk)]


def send_links(world: World) -> list[Expected]:
    request = _request(world)
    return [(Action.UPDATE, "measures.measurerequest", str(request.pk), world.client.pk)]


def send_measure_reminders(world: World) -> list[Expected]:
    request = _request(world)
    MeasureRequest.objects.filter(pk=request.pk).update(
        link_sent_at=_ago(hours=1), remind_at=_ago(minutes=1)
    )
    return [(Action.UPDATE, "measures.measurerequest", str(request.pk), world.client.pk)]


def close_lapsed_requests(world: World) -> list[Expected]:
    request = _request(world)
    MeasureRequest.objects.filter(pk=request.pk).update(expires_at=_ago(seconds=1))
    return [(Action.UPDATE, "measures.measurerequest", str(request.pk), world.client.pk)]


def refresh_outcomes(world: World) -> list[Expected]:
    # The world's episodes have no summaries yet, so the refresh writes all of them.
    return [(Action.UPDATE, "outcomes.episodeoutcome", None, None)]


def daily_outcomes(world: World) -> list[Expected]:
    return [
        (Action.CREATE, "outcomes.expectedcurves", None, None),
        (Action.UPDATE, "outcomes.episodeoutcome", None, None),
    ]


def theme_runs(world: World) -> list[Expected]:
    run = process_actions.queue_theme_run(
        trail.Context(user=world.therapist), client=world.client, use_fallback=True
    )
    return [(Action.UPDATE, "process.themerun", str(run.pk), world.client.pk)]


def build_exports(world: World) -> list[Expected]:
    export = lifecycle_exports.request_export(trail.Context(user=world.therapist), world.client)
    return [(Action.UPDATE, "lifecycle.recordexport", str(export.pk), world.client.pk)]


def build_bulk_exports(world: World) -> list[Expected]:
    export = bulk.kick_off(
        trail.Context(user=world.therapist),
        level=BulkLevel.PATIENT,
        params=bulk.Parameters(types=("Patient",), since=None, deidentify=False),
        request_url="http://testserver/fhir/Patient/$export",
    )
    return [(Action.UPDATE, "lifecycle.bulkexport", str(export.pk), None)]


def expire_exports(world: World) -> list[Expected]:
    export = lifecycle_exports.request_export(trail.Context(user=world.therapist), world.client)
    lifecycle_exports.claim(export, "test")
    export.refresh_from_db()
    lifecycle_exports.build(export, trail.system("test"))
    RecordExport.objects.filter(pk=export.pk).update(expires_at=_ago(minutes=1))
    return [(Action.DELETE, "lifecycle.recordexport", str(export.pk), world.client.pk)]


def retention_review(world: World) -> list[Expected]:
    Episode.objects.filter(pk=world.other_episode.pk).update(
        start_date=datetime.date(2001, 1, 1), end_date=datetime.date(2002, 1, 1), status="ended"
    )
    return [(Action.CREATE, "lifecycle.retentioncandidate", None, world.other_client.pk)]


def expire_erasure_requests(world: World) -> list[Expected]:
    from reverie.lifecycle import actions as lifecycle_actions
    from reverie.lifecycle.models import ErasureRequest

    client = world.client
    row = lifecycle_actions.request_erasure(
        trail.Context(user=world.admin),
        client,
        reason="The client asked in writing for their record to be erased.",
        typed_name=f"{client.given_name} {client.family_name}",
    )
    ErasureRequest.objects.filter(pk=row.pk).update(expires_at=_ago(minutes=1))
    return [(Action.UPDATE, "lifecycle.erasurerequest", str(row.pk), client.pk)]


def prune_login_attempts(world: World) -> list[Expected]:
    LoginAttempt.objects.create(
        email="a@b.c", ip="127.0.0.1", outcome=LoginAttempt.Outcome.FAILED, at=_ago(days=31)
    )
    UnlockLink.objects.create(
        user=world.therapist, digest="b" * 64, created_at=_ago(days=32), expires_at=_ago(days=31)
    )
    return [
        (Action.DELETE, "accounts.loginattempt", None, None),
        (Action.DELETE, "accounts.unlocklink", None, None),
    ]


def scheduled_backup(world: World) -> list[Expected]:
    # REVERIE_BACKUP_DIR and a recipient are set for every case (see the test below).
    return [
        (Action.CREATE, "backups.backuprun", None, None),
        (Action.DELETE, "backups.archive", None, None),  # the oldest archive kept is pruned
    ]


def _waiting_for_theo(world: World) -> WaitlistEntry:
    TherapistProfile.objects.create(
        user=world.therapist,
        modalities=["psychodynamic"],
        languages=["English"],
        fee=100,
        telehealth=True,
        weekly_slots=[[d, 18] for d in range(7)],
    )
    return WaitlistEntry.objects.create(
        practice=world.practice, therapist=world.therapist, name="W", email="w@example.org"
    )


def offer_waitlist(world: World) -> list[Expected]:
    _waiting_for_theo(world)
    return [
        (Action.CREATE, "scheduling.booking", None, None),
        (Action.CREATE, "scheduling.waitlistoffer", None, None),
    ]


def expire_offers(world: World) -> list[Expected]:
    entry = _waiting_for_theo(world)
    booking = Booking.objects.create(
        practice=world.practice,
        therapist=world.therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
        status=BookingStatus.HELD,
    )
    offer = WaitlistOffer.objects.create(
        entry=entry, booking=booking, nonce="n", expires_at=_ago(minutes=1)
    )
    return [
        (Action.UPDATE, "scheduling.waitlistoffer", str(offer.pk), None),
        (Action.UPDATE, "scheduling.booking", str(booking.pk), None),
    ]


CASES: dict[str, Callable[[World], list[Expected]]] = {
    "care.escalate_alerts": escalate_alerts,
    "care.send_reminders": send_session_reminders,
    "care.extend_series": extend_series,
    "directory.prune_attempts": prune_consultation_attempts,
    "directory.remind_waiting": remind_waiting,
    "measures.open_session_requests": open_session_requests,
    "measures.send_links": send_links,
    "measures.send_reminders": send_measure_reminders,
    "measures.close_lapsed_requests": close_lapsed_requests,
    "outcomes.refresh": refresh_outcomes,
    "outcomes.daily": daily_outcomes,
    "process.theme_runs": theme_runs,
    "lifecycle.build_exports": build_exports,
    "lifecycle.build_bulk_exports": build_bulk_exports,
    "lifecycle.expire_exports": expire_exports,
    "lifecycle.retention_review": retention_review,
    "lifecycle.expire_erasure_requests": expire_erasure_requests,
    "accounts.prune_login_attempts": prune_login_attempts,
    "backups.scheduled": scheduled_backup,
    "scheduling.offer": offer_waitlist,
    "scheduling.expire": expire_offers,
}


#: Jobs that write only their own bookkeeping, with the reason they are not audited.
BOOKKEEPING = {
    # Claims, attempts and sent/failed states of queued messages. Each message was queued
    # in the audited transaction of the change that caused it (an alert, an invitation).
    "outbox.deliver": "delivery state of queued messages",
    # The trail's own checks: a checkpoint line outside the database and a TrailCheck row
    # with the result, which the audit page shows.
    "audit.checkpoint": "the trail's checkpoint and its check result",
    "audit.verify": "the trail's verification result",
}


def test_every_job_has_an_audit_case() -> None:
    assert set(worker.REGISTRY) == set(CASES) | set(BOOKKEEPING)
    assert not set(CASES) & set(BOOKKEEPING)


@pytest.mark.parametrize("name", sorted(BOOKKEEPING))
def test_a_bookkeeping_job_writes_no_audit_rows(name: str, world: World) -> None:
    # Something for each to do: an alert (audited) queues its therapist's email.
    care_actions.raise_alert(
        trail.system("test"), client=world.client, kind="crisis", summary="PHQ-9 item 9"
    )
    assert Message.objects.filter(status=Status.PENDING).count() == 1
    mark = AuditEntry.objects.aggregate(m=Max("seq"))["m"] or 0
    worker.REGISTRY[name].func()
    if name == "outbox.deliver":
        assert Message.objects.filter(status=Status.SENT).count() == 1
    assert not AuditEntry.objects.filter(seq__gt=mark).exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_jobs_writes_are_audited_as_the_system(
    name: str, world: World, settings, tmp_path: Path
) -> None:
    # Scheduled backups are on, with one archive too many already in the folder.
    settings.BACKUP_DIR = str(tmp_path / "backups")
    settings.BACKUP_RECIPIENTS = [str(x25519.Identity.generate().to_public())]
    settings.BACKUP_KEEP = 1
    Path(settings.BACKUP_DIR).mkdir()
    (Path(settings.BACKUP_DIR) / "reverie-20000101T000000Z.rvbackup").write_bytes(b"old")
    expected = CASES[name](world)
    mark = AuditEntry.objects.aggregate(m=Max("seq"))["m"] or 0

    worker.REGISTRY[name].func()

    rows = list(AuditEntry.objects.filter(seq__gt=mark).order_by("seq"))
    writes = [r for r in rows if r.action in WRITES]
    assert writes, f"{name} wrote no audit rows"
    for row in writes:
        assert (row.actor_id, row.actor_label) == (None, f"system:worker.{name}"), row
        assert row.practice_id in (None, world.practice.pk, world.other_practice.pk)
    found = {(r.action, r.object_type, r.object_id, r.client_id) for r in writes}
    for action, object_type, object_id, client_id in expected:
        assert any(
            (a, t, c) == (action, object_type, client_id) and object_id in (None, i)
            for a, t, i, c in found
        ), f"{name}: no {action} of {object_type} {object_id or ''} in {sorted(found)}"


def test_new_sessions_of_a_series_are_audited_with_their_ids(world: World) -> None:
    series = SessionSeries.objects.create(
        episode=world.episode,
        weekdays=[1],
        every_weeks=1,
        start_time=datetime.time(10, 0),
        starts_on=timezone.localdate(),
        created_by=world.therapist,
    )
    worker.REGISTRY["care.extend_series"].func()
    created = sorted(Appointment.objects.filter(series=series).values_list("pk", flat=True))
    assert len(created) >= 11  # twelve weeks ahead, less today if it is a Tuesday
    entry = AuditEntry.objects.get(actor_label="system:worker.care.extend_series")
    assert (entry.practice_id, entry.client_id) == (world.practice.pk, world.client.pk)
    assert entry.detail == {"series": series.pk, "appointments": created}
    # The next run finds nothing to add, and writes nothing.
    worker.REGISTRY["care.extend_series"].func()
    assert AuditEntry.objects.filter(actor_label="system:worker.care.extend_series").count() == 1


def test_outside_a_job_a_system_context_keeps_its_own_label(world: World) -> None:
    assert trail.system("cli").actor_label == "system:cli"
