"""The practice admin's outgoing-mail page: waiting and failed messages, never bodies, and
an audited "retry now"."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reverie.audit.models import AuditEntry
from reverie.outbox import sealing
from reverie.outbox.models import Message, Status
from reverie.outbox.queue import enqueue
from reverie.testing import World

SECRET = "https://reverie.example/accounts/set-password/MQ/secret-token/"


def _failed(world: World, practice_id: int | None = None, to: str = "") -> Message:
    row = enqueue(
        "invitation",
        to or world.colleague.email,
        {"user": world.colleague, "practice": world.practice, "link": SECRET, "invited_by": "A"},
        practice_id=practice_id or world.practice.pk,
    )
    Message.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=10, last_error="ConnectionRefusedError: refused"
    )
    row.refresh_from_db()
    return row


def test_admin_sees_failed_and_waiting_messages_of_their_practice_without_bodies(
    world: World, as_user
) -> None:
    failed = _failed(world)
    waiting = enqueue(
        "alert_raised",
        world.therapist.email,
        {"alert": world.alert, "user": world.therapist, "link": "x"},
        practice_id=world.practice.pk,
    )
    elsewhere = _failed(world, practice_id=world.other_practice.pk, to="someone@elsewhere.test")
    page = as_user("admin").get(reverse("practice:outgoing")).content.decode()
    assert world.colleague.email in page and "Account invitation" in page
    assert "ConnectionRefusedError: refused" in page
    assert world.therapist.email in page and "Alert to the treating therapist" in page
    assert "someone@elsewhere.test" not in page
    assert "secret-token" not in page and "set-password" not in page
    assert reverse("practice:retry_message", args=[failed.pk]) in page
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and (entry.action, entry.object_type, entry.actor) == (
        "list",
        "outbox.message",
        world.admin,
    )
    assert sorted(entry.detail["messages"]) == sorted([failed.pk, waiting.pk])
    assert elsewhere.pk not in entry.detail["messages"]


def test_retry_now_is_audited_and_sends_after_commit(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    failed = _failed(world)
    http = as_user("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(reverse("practice:retry_message", args=[failed.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("practice:outgoing")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SENT, 11)
    assert [m.to for m in mail.outbox] == [[world.colleague.email]]
    assert AuditEntry.objects.filter(
        action="update",
        object_type="outbox.message",
        object_id=str(failed.pk),
        actor=world.admin,
        detail={"retry": True},
    ).exists()


def test_another_practices_message_cannot_be_retried(world: World, client) -> None:
    from reverie.testing import sign_in

    ours = _failed(world)
    sign_in(client, world.stranger_admin)
    before = AuditEntry.objects.count()
    assert client.post(reverse("practice:retry_message", args=[ours.pk])).status_code == 404
    ours.refresh_from_db()
    assert ours.status == Status.FAILED and AuditEntry.objects.count() == before
    assert world.colleague.email not in client.get(reverse("practice:outgoing")).content.decode()


def test_a_message_without_a_body_is_listed_but_not_offered_for_retry(
    world: World, as_user
) -> None:
    lost = Message.objects.create(
        practice_id=world.practice.pk,
        template="invitation",
        recipient="lost@harbour.test",
        status=Status.FAILED,
        last_error="could not be prepared: TemplateDoesNotExist",
        next_attempt_at=timezone.now(),
    )
    http = as_user("admin")
    page = http.get(reverse("practice:outgoing")).content.decode()
    assert "lost@harbour.test" in page and "Cannot be resent" in page
    assert http.post(reverse("practice:retry_message", args=[lost.pk])).status_code == 404


def test_the_page_is_in_the_admin_navigation(world: World, as_user) -> None:
    home = as_user("admin").get(reverse("practice:users")).content.decode()
    assert reverse("practice:outgoing") in home
    assert (
        reverse("practice:outgoing")
        not in as_user("therapist").get(reverse("care:caseload")).content.decode()
    )


def test_bodies_at_rest_need_the_key(world: World) -> None:
    row = _failed(world)
    assert SECRET.encode() not in bytes(row.body)
    assert SECRET.encode() in sealing.unseal(bytes(row.body), row.encrypted)
