"""The client's sessions in the portal: cancel (free or late under the policy), ask to move,
and the therapist's and admin's side of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Appointment, Attendance
from reverie.scheduling import actions
from reverie.scheduling.models import MoveRequest, MoveStatus, SchedulingSettings
from reverie.testing import World


def session(world: World, hours: float, **fields) -> Appointment:  # type: ignore[no-untyped-def]
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours)
    return Appointment.objects.create(episode=world.episode, starts_at=start, **fields)


def test_the_client_sees_their_upcoming_sessions_and_the_window(world: World, as_user) -> None:
    mine = session(world, 72)
    other = Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() + dt.timedelta(days=3)
    )
    page = as_user("client").get(reverse("scheduling:my_sessions"))
    text = page.content.decode()
    assert page.status_code == 200
    assert reverse("scheduling:cancel", args=[mine.pk]) in text
    assert reverse("scheduling:cancel", args=[other.pk]) not in text
    assert "less than 48 hours before it starts" in text  # the default window
    entry = AuditEntry.objects.filter(action="list", object_type="care.appointment").last()
    assert entry is not None and entry.detail["appointments"] == [mine.pk]
    home = as_user("client").get(reverse("care:client_home")).content.decode()
    assert reverse("scheduling:my_sessions") in home


def test_cancelling_outside_the_window_is_free_and_tells_the_therapist(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    a = session(world, 72)
    http = as_user("client")
    page = http.get(reverse("scheduling:cancel", args=[a.pk])).content.decode()
    assert "cancelling it now is free" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(reverse("scheduling:cancel", args=[a.pk]))
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.attendance == Attendance.CANCELLED
    entry = AuditEntry.objects.get(object_type="care.appointment", action="update")
    assert entry.detail["attendance"] == "cancelled" and entry.detail["by"] == "client"
    assert entry.client_id == world.client.pk
    [message] = mail.outbox
    assert message.to == [world.therapist.email]
    assert "Cleo" not in message.body and "late" not in message.subject


def test_inside_the_window_the_policy_is_shown_and_a_late_cancel_recorded(
    world: World, as_user
) -> None:
    a = session(world, 20)
    http = as_user("client")
    page = http.get(reverse("scheduling:cancel", args=[a.pk])).content.decode()
    assert "The cancellation policy applies" in page and "late cancellation" in page
    # Without the confirmation from that page nothing changes.
    refused = http.post(reverse("scheduling:cancel", args=[a.pk]))
    assert refused.status_code == 409
    assert "cancellation policy applies" in refused.content.decode()
    a.refresh_from_db()
    assert a.attendance == Attendance.SCHEDULED
    done = http.post(reverse("scheduling:cancel", args=[a.pk]), {"accept_late": "yes"}, follow=True)
    assert "recorded as a late cancellation" in done.content.decode()
    a.refresh_from_db()
    assert a.attendance == Attendance.LATE_CANCEL


def test_the_practice_sets_its_own_window(world: World, as_user) -> None:
    admin = as_user("admin")
    assert admin.get(reverse("scheduling:settings")).status_code == 200
    response = admin.post(
        reverse("scheduling:settings"), {"late_cancel_hours": "12", "offer_hours": "6"}
    )
    assert response.status_code == 302
    rules = SchedulingSettings.objects.get(practice=world.practice)
    assert (rules.late_cancel_hours, rules.offer_hours) == (12, 6)
    assert AuditEntry.objects.filter(object_type="scheduling.schedulingsettings").exists()
    a = session(world, 20)  # late under 48 hours, free under 12
    as_user("client").post(reverse("scheduling:cancel", args=[a.pk]))
    a.refresh_from_db()
    assert a.attendance == Attendance.CANCELLED


@pytest.mark.parametrize(
    "data",
    [
        {"late_cancel_hours": "-1", "offer_hours": "24"},
        {"late_cancel_hours": "500", "offer_hours": "24"},
        {"late_cancel_hours": "24", "offer_hours": "0"},
        {"late_cancel_hours": "many", "offer_hours": "24"},
        {},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(world: World, as_user, data) -> None:
    response = as_user("admin").post(reverse("scheduling:settings"), data)
    assert response.status_code == 400
    assert not SchedulingSettings.objects.exists()


def test_a_cancelled_or_past_session_cannot_be_cancelled_again(world: World, as_user) -> None:
    http = as_user("client")
    a = session(world, 72)
    http.post(reverse("scheduling:cancel", args=[a.pk]))
    again = http.post(reverse("scheduling:cancel", args=[a.pk]))
    assert again.status_code == 400
    assert "no longer scheduled" in again.content.decode()
    assert AuditEntry.objects.filter(object_type="care.appointment", action="update").count() == 1
    past = session(world, -1)
    for response in (
        http.get(reverse("scheduling:cancel", args=[past.pk])),
        http.post(reverse("scheduling:cancel", args=[past.pk]), {"accept_late": "yes"}),
        http.post(reverse("scheduling:move", args=[past.pk]), {"days": ["1"]}),
    ):
        assert response.status_code == 400
        assert "already begun" in response.content.decode()
    past.refresh_from_db()
    assert past.attendance == Attendance.SCHEDULED and not MoveRequest.objects.exists()


def test_another_clients_session_is_not_found(world: World, as_user) -> None:
    other = Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() + dt.timedelta(days=3)
    )
    http = as_user("client")
    assert http.get(reverse("scheduling:cancel", args=[other.pk])).status_code == 404
    assert http.post(reverse("scheduling:cancel", args=[other.pk])).status_code == 404
    assert (
        http.post(reverse("scheduling:move", args=[other.pk]), {"days": ["1"]}).status_code == 404
    )
    other.refresh_from_db()
    assert other.attendance == Attendance.SCHEDULED and not MoveRequest.objects.exists()


def test_asking_to_move_reaches_the_therapist_and_shows_as_pending(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    a = session(world, 72)
    http = as_user("client")
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            reverse("scheduling:move", args=[a.pk]), {"days": ["1", "3"], "times": ["evening"]}
        )
    assert response.status_code == 302
    move = MoveRequest.objects.get()
    assert (move.preferred_days, move.preferred_times, move.status) == (
        [1, 3],
        ["evening"],
        "pending",
    )
    assert "You asked to move it" in http.get(reverse("scheduling:my_sessions")).content.decode()
    [message] = mail.outbox
    assert message.to == [world.therapist.email]
    assert "Cleo" not in message.body and "Tuesday" not in message.body
    # The therapist sees it and answers it; the colleague cannot.
    page = as_user("therapist").get(reverse("scheduling:requests")).content.decode()
    assert "Cleo Client" in page and "Tuesday, Thursday" in page
    assert (
        as_user("colleague").post(reverse("scheduling:answer", args=[move.pk])).status_code == 404
    )
    as_user("therapist").post(reverse("scheduling:answer", args=[move.pk]))
    move.refresh_from_db()
    assert move.status == MoveStatus.DONE and move.answered_by == world.therapist
    assert {e.action for e in AuditEntry.objects.filter(object_type="scheduling.moverequest")} >= {
        "create",
        "update",
        "list",
    }


def test_asking_twice_or_with_nothing_chosen_changes_nothing(world: World, as_user) -> None:
    a = session(world, 72)
    http = as_user("client")
    empty = http.post(reverse("scheduling:move", args=[a.pk]), {})
    assert empty.status_code == 400 and "Choose at least one day or time" in empty.content.decode()
    bogus = http.post(reverse("scheduling:move", args=[a.pk]), {"days": ["9"], "times": ["noon"]})
    assert bogus.status_code == 400
    assert not MoveRequest.objects.exists()
    http.post(reverse("scheduling:move", args=[a.pk]), {"days": ["1"]})
    again = http.post(reverse("scheduling:move", args=[a.pk]), {"days": ["2"]})
    assert again.status_code == 400
    assert "already asked to move" in again.content.decode()
    assert MoveRequest.objects.count() == 1


def test_cancelling_withdraws_a_pending_request_to_move(world: World) -> None:
    a = session(world, 72)
    ctx = trail.Context(user=world.client_user)
    actions.ask_to_move(ctx, world.client, a.pk, days=[1], times=[])
    actions.cancel_session(ctx, world.client, a.pk, accept_late=False)
    assert MoveRequest.objects.get().status == MoveStatus.WITHDRAWN
