"""The outbox itself: queuing, sealing, claiming, retrying, giving up, timeouts."""

from __future__ import annotations

import datetime
import json
import random
import smtplib

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from fakemail import SilentServer
from reverie.core import worker
from reverie.outbox import delivery, sealing
from reverie.outbox.models import Message, Status
from reverie.outbox.queue import enqueue
from reverie.testing import World

SECRET_LINK = "https://reverie.example/m/one-time-secret-token/"


def _queue(world: World, *, dedupe_key: str | None = None, to: str = "") -> Message:
    return enqueue(
        "measure_link",
        to or world.client.email,
        {
            "client": world.client,
            "practice": world.practice,
            "link": SECRET_LINK,
            "closes": timezone.now(),
        },
        practice_id=world.practice.pk,
        dedupe_key=dedupe_key,
    )


def _due_now() -> None:
    """Let every backoff elapse (the worker would come back later)."""
    Message.objects.filter(status=Status.PENDING).update(next_attempt_at=timezone.now())


def test_a_queued_body_is_sealed_and_wiped_once_sent(world: World) -> None:
    row = _queue(world)
    row.refresh_from_db()
    stored = bytes(row.body)
    assert row.encrypted and row.status == Status.PENDING and row.attempts == 0
    assert b"one-time-secret-token" not in stored  # the link is not readable at rest
    parts = json.loads(sealing.unseal(stored, True))
    assert SECRET_LINK in parts["text"] and SECRET_LINK in parts["html"]
    assert delivery.deliver().sent == [row.pk]
    [sent] = mail.outbox
    assert sent.to == [world.client.email] and SECRET_LINK in sent.body
    row.refresh_from_db()
    assert (row.status, row.attempts, bytes(row.body), row.last_error) == (Status.SENT, 1, b"", "")
    assert row.sent_at is not None
    # What stays is metadata.
    assert (row.recipient, row.template, row.practice_id) == (
        world.client.email,
        "measure_link",
        world.practice.pk,
    )


def test_an_attachment_is_sealed_with_the_body_sent_and_wiped(world: World) -> None:
    secret = b"BEGIN:VCALENDAR\r\nSUMMARY:private-attachment-text\r\nEND:VCALENDAR\r\n"
    row = enqueue(
        "measure_link",
        world.client.email,
        {"client": world.client, "practice": world.practice, "link": SECRET_LINK},
        practice_id=world.practice.pk,
        attachments=[("session.ics", secret, "text/calendar")],
    )
    row.refresh_from_db()
    assert b"private-attachment-text" not in bytes(row.body)
    assert delivery.deliver().sent == [row.pk]
    [sent] = mail.outbox
    [(name, content, mimetype)] = sent.attachments
    assert (name, mimetype) == ("session.ics", "text/calendar")
    assert (content.encode() if isinstance(content, str) else content) == secret
    row.refresh_from_db()
    assert bytes(row.body) == b""


def test_a_dedupe_key_queues_a_message_once(world: World) -> None:
    first = _queue(world, dedupe_key="measure_link:test:1")
    again = _queue(world, dedupe_key="measure_link:test:1")
    other = _queue(world, dedupe_key="measure_link:test:2")
    assert first.pk == again.pk != other.pk
    assert Message.objects.count() == 2


def test_a_rolled_back_action_queues_nothing(world: World) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue(world)
        raise RuntimeError("the action failed")
    assert not Message.objects.exists()


