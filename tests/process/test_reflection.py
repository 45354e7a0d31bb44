"""The seven-feature session reflection and the technique profiles."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.care import actions as care_actions
from reverie.care.models import Appointment
from reverie.process import actions
from reverie.process.models import SessionReflection
from reverie.process.reflection import FEATURES, monthly_profile, validate_scores
from reverie.testing import World


def test_the_seven_features_are_those_of_blagys_and_hilsenroth_in_shedlers_order() -> None:
    assert [f.key for f in FEATURES] == [
        "affect",
        "avoidance",
        "patterns",
        "past",
        "relationships",
        "therapy_relationship",
        "fantasy",
    ]
    # Every question is a question, in Reverie's own words.
    assert all(f.question.startswith("How much") and f.question.endswith("?") for f in FEATURES)


def test_therapist_reflects_on_a_past_session_with_one_form(
    world: World, as_user, proc, audit_mark
) -> None:
    session = proc.past_sessions()[-1]
    audit_mark()
    response = as_user("therapist").post(
        reverse("process:reflect", args=[session.pk]),
        proc.reflection_post(4, comment="Stayed with her anger.", fantasy=1),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("process:episode_profile", args=[world.episode.pk])
    reflection = SessionReflection.objects.get()
    assert reflection.scores() == proc.scores(4, fantasy=1)
    assert (reflection.comment, reflection.author, reflection.episode) == (
        "Stayed with her anger.",
        world.therapist,
        world.episode,
    )
    assert reflection.session_date == timezone.localtime(session.starts_at).date()
    assert audit_mark() == [
        (
            world.therapist.email,
            "create",
            "process.sessionreflection",
            str(reflection.pk),
            world.client.pk,
            {"appointment": session.pk},
        )
    ]


def test_changing_a_reflection_records_only_what_changed(
    world: World, as_user, proc, audit_mark
) -> None:
    session = proc.past_sessions()[-1]
    http = as_user("therapist")
    http.post(reverse("process:reflect", args=[session.pk]), proc.reflection_post(3))
    audit_mark()
    http.post(
        reverse("process:reflect", args=[session.pk]),
        proc.reflection_post(3, comment="Later thought.", affect=5),
    )
    reflection = SessionReflection.objects.get()
    assert reflection.affect == 5
    assert audit_mark() == [
        (
            world.therapist.email,
            "update",
            "process.sessionreflection",
            str(reflection.pk),
            world.client.pk,
            {"fields": ["affect", "comment"]},
        )
    ]
    page = http.get(reverse("process:reflect", args=[session.pk])).content.decode()
    assert 'value="5"' in page and "checked" in page and "Later thought." in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"past": ""}, "Rate “The past” from 0 to 6."),
        ({"affect": "7"}, "Select a valid choice"),
        ({"fantasy": "two"}, "Select a valid choice"),
    ],
)
def test_incomplete_or_out_of_range_ratings_are_refused_and_nothing_is_saved(
    world: World, as_user, proc, audit_mark, change: dict[str, str], message: str
) -> None:
    session = proc.past_sessions()[-1]
    data = {**proc.reflection_post(2), **change}
    audit_mark()
    response = as_user("therapist").post(reverse("process:reflect", args=[session.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SessionReflection.objects.exists()
    assert audit_mark() == []


def test_a_future_session_cannot_be_reflected_on(world: World, as_user, proc) -> None:
    future = Appointment.objects.create(
        episode=world.episode, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    http = as_user("therapist")
    assert (
        "has not happened yet"
        in http.get(reverse("process:reflect", args=[future.pk])).content.decode()
    )
    response = http.post(reverse("process:reflect", args=[future.pk]), proc.reflection_post(3))
    assert response.status_code == 400
    assert "This session has not happened yet." in response.content.decode()
    assert not SessionReflection.objects.exists()


def test_a_cancelled_session_cannot_be_reflected_on(world: World, as_user, proc) -> None:
    session = proc.past_sessions()[0]
    session.attendance = "cancelled"
    session.save(update_fields=["attendance"])
    response = as_user("therapist").post(
        reverse("process:reflect", args=[session.pk]), proc.reflection_post(3)
    )
    assert response.status_code == 400
    assert "This session did not take place (cancelled)" in response.content.decode()
    assert not SessionReflection.objects.exists()


def test_only_the_treating_therapist_reflects_even_with_a_care_grant(
    world: World, as_user, proc
) -> None:
    care_actions.grant_access(
        trail.Context(user=world.admin), client=world.client, therapist=world.colleague, reason="x"
    )
    session = proc.past_sessions()[-1]
    colleague = as_user("colleague")
    assert colleague.get(reverse("process:reflect", args=[session.pk])).status_code == 404
    with pytest.raises(actions.ProcessActionError, match="only the treating therapist"):
        actions.save_reflection(
            trail.Context(user=world.colleague), appointment=session, scores=proc.scores(3)
        )
    # The colleague with a grant may read the profile, but is offered no reflect links.
    page = colleague.get(reverse("process:episode_profile", args=[world.episode.pk]))
    assert page.status_code == 200
    assert reverse("process:reflect", args=[session.pk]) not in page.content.decode()


def test_episode_profile_shows_monthly_means_and_is_audited(
    world: World, as_user, proc, audit_mark
) -> None:
    ctx = trail.Context(user=world.therapist)
    made = []
    for session, value in zip(proc.past_sessions(), (1, 3, 6), strict=True):
        made.append(actions.save_reflection(ctx, appointment=session, scores=proc.scores(value)))
    audit_mark()
    page = as_user("therapist").get(reverse("process:episode_profile", args=[world.episode.pk]))
    text = page.content.decode()
    expected = monthly_profile([(r.session_date, r.scores()) for r in made])
    for row in expected:
        assert f"{row.label}</th><td>{row.sessions}</td>" in text
        assert f"{row.means['affect']:.1f}" in text
    # The bar of the overall mean of "Feelings" (10/3 = 3.3) is drawn with a class, not a style.
    assert 'class="fill w-33"' in text and "style=" not in text
    assert audit_mark() == [
        (
            world.therapist.email,
            "view",
            "care.episode",
            str(world.episode.pk),
            world.client.pk,
            {"view": "technique_profile", "reflections": [r.pk for r in made]},
        )
    ]


def test_my_profile_covers_my_own_reflections_only(world: World, as_user, proc, audit_mark) -> None:
    ctx = trail.Context(user=world.therapist)
    for session in proc.past_sessions():
        actions.save_reflection(ctx, appointment=session, scores=proc.scores(5))
    other = Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() - datetime.timedelta(days=1)
    )
    actions.save_reflection(
        trail.Context(user=world.colleague), appointment=other, scores=proc.scores(0)
    )
    audit_mark()
    page = as_user("therapist").get(reverse("process:my_profile") + "?months=all")
    text = page.content.decode()
    assert "3 reflections in this period." in text
    assert "Cleo Client" in text and "Olly Other" not in text
    assert audit_mark() == [
        (
            world.therapist.email,
            "list",
            "process.sessionreflection",
            "",
            None,
            {"view": "my_profile", "clients": [world.client.pk], "reflections": 3},
        )
    ]
    colleague = as_user("colleague").get(reverse("process:my_profile") + "?months=all")
    assert "1 reflection in this period." in colleague.content.decode()


def test_my_profile_period_filter_ignores_unknown_values(world: World, as_user) -> None:
    page = as_user("therapist").get(reverse("process:my_profile") + "?months=forever")
    assert page.status_code == 200
    assert '<option value="12" selected>' in page.content.decode()


def test_validate_scores_refuses_missing_unknown_and_boolean_ratings() -> None:
    full = dict.fromkeys([f.key for f in FEATURES], 2)
    with pytest.raises(ValueError, match="missing past"):
        validate_scores({k: v for k, v in full.items() if k != "past"})
    with pytest.raises(ValueError, match="unknown mood"):
        validate_scores({**full, "mood": 1})
    with pytest.raises(ValueError, match="whole number"):
        validate_scores({**full, "affect": True})
