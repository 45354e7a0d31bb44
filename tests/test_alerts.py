from __future__ import annotations

import datetime

from django.core import mail
from django.urls import reverse
from django.utils import dateformat, timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions
from reverie.care.models import Alert, Appointment, Episode
from reverie.lib import dates
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


# --- alerts follow current care ------------------------------------------------------------


def _hand_over_to_colleague(world: World) -> Episode:
    """The therapist ends their episode today; the colleague opens the next one."""
    actions.end_episode(
        trail.Context(user=world.therapist),
        world.episode,
        reason="referral",
        end_date=timezone.localdate(),
    )
    return Episode.objects.create(
        client=world.client,
        therapist=world.colleague,
        modality="psychodynamic",
        start_date=timezone.localdate(),
        status="active",
    )


def _crisis_in(world: World, episode: Episode) -> Alert:
    return actions.raise_alert(
        trail.system("test"),
        client=world.client,
        episode=episode,
        kind="crisis",
        summary="PHQ-9 item 9 answered 3",
        source=world.episode.administrations.last(),
    )


def _sees(http, world: World, alert: Alert) -> dict[str, bool]:
    """Where the alert shows for this person: Alerts page, client page, Today's count."""
    alerts_page = http.get(reverse("care:alerts")).content.decode()
    client_page = http.get(reverse("care:client", args=[world.client.pk]))
    today = http.get(reverse("care:today")).content.decode()
    return {
        "alerts_page": alert.summary in alerts_page,
        "client_page": client_page.status_code == 200
        and alert.summary in client_page.content.decode(),
        "today_count": 'class="worse" href="/alerts/"' in today,
    }


def test_after_an_episode_ends_only_the_current_therapist_sees_and_counts_the_alert(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    # A session today on each episode, so both therapists' Today pages have the client.
    start = timezone.localtime().replace(hour=0, minute=30, second=0, microsecond=0)
    Appointment.objects.create(episode=world.episode, starts_at=start, attendance="attended")
    current = _hand_over_to_colleague(world)
    Appointment.objects.create(episode=current, starts_at=start + datetime.timedelta(hours=1))
    Alert.objects.filter(pk=world.alert.pk).update(acknowledged_at=timezone.now())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # sent when the alert commits
        alert = _crisis_in(world, current)

    assert [m.to for m in mail.outbox] == [[world.colleague.email]]
    assert _sees(as_user("colleague"), world, alert) == dict.fromkeys(
        ("alerts_page", "client_page", "today_count"), True
    )
    former = as_user("therapist")
    # The former therapist still reads the record they wrote, but not today's alert.
    assert former.get(reverse("care:client", args=[world.client.pk])).status_code == 200
    assert _sees(former, world, alert) == dict.fromkeys(
        ("alerts_page", "client_page", "today_count"), False
    )
    assert former.post(reverse("care:acknowledge_alert", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_reassigned_episode_takes_its_alerts_with_it(world: World, as_user) -> None:
    # The therapist also treated the client before, so they keep access to the record.
    Episode.objects.create(
        client=world.client,
        therapist=world.therapist,
        modality="psychodynamic",
        start_date=world.episode.start_date - datetime.timedelta(days=400),
        end_date=world.episode.start_date - datetime.timedelta(days=200),
        status="ended",
    )
    Episode.objects.filter(pk=world.episode.pk).update(therapist=world.colleague)
    alert = _crisis_in(world, world.episode)
    assert alert.summary not in as_user("therapist").get(reverse("care:alerts")).content.decode()
    assert alert.summary in as_user("colleague").get(reverse("care:alerts")).content.decode()


def test_a_grant_shows_alerts_until_it_is_revoked(world: World, as_user) -> None:
    alert = _crisis_in(world, world.episode)
    grant = actions.grant_access(
        trail.Context(user=world.admin),
        client=world.client,
        therapist=world.colleague,
        reason="cover",
    )
    covering = as_user("colleague")
    assert alert.summary in covering.get(reverse("care:alerts")).content.decode()
    actions.revoke_grant(trail.Context(user=world.admin), grant)
    assert alert.summary not in covering.get(reverse("care:alerts")).content.decode()
    assert covering.post(reverse("care:acknowledge_alert", args=[alert.pk])).status_code == 404


def test_admins_see_only_escalated_alerts(world: World, as_user, settings) -> None:
    alert = _crisis_in(world, world.episode)
    admin = as_user("admin")
    assert alert.summary not in admin.get(reverse("care:alerts")).content.decode()
    actions.escalate_unacknowledged(
        now=timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    )
    page = admin.get(reverse("care:alerts")).content.decode()
    assert alert.summary in page
    assert "Escalated alerts" in page
    when = timezone.localtime(Alert.objects.get(pk=alert.pk).escalated_at)
    assert f"Escalated {dateformat.format(when, dates.pattern('short'))}" in page  # on its row


def test_the_navigation_counts_the_open_alerts_each_person_sees(
    world: World, as_user, settings
) -> None:
    badge = '<span class="badge" aria-label="{} open">'
    # The world's one open alert (not on track) is the therapist's; the colleague has none.
    assert badge.format(1) in as_user("therapist").get(reverse("care:today")).content.decode()
    colleague = as_user("colleague").get(reverse("care:today")).content.decode()
    assert 'class="badge"' not in colleague
    _crisis_in(world, world.episode)
    assert badge.format(2) in as_user("therapist").get(reverse("care:caseload")).content.decode()
    admin = as_user("admin")
    assert 'class="badge"' not in admin.get(reverse("care:alerts")).content.decode()
    actions.escalate_unacknowledged(
        now=timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    )
    assert badge.format(1) in admin.get(reverse("care:alerts")).content.decode()
    for alert in Alert.objects.all():
        actions.acknowledge_alert(trail.Context(user=world.therapist), alert)
    assert 'class="badge"' not in as_user("therapist").get(reverse("care:today")).content.decode()


def test_a_crisis_with_nobody_in_current_care_goes_to_the_admins_at_once(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    actions.end_episode(
        trail.Context(user=world.therapist),
        world.episode,
        reason="mutual",
        end_date=timezone.localdate(),
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        alert = _crisis_in(world, world.episode)  # a follow-up questionnaire after ending

    alert.refresh_from_db()
    assert alert.escalated_at is not None
    assert [m.to for m in mail.outbox] == [[world.admin.email]]
    assert alert.summary in as_user("admin").get(reverse("care:alerts")).content.decode()
    assert alert.summary not in as_user("therapist").get(reverse("care:alerts")).content.decode()
    entry = AuditEntry.objects.get(object_id=str(alert.pk), action="update")
    assert entry.detail == {"escalated": True, "reason": "no_current_therapist"}
    assert entry.actor is None and entry.actor_label == "system:care.escalation"
    # The worker finds nothing more to do.
    later = timezone.now() + datetime.timedelta(days=1)
    assert actions.escalate_unacknowledged(now=later) == 0
