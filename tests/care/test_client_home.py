"""The client's home page shows scores only when the therapist shares the charts."""

from __future__ import annotations

from django.urls import reverse

from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Client
from reverie.testing import World


def _home(as_user) -> str:
    response = as_user("client").get(reverse("care:client_home"))
    assert response.status_code == 200
    return response.content.decode()


def test_without_shared_charts_the_home_page_lists_questionnaires_but_no_scores_or_bands(
    world: World, as_user
) -> None:
    assert not world.client.progress_visible_to_client
    page = _home(as_user)
    assert "Patient Health Questionnaire" in page  # what was completed, and when
    for total in (">17<", ">14<", ">11<"):
        assert total not in page
    assert "moderate" not in page and "Score" not in page and "Range" not in page
    assert reverse("outcomes:my_progress") not in page.split("</nav>", 1)[-1]
    entry = AuditEntry.objects.filter(detail__view="client_home").latest("seq")
    assert entry.detail["scores_shown"] is False


def test_with_shared_charts_the_home_page_shows_scores_bands_and_the_charts_link(
    world: World, as_user
) -> None:
    Client.objects.filter(pk=world.client.pk).update(progress_visible_to_client=True)
    page = _home(as_user)
    assert ">17<" in page and ">14<" in page and ">11<" in page and "moderate" in page
    assert reverse("outcomes:my_progress") in page.split("</nav>", 1)[-1]
    entry = AuditEntry.objects.filter(detail__view="client_home").latest("seq")
    assert entry.detail["scores_shown"] is True


def test_without_shared_charts_the_progress_page_shows_no_trajectory(world: World, as_user) -> None:
    http = as_user("client")
    page = http.get(reverse("outcomes:my_progress")).content.decode()
    assert "not shared with you" in page and "<svg" not in page and ">17<" not in page
    trajectory = http.get(reverse("outcomes:trajectory", args=[world.client.pk]))
    assert trajectory.status_code == 404


def test_my_space_shows_the_questionnaire_waiting_and_the_journal(world: World, as_user) -> None:
    import datetime as _dt

    from django.utils import timezone as _tz

    from reverie.measures import scheduling
    from reverie.measures.models import Instrument

    page = _home(as_user)
    assert "Nothing to fill in right now" in page and "No entries yet" in page
    assert reverse("process:journal_new") in page
    request = scheduling.create_manual_request(
        trail.system("test"),
        episode=world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=_tz.now() - _dt.timedelta(minutes=1),
    )
    page = _home(as_user)
    assert reverse("measures:answer", args=[request.pk]) in page and ">Start<" in page
    assert "Nothing to fill in right now" not in page
    entry = AuditEntry.objects.filter(detail__view="client_home").latest("seq")
    assert entry.detail["requests"] == [request.pk]
