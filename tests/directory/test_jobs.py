"""The front door's periodic jobs."""

from __future__ import annotations

import datetime as dt

from django.core import mail
from django.utils import timezone

from reverie.audit import trail
from reverie.core import worker
from reverie.directory import actions
from reverie.directory.models import ConsultationAttempt, ConsultationRequest
from reverie.testing import World


def _request(world: World, name: str, age: dt.timedelta) -> ConsultationRequest:
    ctx = trail.Context(user=None, label="public:consultation form", practice=world.practice)
    request = actions.submit_consultation(
        ctx, world.practice, name=name, email=f"{name}@example.org"
    )
    ConsultationRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - age)
    return request


def test_the_jobs_are_registered() -> None:
    assert {"directory.prune_attempts", "directory.remind_waiting"} <= set(worker.REGISTRY)


def test_old_rate_limit_counts_are_forgotten(db) -> None:
    now = timezone.now()
    ConsultationAttempt.objects.create(ip_digest="a" * 64, at=now - dt.timedelta(days=2))
    ConsultationAttempt.objects.create(ip_digest="b" * 64, at=now - dt.timedelta(minutes=5))
    assert actions.prune_attempts(now) == 1
    assert list(ConsultationAttempt.objects.values_list("ip_digest", flat=True)) == ["b" * 64]


def test_admins_are_reminded_once_about_requests_left_waiting(
    world: World, django_capture_on_commit_callbacks
) -> None:
    waiting = _request(world, "waiting", dt.timedelta(days=3))
    _request(world, "fresh", dt.timedelta(hours=5))
    answered = _request(world, "answered", dt.timedelta(days=4))
    ConsultationRequest.objects.filter(pk=answered.pk).update(status="contacted")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.remind_waiting() == {world.practice.pk: 1}
    [reminder] = mail.outbox
    assert reminder.to == [world.admin.email]
    assert "1 consultation request still waiting" in reminder.subject
    assert "waiting@example.org" not in reminder.body
    waiting.refresh_from_db()
    assert waiting.reminded_at is not None
    # A second run, or a second worker, finds nothing left to claim.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.remind_waiting() == {}
    assert mail.outbox == []
