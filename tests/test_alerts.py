from __future__ import annotations

import datetime

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions
from reverie.care.models import Alert
from reverie.testing import World


def _crisis(world: World) -> Alert:
    admin_row = world.episode.administrations.first()
    return actions.raise_alert(
        trail.system("test"),
        client=world.client,
        episode=world.episode,
        kind="crisis",
        summary="PHQ-9 item 9 answered 2",
        source=admin_row,
    )


def test_raising_an_alert_emails_the_treating_therapist_without_clinical_detail(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # sent when the alert commits
        alert = _crisis(world)
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    body = mail.outbox[0].body
    assert "crisis item" in body and world.client.family_name not in body and "item 9" not in body
    assert AuditEntry.objects.filter(
        object_type="care.alert", object_id=str(alert.pk), action="create"
    ).exists()


def test_the_same_source_never_alerts_twice(
    world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = _crisis(world)
        second = _crisis(world)
    assert first.pk == second.pk
    assert len(mail.outbox) == 1


def test_therapist_acknowledges_and_it_is_audited(world: World, as_user) -> None:
    alert = _crisis(world)
    http = as_user("therapist")
    assert "PHQ-9 item 9 answered 2" in http.get(reverse("care:alerts")).content.decode()
    http.post(reverse("care:acknowledge_alert", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.therapist
    assert AuditEntry.objects.filter(
        object_id=str(alert.pk), action="update", actor=world.therapist, detail__acknowledged=True
    ).exists()


def test_colleague_neither_sees_nor_acknowledges_another_therapists_alert(
    world: World, as_user
) -> None:
    alert = _crisis(world)
    http = as_user("colleague")
    assert "PHQ-9 item 9" not in http.get(reverse("care:alerts")).content.decode()
    assert http.post(reverse("care:acknowledge_alert", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_unacknowledged_crisis_escalates_to_admins_once(
    world: World, settings, django_capture_on_commit_callbacks
) -> None:
    alert = _crisis(world)
    later = timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.escalate_unacknowledged(now=timezone.now()) == 0
        assert actions.escalate_unacknowledged(now=later) == 1
        assert actions.escalate_unacknowledged(now=later) == 0
    assert [m.to for m in mail.outbox] == [[world.admin.email]]
    alert.refresh_from_db()
    assert alert.escalated_at is not None


def test_acknowledged_crisis_does_not_escalate(world: World, settings) -> None:
    alert = _crisis(world)
    actions.acknowledge_alert(trail.Context(user=world.therapist), alert)
    later = timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    assert actions.escalate_unacknowledged(now=later) == 0


def test_admin_sees_and_can_acknowledge_escalated_alerts(world: World, as_user, settings) -> None:
    alert = _crisis(world)
    actions.escalate_unacknowledged(
        now=timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    )
    http = as_user("admin")
    assert world.client.display_name in http.get(reverse("care:alerts")).content.decode()
    http.post(reverse("care:acknowledge_alert", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.admin
