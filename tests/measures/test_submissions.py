"""Submitting questionnaires: scoring, storage, audit rows, idempotency, nothing stored on bad
input, and the crisis path end to end (alert, email, escalation)."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from measures.conftest import phq9_answers
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions as care_actions
from reverie.care.models import Alert
from reverie.measures import actions
from reverie.measures.models import Administration, Draft, Instrument, RequestStatus
from reverie.outbox.models import Message
from reverie.testing import World


def _counts() -> tuple[int, int, int, int]:
    return (
        Administration.objects.count(),
        AuditEntry.objects.count(),
        Alert.objects.count(),
        Message.objects.count(),  # queued mail
    )


def _phq9() -> Instrument:
    return Instrument.objects.get(code="phq-9")


def test_a_submission_is_scored_stored_and_audited_once(world: World) -> None:
    ctx = trail.Context(user=world.client_user)
    before = AuditEntry.objects.count()
    result = actions.submit(
        ctx,
        client=world.client,
        instrument=_phq9(),
        answers=phq9_answers(3, 3, 2, 2, 1, 1, 0, 0, 0),
        source="portal",
    )
    row = result.administration
    assert result.created and not result.crisis
    assert (row.total, row.band, row.instrument_version) == (12, "Moderate", "1.0.0")
    assert row.episode == world.episode and row.timepoint == "session"
    assert row.answers["phq9-1"] == 3 and "phq9-difficulty" not in row.answers
    entries = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.action, e.object_type, e.object_id, e.client_id, e.actor_id) for e in entries] == [
        ("create", "measures.administration", str(row.pk), world.client.pk, world.client_user.pk)
    ]
    assert entries[0].detail == {
        "instrument": "phq-9",
        "source": "portal",
        "request": None,
        "critical": False,
    }


def test_every_missing_and_invalid_item_is_named_and_nothing_is_stored(world: World) -> None:
    before = _counts()
    answers = phq9_answers(1, 2, 3)
    answers["phq9-2"] = 7
    del answers["phq9-5"]
    answers["phq9-8"] = None
    with pytest.raises(actions.AnswerProblems) as caught:
        actions.submit(
            trail.Context(user=world.therapist),
            client=world.client,
            instrument=_phq9(),
            answers=answers,
            source="paper",
        )
    assert caught.value.problems == {
        "phq9-2": "Question 2: that answer is not one of the choices.",
        "phq9-5": "Question 5 has no answer yet. Choose the answer that fits best.",
        "phq9-8": "Question 8 has no answer yet. Choose the answer that fits best.",
    }
    assert _counts() == before


def test_a_retried_submission_returns_the_first_and_stores_nothing_new(world: World) -> None:
    key = actions.idempotency_key("fhir", world.therapist.pk, "urn:x|1")
    ctx = trail.Context(user=world.therapist)
    first = actions.submit(
        ctx,
        client=world.client,
        instrument=_phq9(),
        answers=phq9_answers(1),
        source="fhir",
        key=key,
    )
    rows = Administration.objects.count()
    again = actions.submit(
        ctx,
        client=world.client,
        instrument=_phq9(),
        answers=phq9_answers(1),
        source="fhir",
        key=key,
    )
    assert not again.created and again.administration.pk == first.administration.pk
    assert Administration.objects.count() == rows
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    assert (last.action, last.object_id, last.detail) == (
        "view",
        str(first.administration.pk),
        {"replay": True},
    )


def test_a_key_reused_for_different_answers_is_refused(world: World) -> None:
    key = actions.idempotency_key("fhir", world.therapist.pk, "urn:x|2")
    ctx = trail.Context(user=world.therapist)
    actions.submit(
        ctx,
        client=world.client,
        instrument=_phq9(),
        answers=phq9_answers(1),
        source="fhir",
        key=key,
    )
    before = _counts()
    with pytest.raises(actions.MeasureActionError, match="different answers") as refused:
        actions.submit(
            ctx,
            client=world.client,
            instrument=_phq9(),
            answers=phq9_answers(2),
            source="fhir",
            key=key,
        )
    assert not isinstance(refused.value, actions.RequestClosed)  # no request is involved
    assert _counts()[:3] == before[:3]


def test_a_request_is_answered_once_and_a_double_tap_gets_the_same_result(
    world: World, make_request
) -> None:
    request = make_request()
    ctx = trail.Context(user=world.client_user)
    first = actions.submit(
        ctx,
        client=world.client,
        instrument=request.instrument,
        answers=phq9_answers(1),
        source="portal",
        request=request,
        key=actions.idempotency_key("request", request.pk, "tap-1"),
    )
    # The second tap carries another key (a second tab): the request still has one answer.
    second = actions.submit(
        ctx,
        client=world.client,
        instrument=request.instrument,
        answers=phq9_answers(1),
        source="portal",
        request=request,
        key=actions.idempotency_key("request", request.pk, "tap-2"),
    )
    assert not second.created and second.administration.pk == first.administration.pk
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert Administration.objects.filter(request=request).count() == 1


def test_a_request_answered_with_other_answers_is_closed_to_a_second_tab(
    world: World, make_request
) -> None:
    # The answering page shows a closed request's closed (or thank-you) page; a second tab
    # sending other answers after the first must get that, not "use a new key".
    request = make_request()

    def send(first_answer: int, tab: str) -> actions.Submission:
        return actions.submit(
            trail.Context(user=world.client_user),
            client=world.client,
            instrument=request.instrument,
            answers=phq9_answers(first_answer),
            source="portal",
            request=request,
            key=actions.idempotency_key("request", request.pk, tab),
        )

    send(1, "tab-1")
    before = _counts()
    with pytest.raises(actions.RequestClosed, match="different answers"):
        send(2, "tab-2")
    assert _counts() == before
    assert Administration.objects.get(request=request).answers["phq9-1"] == 1


def test_a_closed_request_cannot_be_answered(world: World, make_request) -> None:
    request = make_request()
    actions.cancel_request(trail.Context(user=world.therapist), request)
    before = _counts()
    with pytest.raises(actions.RequestClosed, match="withdrawn"):
        actions.submit(
            trail.Context(user=world.client_user),
            client=world.client,
            instrument=request.instrument,
            answers=phq9_answers(),
            source="portal",
            request=request,
        )
    assert _counts() == before


def test_crisis_item_raises_one_alert_emails_the_therapist_and_escalates(
    world: World, settings, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # mail goes after commit
        result = actions.submit(
            trail.Context(user=world.client_user),
            client=world.client,
            instrument=_phq9(),
            answers=phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 2),
            source="portal",
        )
    assert result.crisis and result.alert is not None
    alert = result.alert
    assert (alert.kind, alert.client, alert.episode) == ("crisis", world.client, world.episode)
    assert alert.summary == "PHQ-9 item 9 at or above the crisis threshold"
    assert (alert.source_type, alert.source_id) == (
        "measures.administration",
        str(result.administration.pk),
    )
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]
    assert "crisis item" in mail.outbox[0].body
    assert world.client.family_name not in mail.outbox[0].body
    assert AuditEntry.objects.filter(
        action="create", object_type="care.alert", object_id=str(alert.pk)
    ).exists()
    # Not acknowledged in time: the practice admin is told, once.
    later = timezone.now() + datetime.timedelta(minutes=settings.ALERT_ESCALATION_MINUTES + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert care_actions.escalate_unacknowledged(now=later) == 1
        assert care_actions.escalate_unacknowledged(now=later) == 0
    assert [m.to for m in mail.outbox][1:] == [[world.admin.email]]


def test_crisis_answer_in_a_draft_alerts_at_once_and_submission_does_not_alert_again(
    world: World, make_request, django_capture_on_commit_callbacks
) -> None:
    request = make_request()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        draft, alert = actions.save_draft(
            trail.Context(user=world.client_user), request, {"phq9-1": 1, "phq9-9": 1}
        )
    assert alert is not None and "not yet submitted" in alert.summary
    assert (alert.source_type, alert.source_id) == ("measures.measurerequest", str(request.pk))
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        result = actions.submit(
            trail.Context(user=world.client_user),
            client=world.client,
            instrument=request.instrument,
            answers=phq9_answers(1, 0, 0, 0, 0, 0, 0, 0, 1),
            source="portal",
            request=request,
            key=actions.idempotency_key("request", request.pk, draft.key),
        )
    assert result.crisis and result.alert is not None and result.alert.pk == alert.pk
    assert len(mail.outbox) == 1
    assert Alert.objects.filter(kind="crisis", client=world.client).count() == 1
    assert not Draft.objects.filter(request=request).exists()
    # The alert now follows the questionnaire: submitted, no longer "not yet submitted".
    alert.refresh_from_db()
    assert alert.summary == "PHQ-9 item 9 at or above the crisis threshold"
    assert AuditEntry.objects.filter(
        action="update", object_type="care.alert", object_id=str(alert.pk)
    ).exists()


def test_a_crisis_answer_changed_before_submitting_leaves_the_alert_saying_so(
    world: World, make_request
) -> None:
    request = make_request()
    draft, alert = actions.save_draft(trail.Context(user=world.client_user), request, {"phq9-9": 2})
    assert alert is not None
    care_actions.acknowledge_alert(trail.Context(user=world.therapist), alert)
    actions.submit(
        trail.Context(user=world.client_user),
        client=world.client,
        instrument=request.instrument,
        answers=phq9_answers(1, 0, 0, 0, 0, 0, 0, 0, 0),
        source="portal",
        request=request,
        key=actions.idempotency_key("request", request.pk, draft.key),
    )
    alert.refresh_from_db()
    assert "not yet submitted" not in alert.summary
    assert "the submitted answers are below it" in alert.summary
    assert alert.acknowledged_at is not None  # restating never reopens an alert


def test_acknowledging_a_crisis_alert_is_audited(world: World) -> None:
    result = actions.submit(
        trail.Context(user=world.client_user),
        client=world.client,
        instrument=_phq9(),
        answers=phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 3),
        source="portal",
    )
    assert result.alert is not None
    care_actions.acknowledge_alert(trail.Context(user=world.therapist), result.alert)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.object_id, entry.actor_id, entry.detail) == (
        "update",
        str(result.alert.pk),
        world.therapist.pk,
        {"acknowledged": True},
    )


def test_draft_values_are_checked_but_not_completeness(world: World, make_request) -> None:
    request = make_request()
    draft, alert = actions.save_draft(trail.Context(user=world.client_user), request, {"phq9-1": 2})
    assert draft.answers == {"phq9-1": 2} and alert is None
    with pytest.raises(actions.AnswerProblems) as caught:
        actions.save_draft(trail.Context(user=world.client_user), request, {"phq9-1": 9})
    assert caught.value.problems == {"phq9-1": "Question 1: that answer is not one of the choices."}
    draft.refresh_from_db()
    assert draft.answers == {"phq9-1": 2}


def test_submission_after_the_episode_ended_is_recorded_as_the_nearest_follow_up(
    world: World,
) -> None:
    world.episode.start_date = timezone.localdate() - datetime.timedelta(days=400)
    world.episode.save(update_fields=["start_date"])
    care_actions.end_episode(
        trail.Context(user=world.therapist),
        world.episode,
        reason="mutual",
        end_date=timezone.localdate() - datetime.timedelta(days=95),
    )
    result = actions.submit(
        trail.Context(user=world.therapist),
        client=world.client,
        instrument=Instrument.objects.get(code="gad-7"),
        answers={f"gad7-{n}": 1 for n in range(1, 8)},
        source="paper",
        entered_by=world.therapist,
    )
    assert result.administration.timepoint == "followup_3m"
    assert result.administration.total == 7
