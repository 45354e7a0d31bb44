"""Outcome charts and the evidence dashboard in a real browser: points reveal their item
answers by mouse, keyboard and touch; nothing trips the Content-Security-Policy."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from outcomes.conftest import add_scores, ended_episode
from reverie.care.models import Client, Episode
from reverie.measures.models import Administration
from reverie.outcomes import summary
from reverie.testing import PASSWORD, World, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user.is_staff_role:
        page.wait_for_url("**/accounts/2fa/")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
        page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def _csp_errors(page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None
    )
    return errors


def _history(world: World) -> Episode:
    """The client's episode gets weekly scores, ends, and has two follow-ups."""
    Administration.objects.filter(episode=world.episode).delete()
    start = timezone.now() - datetime.timedelta(days=7 * 24 + 120)
    add_scores(
        world.episode,
        [17, 16, 18, 15, 14, 15, 13, 12, 12, 11, 10, 11, 9, 9, 8, 8, 7, 8, 6, 7],
        [13, 12, 13, 12, 11, 10, 10, 9, 9, 8, 8, 8, 7, 7, 6, 6, 6, 5, 5, 5],
        start=start,
        first_is_intake=False,
        followups={"followup_1m": (6, 5), "followup_3m": (5, 4)},
    )
    Episode.objects.filter(pk=world.episode.pk).update(
        status="ended",
        end_reason="mutual",
        start_date=start.date(),
        end_date=(start + datetime.timedelta(days=7 * 20)).date(),
    )
    return world.episode


def test_therapist_reads_a_trajectory_and_item_detail(page, shot) -> None:
    world = build_world()
    _history(world)
    summary.refresh(full=True)
    errors = _csp_errors(page)
    _sign_in(page, world.therapist)
    page.goto(page.base + f"/outcomes/clients/{world.client.pk}/")
    page.get_by_role("heading", name="Patient Health Questionnaire-9 (PHQ-9)").wait_for()
    chart = page.locator("#h-phq9 ~ figure svg")
    assert chart.is_visible()
    points = page.locator("figure[data-detail='detail-phq9'] g.pt")
    assert points.count() == 22
    points.nth(0).click()
    detail = page.locator("#detail-phq9")
    detail.get_by_text("Little interest or pleasure in doing things").wait_for()
    assert "score 17" in detail.inner_text()
    # Keyboard: focus a point and press Enter; then step to a later score with the button.
    points.nth(5).focus()
    page.keyboard.press("Enter")
    assert "score 15" in detail.inner_text()
    detail.get_by_role("button", name="Later score").click()
    assert "score 13" in detail.inner_text()
    assert "1 month after ending" in page.locator(".summary-lines").first.inner_text()
    shot(page, "outcomes-trajectory")
    assert errors == []


def test_client_reads_their_progress_on_a_phone(phone, shot) -> None:
    """The lay chart at 390x844: fits the screen, labels large enough to read, the direction
    and the result in words near the top, every score a tap away."""
    world = build_world()
    _history(world)
    Client.objects.filter(pk=world.client.pk).update(progress_visible_to_client=True)
    errors = _csp_errors(phone)
    _sign_in(phone, world.client_user)
    phone.goto(phone.base + "/outcomes/me/")
    phone.get_by_role("heading", name="Low mood").wait_for()
    card = phone.locator("section.lay-card").first
    assert card.locator(".lay-direction").inner_text() == "Lower is better"
    assert card.locator(".lay-direction").is_visible()
    chart = card.locator("svg.lay-chart")
    box = chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # the chart's smallest label as drawn on the phone, in CSS pixels
    smallest = chart.evaluate(
        "(svg) => Math.min(...[...svg.querySelectorAll('text')]"
        ".map((t) => t.getBoundingClientRect().height))"
    )
    assert smallest >= 14, f"chart labels are {smallest:.1f}px tall on a phone"
    # the result in words is on the first screen, under the chart
    caption = card.locator("figcaption")
    assert "points lower than when you started" in caption.inner_text()
    caption_box = caption.bounding_box()
    assert caption_box is not None and caption_box["y"] + caption_box["height"] <= 844
    text = card.inner_text()
    # the latest dot is the follow-up three months after ending; the one before is told too
    assert "Your latest score, 5, is 12 points lower than when you started." in text
    assert "(3 months after your sessions ended)" in text
    assert "1 month after your sessions ended your score was 6." in text
    # every score, newest first, behind one tap
    card.get_by_text("Every score, newest first").tap()
    assert card.locator(".lay-list li").count() == 22
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "my-progress-phone")
    assert errors == []


def test_admin_reads_the_evidence_dashboard(page, shot) -> None:
    world = build_world()
    for i in range(24):
        ended_episode(
            world.practice,
            world.therapist,
            [18, 15, 12, 9 - i % 3, 6 + i % 4],
            [14, 12, 10, 7, 5 + i % 3],
            followups={"followup_1m": (5 + i % 3, 4), "followup_3m": (4 + i % 4, 4)},
            name=f"Dyn{i}",
        )
    for i in range(14):
        ended_episode(
            world.practice,
            world.colleague,
            [16, 14, 13, 12, 11 + i % 3],
            [12, 11, 10, 9, 8],
            modality="cbt",
            followups={"followup_1m": (12 + i % 3, 8), "followup_3m": (13, 9)},
            end_reason="dropout" if i < 3 else "mutual",
            name=f"Cbt{i}",
        )
    summary.refresh(full=True)
    errors = _csp_errors(page)
    _sign_in(page, world.admin)
    page.goto(page.base + "/outcomes/")
    page.get_by_role("heading", name="Is therapy working?").wait_for()
    assert page.get_by_role("heading", name="Does it keep working after therapy ends?").is_visible()
    assert page.locator("#followup-h ~ figure svg").is_visible()
    row = page.get_by_role("row", name="Theo Therapist")
    assert row.is_visible()
    page.get_by_role("button", name="Ended").first.click()  # sortable headers
    shot(page, "outcomes-dashboard")
    assert errors == []
