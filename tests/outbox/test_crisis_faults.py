"""The crisis path when the mail server misbehaves (issue 13).

These tests run with real commits (``transaction=True``), so the outbox's delivery after
commit — at the end of the request — happens exactly as in production. With the mail
server down, timing out or slow, a crisis answer is stored, its alert is visible at once,
the page answers normally, and the email goes out when mail comes back; escalation
happens regardless. A mail server that hangs mid-send holds no database lock.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from fakemail import Blocking, Slow
from measures.conftest import form_data, phq9_answers
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Alert
from reverie.core import worker
from reverie.measures import scheduling
from reverie.measures.models import Administration, Instrument, MeasureRequest
from reverie.outbox.models import Message, Status
from reverie.testing import World, build_world, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

CRISIS = phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 2)  # item 9: "more than half the days"


def _open_request(world: World, client=None, episode=None) -> MeasureRequest:
    return scheduling.create_manual_request(
        trail.system("test"),
        episode=episode or world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=timezone.now() - datetime.timedelta(minutes=1),
    )


def _submit(http: HttpClient, request: MeasureRequest, answers=CRISIS, key: str = "c" * 32):
    data = form_data(answers, action="submit", key=key)
    return http.post(reverse("measures:answer", args=[request.pk]), data)


def _mail_comes_back(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The backoff elapses; then the worker's next pass runs.
    Message.objects.filter(status=Status.PENDING).update(next_attempt_at=timezone.now())
    worker.REGISTRY["outbox.deliver"].func()


@pytest.mark.parametrize("backend", ["fakemail.Refusing", "fakemail.TimingOut"])
def test_with_the_mail_server_down_a_crisis_answer_is_stored_and_alerted_at_once(
    settings, backend: str
) -> None:
    settings.EMAIL_BACKEND = backend
    world = build_world()
    request = _open_request(world)
    http = sign_in(HttpClient(), world.client_user)

    response = _submit(http, request)

    assert response.status_code == 302  # no 500
    done = http.get(response["Location"]).content.decode()
    assert 'class="crisis-card"' in done and " hidden" not in done.split("crisis-card", 1)[1][:80]
    administration = Administration.objects.get(request=request)
    assert administration.has_critical
    alert = Alert.objects.get(kind="crisis", client=world.client)
    # Visible to the treating therapist at once, on the Alerts page and the caseload.
    therapist = sign_in(HttpClient(), world.therapist)
    assert alert.summary in therapist.get(reverse("care:alerts")).content.decode()
    caseload = therapist.get(reverse("care:caseload")).content.decode()
    assert "An answer about self-harm needs review." in caseload
    # The request tried to send after commit, failed, and left the message to the worker.
    message = Message.objects.get(template="alert_raised")
    assert (message.recipient, message.status, message.attempts) == (
        world.therapist.email,
        Status.PENDING,
        1,
    )
    assert message.last_error.startswith(("ConnectionRefusedError", "TimeoutError"))
    assert mail.outbox == []

    _mail_comes_back(settings)

    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    assert "crisis item" in mail.outbox[0].body
    message.refresh_from_db()
    assert (message.status, bytes(message.body)) == (Status.SENT, b"")


def test_a_slow_mail_server_is_given_up_on_after_the_configured_timeout(settings) -> None:
    settings.EMAIL_BACKEND = "fakemail.Slow"
    settings.EMAIL_TIMEOUT = 0.2  # stands in for the default 10 s against a 10 s server
    Slow.timeouts.clear()
    world = build_world()
    request = _open_request(world)
    http = sign_in(HttpClient(), world.client_user)

    response = _submit(http, request)

    assert response.status_code == 302
    assert Administration.objects.filter(request=request, has_critical=True).exists()
    assert Alert.objects.filter(kind="crisis", client=world.client).exists()
    assert Slow.timeouts == [0.2]  # the connection was opened with the configured timeout
    message = Message.objects.get(template="alert_raised")
    assert message.status == Status.PENDING and message.last_error == "TimeoutError: timed out"

    _mail_comes_back(settings)
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]


def test_escalation_happens_and_is_queued_while_mail_is_down(settings) -> None:
    settings.EMAIL_BACKEND = "fakemail.Refusing"
    world = build_world()
    request = _open_request(world)
    assert _submit(sign_in(HttpClient(), world.client_user), request).status_code == 302
    alert = Alert.objects.get(kind="crisis", client=world.client)

    later = timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    assert care_actions.escalate_unacknowledged(now=later) == 1

    alert.refresh_from_db()
    assert alert.escalated_at is not None
    assert AuditEntry.objects.filter(
        object_type="care.alert", object_id=str(alert.pk), detail__escalated=True
    ).exists()
    admin_page = sign_in(HttpClient(), world.admin).get(reverse("care:alerts")).content.decode()
    assert world.client.display_name in admin_page
    escalation = Message.objects.get(template="alert_escalated")
    assert (escalation.recipient, escalation.status, escalation.attempts) == (
        world.admin.email,
        Status.PENDING,
        1,  # tried once after the escalation committed, refused
    )
    # Running escalation again (another worker, a retry) queues nothing more.
    assert care_actions.escalate_unacknowledged(now=later) == 0
    assert Message.objects.filter(template="alert_escalated").count() == 1

    _mail_comes_back(settings)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.therapist.email, world.admin.email]
    )


def test_a_hanging_mail_server_holds_no_lock_other_requests_need(settings) -> None:
    """While one submission's alert email hangs mid-send, another person's audited page
    view and another client's submission both complete: the email is sent after commit
    and after the response, holding neither the audit chain's lock nor the write lock."""
    settings.EMAIL_BACKEND = "fakemail.Blocking"
    Blocking.entered.clear()
    Blocking.release.clear()
    world = build_world()
    crisis_request = _open_request(world)
    other_request = _open_request(world, episode=world.other_episode)
    results: dict[str, int] = {}

    def in_thread(name: str, work) -> threading.Thread:
        def run() -> None:
            try:
                results[name] = work()
            finally:
                connection.close()

        thread = threading.Thread(target=run, name=name)
        thread.start()
        return thread

    hanging = in_thread(
        "crisis",
        lambda: _submit(sign_in(HttpClient(), world.client_user), crisis_request).status_code,
    )
    try:
        assert Blocking.entered.wait(timeout=30), "the alert email was never sent"
        others = in_thread(
            "others",
            lambda: (
                sign_in(HttpClient(), world.colleague).get(reverse("care:caseload")).status_code,
                _submit(
                    sign_in(HttpClient(), world.other_client_user),
                    other_request,
                    answers=phq9_answers(1),
                    key="d" * 32,
                ).status_code,
            ),
        )
        others.join(timeout=30)
        finished_while_hanging = not others.is_alive()
        still_hanging = hanging.is_alive() and not Blocking.release.is_set()
    finally:
        Blocking.release.set()
        hanging.join(timeout=30)
    assert finished_while_hanging and still_hanging
    assert results == {"crisis": 302, "others": (200, 302)}
    assert Administration.objects.filter(request=other_request).exists()
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    assert Message.objects.get(template="alert_raised").status == Status.SENT
