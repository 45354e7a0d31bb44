from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care import actions
from reverie.care.models import Appointment, Client, Episode, FrequencyChange
from reverie.process import actions as process_actions
from reverie.testing import World


def _new_client_post(**overrides: str) -> dict[str, str]:
    data = {
        "client-given_name": "Nora",
        "client-family_name": "Vance",
        "client-pronouns": "she/her",
        "client-email": "nora@example.org",
        "client-consent_email_reminders": "on",
        "client-presenting_concerns": ["relationships", "anxiety"],
        "client-referral_source": "GP",
        "episode-modality": "psychodynamic",
        "episode-sessions_per_week": "1",
        "episode-start_date": timezone.localdate().isoformat(),
        "episode-goals": "Understand why I keep choosing the same partner",
    }
    data.update(overrides)
    return data


def test_therapist_creates_a_client_with_an_intake_episode(world: World, as_user) -> None:
    response = as_user("therapist").post(reverse("care:client_new"), _new_client_post())
    client = Client.objects.get(family_name="Vance")
    assert response.status_code == 302 and response["Location"] == reverse(
        "care:client", args=[client.pk]
    )
    episode = client.episodes.get()
    assert (episode.therapist, episode.status, episode.modality) == (
        world.therapist,
        "intake",
        "psychodynamic",
    )
    assert client.presenting_concerns == ["relationships", "anxiety"]
    assert FrequencyChange.objects.filter(episode=episode).count() == 1
    rows = AuditEntry.objects.filter(client_id=client.pk).order_by("seq")
    assert [(r.action, r.object_type) for r in rows] == [
        ("create", "care.client"),
        ("create", "care.episode"),
    ]


