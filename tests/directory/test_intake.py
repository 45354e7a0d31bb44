"""The practice admin's intake queue: reading is audited, triage and conversion are actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Client, Episode
from reverie.directory import actions
from reverie.directory.models import ConsultationRequest
from reverie.testing import World

RISKY = {"roots": "understand", "concerns": ["grief", "self_esteem"], "wellbeing": "yes"}


def submit(world: World, **overrides: object) -> ConsultationRequest:
    fields: dict[str, object] = {
        "name": "Rowan Ash",
        "email": "rowan@example.org",
        "therapists": [world.therapist],
        "message": "I keep ending up in the same kind of relationship.",
    }
    fields.update(overrides)
    ctx = trail.Context(user=None, label="public:consultation form", practice=world.practice)
    return actions.submit_consultation(ctx, world.practice, **fields)  # type: ignore[arg-type]


def new_entries(before: int) -> list[tuple[str, str, str, int | None, dict]]:
    return [
        (e.action, e.object_type, e.object_id, e.client_id, e.detail)
        for e in AuditEntry.objects.order_by("seq")[before:]
    ]


@pytest.fixture
def admin(as_user):
    return as_user("admin")


def test_the_queue_lists_open_requests_and_audits_the_list(world: World, admin) -> None:
    first = submit(world)
    risky = submit(world, name="Sky Birch", email="sky@example.org", selfcheck=RISKY)
    closed = submit(world, name="Old Case", email="old@example.org")
    actions.triage(
        trail.Context(user=world.admin),
        closed,
        status="closed",
        triage_notes="",
        assigned_therapist=None,
    )
    before = AuditEntry.objects.count()
    text = admin.get(reverse("directory:intake")).content.decode()
    assert "Rowan Ash" in text and "Sky Birch" in text and "Old Case" not in text
    assert "Wellbeing answer needs a prompt reply" in text
    assert new_entries(before) == [
        (
            "list",
            "directory.consultationrequest",
            "",
            None,
            {"view": "intake", "requests": [risky.pk, first.pk]},
        )
    ]
    assert "Old Case" in admin.get(reverse("directory:intake") + "?show=closed").content.decode()


def test_opening_a_request_is_audited_and_shows_what_they_sent(world: World, admin) -> None:
    request = submit(world, selfcheck=RISKY)
    before = AuditEntry.objects.count()
    text = admin.get(reverse("directory:intake_request", args=[request.pk])).content.decode()
    assert new_entries(before) == [
        ("view", "directory.consultationrequest", str(request.pk), None, {"view": "intake_request"})
    ]
    assert "same kind of relationship" in text
    assert "Please reply promptly" in text
    assert "Your answers lean" not in text  # the admin sees the person's result, not "your"
    assert "Grief or loss" in text


def test_invalid_self_check_answers_are_refused_by_the_action(world: World) -> None:
    with pytest.raises(actions.DirectoryActionError, match="not valid"):
        submit(world, selfcheck={"concerns": ["self-esteem"], "wellbeing": "no"})
    assert not ConsultationRequest.objects.exists()


def test_triage_is_audited_by_field_name_never_by_text(world: World, admin) -> None:
    request = submit(world)
    url = reverse("directory:intake_request", args=[request.pk])
    before = AuditEntry.objects.count()
    response = admin.post(
        url,
        {
            "status": "contacted",
            "assigned_therapist": world.colleague.pk,
            "triage_notes": "Rang her back",
        },
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.assigned_therapist, request.triage_notes) == (
        "contacted",
        world.colleague,
        "Rang her back",
    )
    assert new_entries(before) == [
        (
            "update",
            "directory.consultationrequest",
            str(request.pk),
            None,
            {
                "fields": ["status", "triage_notes", "assigned_therapist"],
                "status": "contacted",
                "assigned_therapist": world.colleague.pk,
            },
        )
    ]


def test_triage_cannot_assign_a_therapist_of_another_practice(world: World, admin) -> None:
    request = submit(world)
    response = admin.post(
        reverse("directory:intake_request", args=[request.pk]),
        {"status": "contacted", "assigned_therapist": world.stranger.pk, "triage_notes": ""},
    )
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.status == "new" and request.assigned_therapist is None


def test_converting_makes_a_client_an_intake_episode_and_a_portal_invitation(
    world: World, admin, django_capture_on_commit_callbacks
) -> None:
    request = submit(world, selfcheck=RISKY)
    url = reverse("directory:intake_convert", args=[request.pk])
    form = admin.get(url).content.decode()
    assert 'value="Rowan"' in form and 'value="Ash"' in form
    mail.outbox.clear()
    before = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):  # the invitation goes after commit
        response = admin.post(
            url,
            {
                "given_name": "Rowan",
                "family_name": "Ash",
                "email": "rowan@example.org",
                "phone": "",
                "therapist": world.therapist.pk,
                "modality": "psychodynamic",
                "sessions_per_week": "2",
                "start_date": timezone.localdate().isoformat(),
                "invite": "on",
            },
        )
    client = Client.objects.get(family_name="Ash")
    assert response.status_code == 302 and response["Location"] == reverse(
        "care:client", args=[client.pk]
    )
    episode = Episode.objects.get(client=client)
    portal = User.objects.get(email="rowan@example.org")
    assert (episode.status, episode.therapist, episode.sessions_per_week) == (
        "intake",
        world.therapist,
        Decimal("2"),
    )
    assert (portal.role, client.user) == (Role.CLIENT, portal)
    assert client.presenting_concerns == ["grief", "self_esteem"]
    assert client.referral_source == "Consultation request from the website"
    request.refresh_from_db()
    assert (request.status, request.client, request.assigned_therapist) == (
        "converted",
        client,
        world.therapist,
    )
    entries = new_entries(before)
    # The intake forms go out with the invitation (paperwork, tests/paperwork/).
    assert {e[1] for e in entries if e[1].startswith("paperwork.")} == {
        "paperwork.formversion",
        "paperwork.formrequest",
    }
    assert [e for e in entries if not e[1].startswith("paperwork.")] == [
        ("create", "care.client", str(client.pk), client.pk, {}),
        ("create", "care.episode", str(episode.pk), client.pk, {"modality": "psychodynamic"}),
        (
            "create",
            "accounts.user",
            str(portal.pk),
            None,
            {"role": "client", "practice": "harbour"},
        ),
        ("update", "care.client", str(client.pk), client.pk, {"fields": ["user"]}),
        (
            "update",
            "directory.consultationrequest",
            str(request.pk),
            client.pk,
            {"status": "converted", "client": client.pk},
        ),
        ("invite", "accounts.user", str(portal.pk), client.pk, {}),
    ]
    [invitation] = [m for m in mail.outbox if "invited" in m.subject.lower()]
    [forms] = [m for m in mail.outbox if "forms to sign" in m.subject.lower()]
    assert invitation.to == forms.to == ["rowan@example.org"] and len(mail.outbox) == 2
    # The treating therapist now sees the client; the request cannot be converted twice.
    assert admin.get(url).status_code == 302
    with pytest.raises(actions.DirectoryActionError, match="already become a client"):
        actions.convert_to_client(
            trail.Context(user=world.admin),
            request,
            given_name="R",
            family_name="A",
            email="x@example.org",
            phone="",
            therapist=world.therapist,
            modality="psychodynamic",
            sessions_per_week=Decimal("1"),
            start_date=timezone.localdate(),
            invite=False,
        )


def test_a_refused_step_creates_nothing(world: World, admin) -> None:
    request = submit(world, email=world.client_user.email)
    clients_before, users_before = Client.objects.count(), User.objects.count()
    before = AuditEntry.objects.count()
    response = admin.post(
        reverse("directory:intake_convert", args=[request.pk]),
        {
            "given_name": "Cleo",
            "family_name": "Again",
            "email": world.client_user.email,  # already has an account
            "therapist": world.therapist.pk,
            "modality": "psychodynamic",
            "sessions_per_week": "1",
            "start_date": timezone.localdate().isoformat(),
            "invite": "on",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert (Client.objects.count(), User.objects.count()) == (clients_before, users_before)
    assert AuditEntry.objects.count() == before
    request.refresh_from_db()
    assert request.status == "new" and request.client is None


def test_converting_without_an_invitation_makes_no_account(world: World) -> None:
    request = submit(world)
    done = actions.convert_to_client(
        trail.Context(user=world.admin),
        request,
        given_name="Rowan",
        family_name="Ash",
        email="rowan@example.org",
        phone="",
        therapist=world.colleague,
        modality="cbt",
        sessions_per_week=Decimal("1"),
        start_date=timezone.localdate() + dt.timedelta(days=3),
        invite=False,
    )
    assert done.portal_user is None and done.client.user is None
    assert not User.objects.filter(email="rowan@example.org").exists()


def test_other_practices_and_other_roles_cannot_touch_a_request(
    world: World, as_user, client
) -> None:
    from reverie.testing import sign_in

    request = submit(world)
    sign_in(client, world.stranger_admin)
    for name in ("directory:intake_request", "directory:intake_convert"):
        assert client.get(reverse(name, args=[request.pk])).status_code == 404
    assert b"Rowan Ash" not in client.get(reverse("directory:intake")).content
    with pytest.raises(actions.DirectoryActionError):
        actions.triage(
            trail.Context(user=world.stranger_admin),
            request,
            status="closed",
            triage_notes="",
            assigned_therapist=None,
        )
    with pytest.raises(actions.DirectoryActionError):
        actions.triage(
            trail.Context(user=world.therapist),
            request,
            status="closed",
            triage_notes="",
            assigned_therapist=None,
        )
