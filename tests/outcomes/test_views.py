"""Outcome pages: trajectory, dashboard, reports, export, public page and caseload status."""

from __future__ import annotations

import csv
import datetime
import io
import re

import numpy as np
import pypdfium2 as pdfium
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outcomes.conftest import add_scores, ended_episode
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert, Client, Episode
from reverie.outcomes import actions, summary
from reverie.outcomes.models import PracticeSettings
from reverie.testing import World


def _new_audit(before: int) -> list[tuple[str, str, str, int | None, dict]]:
    return [
        (e.actor_label, e.action, e.object_type, e.client_id, e.detail)
        for e in AuditEntry.objects.filter(seq__gt=before).order_by("seq")
    ]


def _seq() -> int:
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def _pdf_page_is_not_blank(body: bytes) -> None:
    pdf = pdfium.PdfDocument(body)
    assert len(pdf) >= 1
    image = pdf[0].render(scale=1).to_pil().convert("L")
    pixels = np.asarray(image, dtype=np.float64)
    # Ink covers a real share of the page and the page is not one flat colour.
    assert pixels.std() > 20
    assert (pixels < 128).mean() > 0.01


def test_therapist_sees_the_trajectory_and_the_view_is_audited(world: World, as_user) -> None:
    http = as_user("therapist")
    before = _seq()
    page = http.get(reverse("outcomes:trajectory", args=[world.client.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Patient Health Questionnaire-9" in html
    assert (
        "At intake the score was 17; the latest score in treatment is 11 (-6 points), "
        "which is a reliable improvement" in html
    )
    assert _new_audit(before) == [
        (
            "thera@harbour.test",
            "view",
            "care.client",
            world.client.pk,
            {"view": "trajectory", "administrations": 3},
        ),
    ]


def test_the_chart_is_inline_svg_without_styles_scripts_or_urls(world: World, as_user) -> None:
    html = (
        as_user("therapist")
        .get(reverse("outcomes:trajectory", args=[world.client.pk]))
        .content.decode()
    )
    svg = re.search(r"<svg.*?</svg>", html, flags=re.S).group(0)
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    assert "http" not in svg
    points = re.findall(
        r'<g class="pt" tabindex="0" data-i="(\d+)" role="button"><title>([^<]+)</title>', svg
    )
    assert [i for i, _ in points] == ["0", "1", "2"]
    assert points[0][1].endswith(": 17 (moderate), measurement 1 in treatment")
    assert 'id="points-phq9" type="application/json"' in html


def test_client_sees_own_charts_only_when_the_therapist_shares_them(world: World, as_user) -> None:
    http = as_user("client")
    url = reverse("outcomes:trajectory", args=[world.client.pk])
    assert http.get(url).status_code == 404
    assert "not shared with you" in http.get(reverse("outcomes:my_progress")).content.decode()
    Client.objects.filter(pk=world.client.pk).update(progress_visible_to_client=True)
    assert http.get(url).status_code == 200
    mine = http.get(reverse("outcomes:my_progress")).content.decode()
    assert "Your progress" in mine and "Low mood" in mine and "PHQ-9" in mine
    # Sharing one client's charts shows nothing of anyone else's.
    assert as_user("other_client").get(url).status_code == 404


@pytest.mark.parametrize("count", [30, 300])
def test_trajectory_page_uses_a_constant_number_of_queries(
    world: World, as_user, count: int, django_assert_num_queries
) -> None:
    start = timezone.now() - datetime.timedelta(days=count // 2 * 3 + 10)
    add_scores(
        world.episode,
        [10 + i % 8 for i in range(count // 2)],
        [8 + i % 6 for i in range(count // 2)],
        start=start,
        every_days=3,
        first_is_intake=False,
    )
    http = as_user("therapist")
    url = reverse("outcomes:trajectory", args=[world.client.pk])
    http.get(url)  # warm the chart cache and the session
    # The audit entry for the view is two statements on both engines, reading the newest
    # entry and inserting after it (audit.trail); one query counts the open alerts for the
    # navigation (care.nav.open_alerts), one asks whether the practice has secure messages on
    # (messaging.nav), one sums the practice's intake scores for the Jacobson-Truax cut-offs
    # (dashboard.practice_intake_sums), and one reads the client's not-on-track alerts with
    # their clinical-support reviews.
    with django_assert_num_queries(16):
        assert http.get(url).status_code == 200


def test_client_progress_pdf_renders_one_page_and_is_audited_as_export(
    world: World, as_user
) -> None:
    add_scores(
        world.episode,
        [10, 9],
        [9, 7],
        start=timezone.now() - datetime.timedelta(days=5),
        first_is_intake=False,
    )
    http = as_user("therapist")
    before = _seq()
    response = http.get(reverse("outcomes:trajectory_pdf", args=[world.client.pk]))
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert len(pdfium.PdfDocument(body)) == 1
    _pdf_page_is_not_blank(body)
    assert _new_audit(before) == [
        (
            "thera@harbour.test",
            "export",
            "care.client",
            world.client.pk,
            {"report": "client_progress_pdf", "administrations": 7},
        ),
    ]


def test_dashboard_shows_practice_figures_to_admin_and_own_to_therapist(
    practice_with_outcomes: World, as_user
) -> None:
    summary.refresh(full=True)
    admin_http, therapist_http = as_user("admin"), as_user("therapist")
    before = _seq()
    admin = admin_http.get(reverse("outcomes:dashboard")).content.decode()
    assert "Whole practice: 38 episodes, 36 ended" in admin
    assert "By therapist" in admin and "Theo Therapist" in admin and "Cora Colleague" in admin
    assert "Does it keep working after therapy ends?" in admin
    assert "Mixed change" in admin and "A guide to IAPT data and publications" in admin
    assert "Context only: effects from controlled trials" in admin and "de Maat" in admin
    own = therapist_http.get(reverse("outcomes:dashboard")).content.decode()
    assert "Episodes of Theo Therapist: 25 episodes" in own and "By therapist" not in own
    assert _new_audit(before) == [
        (
            "admin@harbour.test",
            "view",
            "outcomes.dashboard",
            None,
            {"scope": "practice", "episodes": 38},
        ),
        (
            "thera@harbour.test",
            "view",
            "outcomes.dashboard",
            None,
            {"scope": "own", "episodes": 25},
        ),
    ]
    # The stranger's practice shares nothing with ours.
    stranger = as_user("stranger").get(reverse("outcomes:dashboard")).content.decode()
    assert "Episodes of Sam Stranger: 1 episode," in stranger


def test_practice_pdf_renders_and_is_audited(practice_with_outcomes: World, as_user) -> None:
    summary.refresh(full=True)
    http = as_user("admin")
    before = _seq()
    response = http.get(reverse("outcomes:practice_pdf"))
    assert response["Content-Type"] == "application/pdf"
    _pdf_page_is_not_blank(response.content)
    assert _new_audit(before) == [
        (
            "admin@harbour.test",
            "export",
            "outcomes.dashboard",
            None,
            {"report": "practice_outcomes_pdf", "episodes": 38},
        ),
    ]


def test_csv_export_is_deidentified_stable_and_audited(
    practice_with_outcomes: World, as_user
) -> None:
    w = practice_with_outcomes
    summary.refresh(full=True)
    Client.objects.filter(pk=w.client.pk).update(date_of_birth=datetime.date(1980, 5, 17))
    http = as_user("admin")
    before = _seq()
    first = b"".join(http.get(reverse("outcomes:export_csv")).streaming_content).decode()
    second = b"".join(http.get(reverse("outcomes:export_csv")).streaming_content).decode()
    assert first == second
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 38
    for needle in ("Cleo", "Client", "Theo", "harbour.test"):
        assert needle not in first
    # The birth year must not appear in any field; the random hex pseudonyms can contain
    # "1980" by chance (one run's did), so they are left out of this check.
    pseudonyms = ("client", "episode", "therapist")
    assert not any(
        "1980" in value for r in rows for key, value in r.items() if key not in pseudonyms
    )
    assert all(re.fullmatch(r"c[0-9a-f]{16}", r["client"]) for r in rows)
    assert len({r["episode"] for r in rows}) == 38
    dyn = [r for r in rows if r["modality"] == "psychodynamic" and r["status"] == "ended"]
    assert dyn[0]["phq9_first"] == "18" and dyn[0]["nhs_tt_recovery"] in ("0", "1")
    assert dyn[0]["nhs_tt_mixed"] in ("0", "1")
    assert (
        _new_audit(before)
        == [
            (
                "admin@harbour.test",
                "export",
                "outcomes.episodeoutcome",
                None,
                {"export": "analysis_dataset_csv", "episodes": 38},
            ),
        ]
        * 2
    )


def test_publishing_is_an_audited_admin_choice_and_shows_the_public_page(
    practice_with_outcomes: World, as_user, client, settings
) -> None:
    w = practice_with_outcomes
    summary.refresh(full=True)
    settings.PUBLIC_PRACTICE = w.practice.slug
    assert client.get(reverse("outcomes:public")).status_code == 404
    admin = as_user("admin")
    before = _seq()
    response = admin.post(reverse("outcomes:publish"), {"publish": "on"})
    assert response.status_code == 302
    row = PracticeSettings.objects.get(practice=w.practice)
    assert row.publish_outcomes
    assert _new_audit(before) == [
        (
            "admin@harbour.test",
            "update",
            "outcomes.practicesettings",
            None,
            {"publish_outcomes": True},
        )
    ]
    page = client.get(reverse("outcomes:public")).content.decode()
    assert "Our outcomes" in page and "30+" in page
    assert "Cleo" not in page and "Theo" not in page
    assert "Does it keep working after therapy ends?" in page
    assert "Months after ending" in page
    assert "What these numbers mean" in page and "no comparison group" in page
    # Bad input changes nothing.
    admin.post(reverse("outcomes:publish"), {"publish": "maybe"})
    assert PracticeSettings.objects.get(practice=w.practice).publish_outcomes


def test_only_an_admin_of_the_practice_may_change_settings(world: World) -> None:
    with pytest.raises(actions.OutcomeActionError):
        actions.set_publish_outcomes(
            trail.Context(user=world.therapist), world.practice, publish=True
        )
    with pytest.raises(actions.OutcomeActionError):
        actions.set_publish_outcomes(
            trail.Context(user=world.stranger_admin), world.practice, publish=True
        )
    assert not PracticeSettings.objects.filter(publish_outcomes=True).exists()


def test_recompute_request_is_audited_and_shown_as_waiting(world: World, as_user) -> None:
    summary.refresh(full=True)
    admin = as_user("admin")
    before = _seq()
    admin.post(reverse("outcomes:recompute"))
    assert summary.state().full_requested
    assert _new_audit(before) == [
        ("admin@harbour.test", "update", "outcomes.refreshstate", None, {"full_recompute": True})
    ]
    page = admin.get(reverse("outcomes:dashboard")).content.decode()
    assert "A full recalculation is waiting" in page
    progress = admin.get(reverse("outcomes:progress")).json()
    assert progress["full_requested"] and not progress["running"]


# --------------------------------------------------------------------------------------------
# caseload status
# --------------------------------------------------------------------------------------------


def _caseload(as_user) -> str:
    return as_user("therapist").get(reverse("care:caseload")).content.decode()


def test_caseload_shows_improving_and_links_to_the_trajectory(world: World, as_user) -> None:
    Alert.objects.all().delete()
    page = _caseload(as_user)
    link = reverse("outcomes:trajectory", args=[world.client.pk])
    assert f'class="pill pill-improving" href="{link}"' in page


def test_caseload_flags_crisis_and_not_on_track_first(world: World, as_user) -> None:
    Alert.objects.create(
        client=world.client, episode=world.episode, kind="crisis", summary="PHQ-9 item 9"
    )
    page = _caseload(as_user)
    crisis = page.index("pill-crisis")
    assert crisis < page.index("pill-not_on_track") < page.index("pill-improving")
    assert '<td data-value="0">' in page and 'class="urgent"' in page


def test_caseload_flags_deterioration(world: World, as_user) -> None:
    Alert.objects.all().delete()
    add_scores(
        world.episode,
        [24],
        start=timezone.now() - datetime.timedelta(days=1),
        first_is_intake=False,
    )
    page = _caseload(as_user)
    assert "pill-deteriorated" in page and "pill-improving" not in page
    assert "pill-overdue" not in page


def test_caseload_flags_a_measure_overdue_after_five_weeks(world: World, as_user) -> None:
    from reverie.measures.models import Administration

    Alert.objects.all().delete()
    for a in Administration.objects.filter(episode=world.episode):
        Administration.objects.filter(pk=a.pk).update(
            completed_at=a.completed_at - datetime.timedelta(days=30)
        )
    assert "pill-overdue" in _caseload(as_user)


def test_caseload_query_count_does_not_grow_with_clients(
    world: World, as_user, django_assert_max_num_queries
) -> None:
    http = as_user("therapist")
    http.get(reverse("care:caseload"))
    with CaptureQueriesContext(connection) as few:
        http.get(reverse("care:caseload"))
    for i in range(6):
        episode = ended_episode(world.practice, world.therapist, [15, 12], [10, 8], name=f"Open{i}")
        Episode.objects.filter(pk=episode.pk).update(status="active", end_date=None, end_reason="")
    with CaptureQueriesContext(connection) as many:
        page = http.get(reverse("care:caseload")).content.decode()
    assert "Open5" in page
    assert len(many.captured_queries) == len(few.captured_queries)


def test_front_door_links_to_outcomes_only_once_published(
    practice_with_outcomes: World, as_user, client, settings
) -> None:
    w = practice_with_outcomes
    settings.PUBLIC_PRACTICE = w.practice.slug
    learn = reverse("directory:learn")
    assert reverse("outcomes:public") not in client.get(learn).content.decode()
    as_user("admin").post(reverse("outcomes:publish"), {"publish": "on"})
    assert reverse("outcomes:public") in client.get(learn).content.decode()