def test_bad_client_input_is_explained_and_stores_nothing(world: World, as_user) -> None:
    before = Client.objects.count()
    response = as_user("therapist").post(
        reverse("care:client_new"),
        _new_client_post(**{"client-email": "", "episode-start_date": "soon"}),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Email reminders need an email address." in page and "Enter a valid date." in page
    assert Client.objects.count() == before


def test_client_page_is_audited_and_shows_only_the_authors_process_notes(
    world: World, as_user
) -> None:
    process_actions.save_process_note(
        trail.Context(user=world.therapist), episode=world.episode, text="mine"
    )
    http = as_user("therapist")
    page = http.get(reverse("care:client", args=[world.client.pk])).content.decode()
    assert "Your process notes" in page and "mine" not in page  # listed by date, never inlined
    assert AuditEntry.objects.filter(
        action="view", client_id=world.client.pk, detail__view="client_page"
    ).exists()


def test_admin_sees_administrative_page_without_clinical_content(world: World, as_user) -> None:
    actions.save_progress_note(
        trail.Context(user=world.therapist),
        episode=world.episode,
        fields={
            "session_date": timezone.localdate(),
            "plan": "explore the dream of the locked room",
        },
    )
    page = as_user("admin").get(reverse("care:client", args=[world.client.pk])).content.decode()
    assert world.client.display_name in page
    assert (
        "Progress notes" not in page and "locked room" not in page and "Questionnaires" not in page
    )


def test_episode_status_moves_through_intake_active_paused(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    episode = actions.open_episode(
        ctx,
        client=world.client,
        therapist=world.therapist,
        modality="cbt",
        sessions_per_week=1,
        start_date=timezone.localdate(),
    )
    actions.set_episode_status(ctx, episode, "active")
    actions.set_episode_status(ctx, episode, "paused")
    actions.set_episode_status(ctx, episode, "active")
    with pytest.raises(actions.CareActionError, match="End episode"):
        actions.set_episode_status(ctx, episode, "ended")
    with pytest.raises(actions.CareActionError):
        actions.set_episode_status(ctx, episode, "intake")


def test_frequency_changes_are_kept_as_history(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    later = world.episode.start_date + datetime.timedelta(days=30)
    actions.change_frequency(ctx, world.episode, 2, later)
    world.episode.refresh_from_db()
    assert world.episode.sessions_per_week == 2
    assert list(world.episode.frequency_changes.values_list("sessions_per_week", flat=True)) == [2]
    with pytest.raises(actions.CareActionError, match="fortnightly or 1 to 5"):
        actions.change_frequency(ctx, world.episode, 7, later)


def test_colleague_cannot_open_an_episode_for_someone_elses_client(world: World, as_user) -> None:
    response = as_user("colleague").post(
        reverse("care:episode_new", args=[world.client.pk]),
        {"modality": "cbt", "sessions_per_week": "1", "start_date": "2026-11-01"},
    )
    assert response.status_code == 404
    assert Episode.objects.filter(client=world.client).count() == 1


def test_today_shows_each_session_with_a_snapshot(world: World, as_user) -> None:
    now = timezone.localtime()
    start = now.replace(hour=23, minute=0, second=0, microsecond=0)
    Appointment.objects.create(episode=world.episode, starts_at=start)
    actions.save_progress_note(
        trail.Context(user=world.therapist),
        episode=world.episode,
        fields={
            "session_date": timezone.localdate() - datetime.timedelta(days=7),
            "plan": "Return to the dream",
        },
    )
    page = as_user("therapist").get(reverse("care:today")).content.decode()
    assert world.client.display_name in page
    assert "Return to the dream" in page
    assert "11 (moderate)" in page and "-3 since the one before" in page
    assert "1</a>" in page  # the open alert, linked


def test_ending_an_episode_cancels_later_sessions_and_schedules_followups(
    world: World, as_user
) -> None:
    from reverie.measures.models import MeasureRequest

    later = Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(days=10)
    )
    http = as_user("therapist")
    response = http.post(
        reverse("care:episode_end", args=[world.episode.pk]),
        {"reason": "mutual", "end_date": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    world.episode.refresh_from_db()
    assert (world.episode.status, world.episode.end_reason) == ("ended", "mutual")
    later.refresh_from_db()
    assert (later.attendance, later.cancel_reason) == ("cancelled", "episode ended")
    timepoints = set(
        MeasureRequest.objects.filter(episode=world.episode).values_list("timepoint", flat=True)
    )
    assert {"followup_1m", "followup_3m", "followup_6m", "followup_12m"} <= timepoints
    page = http.get(reverse("care:client", args=[world.client.pk])).content.decode()
    assert "Follow-up questionnaires" in page and "12 months after ending" in page
    # Ending twice is refused and adds nothing.
    before = MeasureRequest.objects.count()
    again = http.post(
        reverse("care:episode_end", args=[world.episode.pk]),
        {"reason": "mutual", "end_date": timezone.localdate().isoformat()},
    )
    assert again.status_code == 400
    assert MeasureRequest.objects.count() == before


def test_clinician_concern_words_cover_exactly_the_front_door_vocabulary() -> None:
    from reverie.care.models import CONCERN_CHOICES
    from reverie.directory.selfcheck import CONCERNS

    assert [key for key, _ in CONCERN_CHOICES] == list(CONCERNS)


def test_the_client_page_lists_notes_without_decrypting_them(
    world: World, as_user, decryptions
) -> None:
    """The page lists each note by date and state, with how many addenda it has; the text of
    the notes and of their addenda is read on each note's own page, not decrypted here."""
    ctx = trail.Context(user=world.therapist)
    note = actions.save_progress_note(
        ctx,
        episode=world.episode,
        fields={"session_date": timezone.localdate(), "content": "spoke of her father"},
    )
    actions.sign_progress_note(ctx, note)
    actions.add_addendum(ctx, note, "corrected the date of the move")
    world.episode.goals = "to grieve"
    world.episode.save()
    http = as_user("therapist")
    decryptions.clear()
    page = http.get(reverse("care:client", args=[world.client.pk])).content.decode()
    assert "1 addendum" in page and "to grieve" in page
    assert dict(decryptions) == {"Episode.goals": 1}