def test_two_deliverers_never_send_the_same_message(world: World) -> None:
    row = _queue(world)
    assert delivery.claim(row.pk) is True
    assert delivery.claim(row.pk) is False  # held by the first
    # A claim whose holder died expires, and the message is taken again.
    Message.objects.filter(pk=row.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert delivery.claim(row.pk) is True
    row.refresh_from_db()
    assert row.attempts == 2


def test_backoff_grows_exponentially_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    ceilings = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    for attempts, ceiling in enumerate(ceilings, start=1):
        waits = [delivery.backoff(attempts, rng).total_seconds() for _ in range(200)]
        assert all(1.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # spread across the range, not fixed
        assert len({round(w, 3) for w in waits}) > 150


def test_each_failure_is_recorded_and_the_last_one_marks_the_message_failed(
    world: World, settings
) -> None:
    settings.EMAIL_BACKEND = "fakemail.Refusing"
    row = _queue(world)
    before = timezone.now()
    outcome = delivery.deliver()
    assert outcome.retrying == [row.pk]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at > before and row.locked_until is None
    assert bytes(row.body)  # kept for the next try
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        _due_now()
        delivery.deliver()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, delivery.MAX_ATTEMPTS)
    _due_now()
    assert delivery.deliver().sent == []  # a failed message is not tried again by itself


def test_a_connection_failure_ends_the_pass_and_leaves_the_rest_untouched(
    world: World, settings
) -> None:
    settings.EMAIL_BACKEND = "fakemail.TimingOut"
    first, second = _queue(world), _queue(world, to="someone@example.org")
    assert delivery.deliver().retrying == [first.pk]
    second.refresh_from_db()
    assert (second.status, second.attempts) == (Status.PENDING, 0)


def test_a_refused_address_fails_at_once_and_the_pass_goes_on(
    world: World, settings, monkeypatch
) -> None:
    bad, good = _queue(world, to="nobody@invalid.example"), _queue(world)
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def picky(self, messages):
        if messages[0].to == ["nobody@invalid.example"]:
            raise smtplib.SMTPRecipientsRefused(
                {"nobody@invalid.example": (550, b"5.1.1 No such user")}
            )
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", picky)
    outcome = delivery.deliver()
    assert (outcome.failed, outcome.sent) == ([bad.pk], [good.pk])
    bad.refresh_from_db()
    assert bad.status == Status.FAILED and "550" in bad.last_error


def test_a_message_whose_key_was_removed_fails_with_the_reason(world: World, settings) -> None:
    row = _queue(world)
    settings.ENCRYPTION_KEYS = ["0" * 43 + "="]  # a different key: the body cannot be read
    assert delivery.deliver().failed == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.FAILED and "no longer set" in row.last_error


def test_without_a_key_bodies_are_stored_plainly_sent_and_warned_about(
    world: World, settings
) -> None:
    settings.ENCRYPTION_KEYS = []
    row = _queue(world)
    row.refresh_from_db()
    assert not row.encrypted and b"one-time-secret-token" in bytes(row.body)
    from reverie.outbox import checks

    assert [w.id for w in checks.no_key()] == ["outbox.W001"]
    assert delivery.deliver().sent == [row.pk]
    row.refresh_from_db()
    assert bytes(row.body) == b""


def test_a_message_that_cannot_be_prepared_never_fails_the_action(world: World) -> None:
    with transaction.atomic():
        row = enqueue("no_such_template", "x@example.org", {}, practice_id=world.practice.pk)
    row.refresh_from_db()
    assert row.status == Status.FAILED and "TemplateDoesNotExist" in row.last_error
    assert bytes(row.body) == b""


def test_the_worker_job_sends_what_is_due(world: World, settings) -> None:
    assert "outbox.deliver" in worker.REGISTRY
    settings.EMAIL_BACKEND = "fakemail.Refusing"
    row = _queue(world)
    worker.REGISTRY["outbox.deliver"].func()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    worker.REGISTRY["outbox.deliver"].func()  # not due yet: backoff
    assert mail.outbox == []
    _due_now()
    worker.REGISTRY["outbox.deliver"].func()
    assert [m.to for m in mail.outbox] == [[world.client.email]]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_a_real_smtp_server_that_hangs_is_given_up_on_after_the_timeout(
    world: World, settings
) -> None:
    """Django's own SMTP backend against a socket that accepts and never greets: the
    configured timeout is what ends the wait, and the outbox records it for a retry."""
    server = SilentServer()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 0.3
        row = _queue(world)
        assert delivery.deliver().retrying == [row.pk]
    finally:
        server.close()
    row.refresh_from_db()
    assert row.status == Status.PENDING and "timed out" in row.last_error


def test_check_warns_only_without_a_key(settings) -> None:
    from reverie.outbox import checks

    assert checks.no_key() == []
    settings.ENCRYPTION_KEYS = []
    call_command("check")  # a warning, not an error: the command still succeeds
