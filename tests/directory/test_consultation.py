"""Consultation requests: the form, its spam protection, what is stored, audited and sent."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from reverie.audit.models import AuditEntry
from reverie.directory import actions
from reverie.directory.models import ConsultationAttempt, ConsultationRequest
from reverie.outbox.models import Message
from reverie.testing import World

ANSWERS = {"roots": "understand", "concerns": ["grief"], "wellbeing": "unsure", "budget": 90}


def request_data(world: World, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "intent": "send",
        "name": "Rowan Ash",
        "email": "Rowan@Example.org",
        "phone": "",
        "contact_by": "email",
        "preferred_therapists": [world.therapist.pk],
        "availability_days": ["1", "3"],
        "availability_times": ["evening"],
        "availability_note": "Not before 6pm",
        "message": "I keep ending up in the same kind of relationship.",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_form_says_it_is_not_watched_and_shows_the_crisis_card(
    public: World, profiles, client
) -> None:
    text = client.get(reverse("directory:consult")).content.decode()
    assert "If you need help now" in text
    assert "Nobody reads these pages or this practice's requests around the clock" in text
    assert escape(public.practice.crisis_info) in text
    # Only therapists with a published profile can be chosen.
    assert "Theo Therapist" in text and "Cora Colleague" in text


def test_a_therapist_card_preselects_that_therapist(public: World, profiles, client) -> None:
    text = client.get(
        reverse("directory:consult") + f"?therapist={public.therapist.pk}"
    ).content.decode()

    def checked(pk: int) -> bool:
        box = re.search(rf'<input[^>]*name="preferred_therapists" value="{pk}"[^>]*>', text)
        assert box, f"no checkbox for therapist {pk}"
        return " checked" in box.group(0)

    assert checked(public.therapist.pk) and not checked(public.colleague.pk)


def test_a_request_is_stored_audited_and_confirmed(
    public: World, profiles, client, django_capture_on_commit_callbacks
) -> None:
    before = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):  # mail goes once the request commits
        response = client.post(reverse("directory:consult"), request_data(public))
    assert response.status_code == 302 and response["Location"] == reverse("directory:consult_sent")
    request = ConsultationRequest.objects.get()
    assert (request.practice, request.name, request.email) == (
        public.practice,
        "Rowan Ash",
        "rowan@example.org",
    )
    assert list(request.preferred_therapists.all()) == [public.therapist]
    assert request.availability_days == [1, 3] and request.availability_times == ["evening"]
    assert request.selfcheck is None and request.status == "new"
    [entry] = AuditEntry.objects.order_by("seq")[before:]
    assert (entry.action, entry.object_type, entry.object_id, entry.practice_id) == (
        "create",
        "directory.consultationrequest",
        str(request.pk),
        public.practice.pk,
    )
    assert entry.actor is None and entry.actor_label == "public:consultation form"
    assert entry.detail == {"therapists": [public.therapist.pk], "selfcheck_attached": False}
    assert ConsultationAttempt.objects.count() == 1
    to = {message.to[0]: message for message in mail.outbox}
    assert set(to) == {"rowan@example.org", public.admin.email}
    confirmation = to["rowan@example.org"]
    assert "We have your consultation request" in confirmation.subject
    assert public.practice.crisis_info in confirmation.body
    # Neither email repeats what the person wrote.
    for message in mail.outbox:
        assert "same kind of relationship" not in message.body
        assert "Rowan" not in message.body or message.to == ["rowan@example.org"]
    sent = client.get(reverse("directory:consult_sent")).content.decode()
    assert "What happens next" in sent and "If you need help now" in sent


def test_self_check_answers_are_attached_only_when_the_box_is_ticked(
    public: World, profiles, client
) -> None:
    answers = json.dumps(ANSWERS)
    client.post(reverse("directory:consult"), request_data(public, selfcheck=answers))
    assert ConsultationRequest.objects.get().selfcheck is None
    ConsultationRequest.objects.all().delete()
    client.post(
        reverse("directory:consult"),
        request_data(public, selfcheck=answers, attach_selfcheck="on", email="b@example.org"),
    )
    stored = ConsultationRequest.objects.get()
    assert stored.selfcheck == ANSWERS
    entry = AuditEntry.objects.filter(object_type="directory.consultationrequest").latest("seq")
    assert entry.detail["selfcheck_attached"] is True


def test_starting_from_the_self_check_explains_what_would_be_sent(
    public: World, profiles, client
) -> None:
    response = client.post(
        reverse("directory:consult"),
        {
            "intent": "start",
            "selfcheck": json.dumps(ANSWERS),
            "therapist": str(public.therapist.pk),
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Send my self-check answers with this request" in text
    assert "including your answer to the question about harming yourself" in text
    assert not ConsultationRequest.objects.exists()
    assert not ConsultationAttempt.objects.exists()


def test_ticking_attach_without_answers_is_refused(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:consult"), request_data(public, attach_selfcheck="on")
    )
    assert response.status_code == 400
    assert "There are no self-check answers to send." in response.content.decode()
    assert not ConsultationRequest.objects.exists()


def test_the_honeypot_pretends_success_and_stores_nothing(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:consult"), request_data(public, website="http://spam.example")
    )
    assert response.status_code == 302 and response["Location"] == reverse("directory:consult_sent")
    assert not ConsultationRequest.objects.exists()
    assert not Message.objects.exists()  # nothing queued, so nothing will be sent
    assert ConsultationAttempt.objects.count() == 1  # still counts towards the limit


def test_too_many_requests_from_one_connection_are_refused(public: World, profiles, client) -> None:
    for n in range(actions.RATE_LIMIT):
        response = client.post(
            reverse("directory:consult"), request_data(public, email=f"p{n}@example.org")
        )
        assert response.status_code == 302
    response = client.post(
        reverse("directory:consult"), request_data(public, email="late@example.org")
    )
    assert response.status_code == 429
    assert "Please try again in an hour" in response.content.decode()
    assert ConsultationRequest.objects.count() == actions.RATE_LIMIT
    assert not ConsultationRequest.objects.filter(email="late@example.org").exists()
    # Another connection is not affected.
    other = client.post(
        reverse("directory:consult"),
        request_data(public, email="other@example.org"),
        REMOTE_ADDR="10.9.8.7",
    )
    assert other.status_code == 302


def test_the_connection_is_stored_only_as_a_keyed_digest(public: World, profiles, client) -> None:
    client.post(reverse("directory:consult"), request_data(public), REMOTE_ADDR="192.0.2.44")
    digest = ConsultationAttempt.objects.get().ip_digest
    assert "192.0.2.44" not in digest and len(digest) == 64
    assert digest == actions.ip_digest("192.0.2.44")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"contact_by": "phone"}, "Add a phone number, or choose to be contacted by email."),
        ({"selfcheck": "{broken"}, "could not be read"),
        ({"selfcheck": json.dumps({"roots": "nonsense", "wellbeing": "no"})}, "is not one of"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    public: World, profiles, client, overrides: dict[str, str], message: str
) -> None:
    response = client.post(reverse("directory:consult"), request_data(public, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ConsultationRequest.objects.exists()
    assert not Message.objects.exists()  # nothing queued, so nothing will be sent


def test_a_therapist_of_another_practice_cannot_be_chosen(
    public: World, profiles, client, new_profile
) -> None:
    new_profile(public.stranger)
    response = client.post(
        reverse("directory:consult"),
        request_data(public, preferred_therapists=[public.stranger.pk]),
    )
    assert response.status_code == 400
    assert not ConsultationRequest.objects.exists()
