"""The client's own progress page: the facts of the clinician's chart, in plain words, drawn
for a phone (outcomes/lay.py)."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import dateformat
from django.utils.html import strip_tags

from reverie.audit.models import AuditEntry
from reverie.care.models import Client
from reverie.measures.models import Administration
from reverie.outcomes import lay, trajectory
from reverie.testing import World


def _share(world: World) -> None:
    Client.objects.filter(pk=world.client.pk).update(progress_visible_to_client=True)


def _main(html: str) -> str:
    """The page's own content, without the navigation and footer shared by every page."""
    match = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert match is not None
    return " ".join(strip_tags(match.group(1)).split())


def test_the_page_says_the_facts_in_plain_words(world: World, as_user) -> None:
    _share(world)
    html = as_user("client").get(reverse("outcomes:my_progress")).content.decode()
    text = _main(html)
    # the world's client scored 17, 14 and 11 on the PHQ-9, in three attended sessions
    assert "Low mood" in text and "Lower is better" in text
    assert "Your latest score, 11, is 6 points lower than when you started." in text
    assert "a step in a good direction" in text
    # the reliable-change and caseness facts of the clinician's chart, without their names
    assert "A change of 6 points or more is bigger than the usual ups and downs" in text
    assert "this change is bigger than those ups and downs" in text
    assert "The dashed line at 10 marks where the questionnaire counts these problems" in text
    assert "Your latest score is at or above it." in text
    assert "You have come to 3 sessions in this course." in text
    # every score is listed, newest first, with its date in the practice's format
    firsts = Administration.objects.filter(client=world.client).order_by("-completed_at")
    listed = re.findall(r'<span class="lay-score">(\d+)</span>', html)
    assert listed == [str(a.total) for a in firsts] == ["11", "14", "17"]
    assert dateformat.format(firsts[0].completed_at, "M j, Y") in text
    lowered = text.lower()
    assert not [word for word in lay.JARGON if word in lowered], text


def test_the_chart_is_drawn_for_a_phone(world: World, as_user) -> None:
    _share(world)
    html = as_user("client").get(reverse("outcomes:my_progress")).content.decode()
    svg = re.search(r"<svg class=\"lay-chart\".*?</svg>", html, re.S)
    assert svg is not None
    svg_text = svg.group(0)
    assert f'viewBox="0 0 {lay.WIDTH} {lay.HEIGHT}"' in svg_text and 'role="img"' in svg_text
    # large labels: no text smaller than 16 units, on a drawing about as wide as the phone
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg_text)]
    assert sizes and min(sizes) >= 16 and lay.WIDTH <= 390
    # one dot per score (the latest drawn larger), the latest labelled with its value
    assert svg_text.count("<circle") == 3 and ">11</text>" in svg_text
    # the dashed line at the same height as 10 on the score scale
    assert 'stroke-dasharray="6 5"' in svg_text
    assert "<title" in svg_text and "Lower is better" in svg_text


def test_the_chart_and_the_clinicians_chart_agree(world: World) -> None:
    traj = trajectory.load(world.client)
    (t,) = traj.instruments
    (chart,) = lay.charts_for(traj)
    assert [p.score for p in reversed(chart.points)] == [p.total for p in t.points]
    span = t.episodes[-1]
    assert span.intake == 17 and span.last == 11
    assert f"{span.last - span.intake:+d}" == "-6"
    assert "6 points lower" in chart.summary


def test_not_shared_means_no_scores_and_the_view_is_audited(world: World, as_user) -> None:
    http = as_user("client")
    page = http.get(reverse("outcomes:my_progress")).content.decode()
    assert "not shared with you" in page and "lay-chart" not in page and ">11<" not in page
    _share(world)
    before = AuditEntry.objects.order_by("-seq").first()
    assert http.get(reverse("outcomes:my_progress")).status_code == 200
    since = before.seq if before else 0
    entry = AuditEntry.objects.filter(seq__gt=since, client_id=world.client.pk)
    assert entry.filter(detail__view="my_progress", detail__administrations=3).count() == 1
    # the client's link to the clinician's page shows the lay page too
    url = reverse("outcomes:trajectory", args=[world.client.pk])
    assert "lay-chart" in http.get(url).content.decode()
    # a therapist still sees the clinician's chart
    clinician = as_user("therapist").get(url).content.decode()
    assert "caseness" in _main(clinician) and "lay-chart" not in clinician


def test_an_empty_record_says_so(world: World, as_user) -> None:
    Administration.objects.filter(client=world.client).delete()
    _share(world)
    page = as_user("client").get(reverse("outcomes:my_progress")).content.decode()
    assert 'class="empty"' in page and "nothing to show" in page and "lay-chart" not in page


def test_a_score_that_rose_is_told_plainly(world: World, as_user) -> None:
    Administration.objects.filter(client=world.client, total=11).update(total=19)
    _share(world)
    text = _main(as_user("client").get(reverse("outcomes:my_progress")).content.decode())
    assert "Your latest score, 19, is 2 points higher than when you started." in text
    assert "things have been harder lately" in text
    assert "this change is within those ups and downs" in text
