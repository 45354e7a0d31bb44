"""The clinical-support checklist after a not-on-track alert: its content (five areas,
prompts not findings, every source cited), who may record a review, what the audit holds,
and where the page is offered."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert, AlertKind, EpisodeStatus
from reverie.outcomes import actions, support
from reverie.outcomes.models import SupportReview
from reverie.testing import World

# -- the checklist itself (no database) ------------------------------------------------------


def test_the_checklist_has_the_five_areas_of_the_signal_client_review_risk_first() -> None:
    assert support.KEYS == ("risk", "alliance", "motivation", "support", "events")
    for area in support.AREAS:
        assert area.title and area.why and len(area.prompts) >= 2 and area.sources


def test_every_prompt_is_a_question_for_the_clinician_not_a_finding() -> None:
    for area in support.AREAS:
        for prompt in area.prompts:
            assert prompt.endswith("?"), prompt
            # Reverie never diagnoses: no prompt offers a diagnosis or names a disorder.
            assert not re.search(r"\b(diagnos\w*|disorders?)\b", prompt, re.I), prompt


def test_every_source_is_cited_with_a_doi_and_each_area_cites_a_listed_source() -> None:
    assert {s.short for s in support.SOURCES} >= {
        "Whipple et al. 2003",
        "Harmon et al. 2007",
        "Shimokawa, Lambert & Smart 2010",
        "White et al. 2015",
    }
    for source in support.SOURCES:
        assert source.url.startswith("https://doi.org/10."), source
    for area in support.AREAS:
        assert set(area.sources) <= set(support.SOURCES)
    # The references named in the module docstring, checked against the published records.
    doc = support.__doc__ or ""
    for doi in (
        "10.1037/0022-0167.50.1.59",  # Whipple 2003, J Couns Psychol 50(1) 59-68
        "10.1037/a0019247",  # Shimokawa 2010, J Consult Clin Psychol 78(3) 298-311
        "10.1080/10503307.2015.1009862",  # White 2015, Psychother Res 25(6) 724-734
        "10.1037/pst0000185",  # Eubanks 2018, Psychotherapy 55(4) 508-519
    ):
        assert doi in doc


def test_clean_keys_orders_deduplicates_and_refuses_unknown_areas() -> None:
    assert support.clean_keys(["events", "risk", "events"]) == ("risk", "events")
    assert support.clean_keys([]) == ()
    with pytest.raises(ValueError, match="not an area"):
        support.clean_keys(["medication"])
    assert support.titles(["events", "gone"]) == ["Recent life events"]


# -- recording a review ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_therapist_records_a_review_audited_without_the_note_text(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    review = actions.record_support_review(
        ctx, world.alert, reviewed=["events", "risk"], note="  Her father is in hospital.  "
    )
    review.refresh_from_db()
    assert review.reviewed == ["risk", "events"]
    assert review.note == "Her father is in hospital."
    assert review.author == world.therapist
    entry = AuditEntry.objects.filter(object_type="outcomes.supportreview").latest("pk")
    assert entry.action == "create" and entry.client_id == world.client.pk
    assert entry.detail == {"alert": world.alert.pk, "reviewed": ["risk", "events"], "note": True}
    assert "hospital" not in str(entry.detail)
    # The alert stays open unless the therapist asks to acknowledge it.
    world.alert.refresh_from_db()
    assert world.alert.acknowledged_at is None


@pytest.mark.django_db
def test_saving_again_replaces_the_review_and_can_acknowledge_the_alert(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    first = actions.record_support_review(ctx, world.alert, reviewed=["risk"], note="first")
    second = actions.record_support_review(
        ctx, world.alert, reviewed=["alliance"], note="", acknowledge=True
    )
    assert first.pk == second.pk and SupportReview.objects.count() == 1
    second.refresh_from_db()
    assert (second.reviewed, second.note) == (["alliance"], "")
    world.alert.refresh_from_db()
    assert world.alert.acknowledged_by == world.therapist
    actions_logged = list(
        AuditEntry.objects.filter(object_type="outcomes.supportreview")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions_logged == ["create", "update"]
    assert AuditEntry.objects.filter(
        object_type="care.alert", object_id=str(world.alert.pk), detail={"acknowledged": True}
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reviewed", "note", "message"),
    [
        ([], "", "at least one area"),
        (["medication"], "", "not an area"),
        (["risk"], "x" * (support.NOTE_MAX + 1), "longer than"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    world: World, reviewed: list[str], note: str, message: str
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(actions.OutcomeActionError, match=message):
        actions.record_support_review(
            trail.Context(user=world.therapist), world.alert, reviewed=reviewed, note=note
        )
    assert not SupportReview.objects.exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_only_a_therapist_caring_for_the_client_now_may_record_it(world: World) -> None:
    for user in (world.colleague, world.stranger, world.admin, world.client_user):
        with pytest.raises(actions.OutcomeActionError):
            actions.record_support_review(trail.Context(user=user), world.alert, reviewed=["risk"])
    # A former therapist (the episode ended) no longer sees the alert.
    world.episode.status = EpisodeStatus.ENDED
    world.episode.save(update_fields=["status"])
    with pytest.raises(actions.OutcomeActionError, match="not in your care"):
        actions.record_support_review(
            trail.Context(user=world.therapist), world.alert, reviewed=["risk"]
        )
    assert not SupportReview.objects.exists()


@pytest.mark.django_db
def test_the_checklist_follows_only_a_not_on_track_alert(world: World) -> None:
    crisis = Alert.objects.create(
        client=world.client, episode=world.episode, kind=AlertKind.CRISIS, summary="item 9"
    )
    with pytest.raises(actions.OutcomeActionError, match="not-on-track"):
        actions.record_support_review(
            trail.Context(user=world.therapist), crisis, reviewed=["risk"]
        )
    response = _therapist(world).get(reverse("outcomes:support_review", args=[crisis.pk]))
    assert response.status_code == 404


# -- the page ----------------------------------------------------------------------------------


def _therapist(world: World):
    from django.test import Client as HttpClient

    from reverie.testing import sign_in

    return sign_in(HttpClient(), world.therapist)


@pytest.mark.django_db
def test_the_page_shows_the_prompts_and_sources_and_records_the_read(world: World) -> None:
    http = _therapist(world)
    url = reverse("outcomes:support_review", args=[world.alert.pk])
    page = http.get(url).content.decode()
    for area in support.AREAS:
        assert area.title in page
    assert "not a diagnosis" in page
    assert "https://doi.org/10.1037/0022-0167.50.1.59" in page
    entry = AuditEntry.objects.latest("pk")
    assert (entry.action, entry.client_id) == ("view", world.client.pk)
    assert entry.detail["view"] == "support_review"


@pytest.mark.django_db
def test_posting_the_form_saves_and_bad_input_answers_400(world: World) -> None:
    http = _therapist(world)
    url = reverse("outcomes:support_review", args=[world.alert.pk])
    response = http.post(url, {"reviewed": ["nonsense"], "note": "x"})
    assert response.status_code == 400
    response = http.post(url, {"note": "only a note"})
    assert response.status_code == 400
    assert "Tick at least one area" in response.content.decode()
    assert not SupportReview.objects.exists()
    response = http.post(url, {"reviewed": ["support"], "note": "Lives alone now."})
    assert response.status_code == 302
    review = SupportReview.objects.get()
    assert review.reviewed == ["support"] and review.note == "Lives alone now."
    # The form was posted without the acknowledge box: the alert stays open.
    world.alert.refresh_from_db()
    assert world.alert.acknowledged_at is None
    page = http.get(url).content.decode()
    assert "Lives alone now." in page and "Reviewed by Theo Therapist" in page


@pytest.mark.django_db
def test_the_checklist_is_offered_on_the_alerts_client_and_outcome_pages(world: World) -> None:
    http = _therapist(world)
    url = reverse("outcomes:support_review", args=[world.alert.pk])
    for page in (
        reverse("care:alerts"),
        reverse("care:client", args=[world.client.pk]),
        reverse("outcomes:trajectory", args=[world.client.pk]),
    ):
        assert url in http.get(page).content.decode(), page
    trajectory = http.get(reverse("outcomes:trajectory", args=[world.client.pk]))
    assert "Not reviewed yet" in trajectory.content.decode()
    actions.record_support_review(
        trail.Context(user=world.therapist), world.alert, reviewed=["alliance", "motivation"]
    )
    trajectory = http.get(reverse("outcomes:trajectory", args=[world.client.pk]))
    text = trajectory.content.decode()
    assert "Our working relationship, Motivation and expectations" in text


@pytest.mark.django_db
def test_earlier_reviews_of_the_client_are_listed(world: World) -> None:
    ctx = trail.Context(user=world.therapist)
    older = Alert.objects.create(
        client=world.client,
        episode=world.episode,
        kind=AlertKind.NOT_ON_TRACK,
        summary="earlier",
        created_at=timezone.now() - timezone.timedelta(days=60),
    )
    actions.record_support_review(ctx, older, reviewed=["events"])
    page = _therapist(world).get(reverse("outcomes:support_review", args=[world.alert.pk]))
    text = page.content.decode()
    assert "Earlier reviews for this client" in text
    assert reverse("outcomes:support_review", args=[older.pk]) in text
