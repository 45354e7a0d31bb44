"""Every client and public page at 390x844: no horizontal scrolling, no console errors.

The pages come from the access matrix (``tests/matrix``), not from a list kept here: every GET
route a client or an anonymous visitor may open (200 in the matrix) is visited, so a new page
is covered the day its matrix entry is added. What is not a page a person reads on a phone
is in ``EXCLUDED`` with the reason; a route answering anything but HTML must be there.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from matrix import all_routes
from reverie.audit import trail
from reverie.measures import scheduling
from reverie.measures.models import Instrument
from reverie.testing import PASSWORD, World, build_world

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT = 390, 844

#: Routes a client or visitor may open that are not pages, with why they are not measured.
EXCLUDED = {
    "directory:therapist_photo": "an image, not a page",
    "care:calendar_feed": "an iCalendar feed for calendar apps",
    "paperwork:pdf": "a PDF download of a signed form",
    "billing:my_statement": "a PDF download of a monthly statement",
    "billing:my_superbill": "a PDF download of a superbill",
    "billing:my_estimate": "a PDF download of a Good Faith Estimate",
    "core:healthz": "a health check for monitoring, not a page",
}


def _pages(persona: str) -> list:
    return [
        r for r in all_routes() if r.method == "get" and not r.api and r.expect.get(persona) == 200
    ]


def _sign_in(page, world: World) -> None:
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(world.client_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")


def _measure(page, routes, world: World) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems = []
    for route in routes:
        if route.name in EXCLUDED:
            continue
        url = route.url(world)
        errors.clear()
        try:
            response = page.goto(page.base + url)
        except PlaywrightError as exc:  # a download is not a page
            problems.append(f"{route.name}: {exc.message.splitlines()[0]}; add it to EXCLUDED")
            continue
        assert response is not None
        kind = response.headers.get("content-type", "")
        if not kind.startswith("text/html"):
            problems.append(f"{route.name}: answers {kind}; add it to EXCLUDED with a reason")
            continue
        if response.status != 200:
            problems.append(f"{route.name} ({url}): HTTP {response.status}")
            continue
        page.wait_for_load_state("load")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                    .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + e.className)"""
            )
            problems.append(f"{route.name} ({url}): {scroll}px wide at {inner}px: {wide}")
        if errors:
            problems.append(f"{route.name} ({url}): console: {errors}")
    return problems


def test_every_exclusion_is_a_route_a_client_or_visitor_can_open() -> None:
    names = {r.name for r in _pages("client") + _pages("anonymous")}
    assert set(EXCLUDED) <= names, set(EXCLUDED) - names


def test_every_client_page_fits_a_phone(phone) -> None:
    world = build_world()
    _sign_in(phone, world)
    routes = _pages("client")
    assert len(routes) > 5
    problems = _measure(phone, routes, world)
    assert not problems, "\n".join(problems)


def test_every_public_page_fits_a_phone(phone) -> None:
    world = build_world()
    routes = _pages("anonymous")
    assert len(routes) > 5
    problems = _measure(phone, routes, world)
    assert not problems, "\n".join(problems)


def test_the_first_question_fits_the_phone_screen_and_long_text_wraps_in_its_card(
    phone, shot
) -> None:
    world = build_world()
    request = scheduling.create_manual_request(
        trail.system("test"),
        episode=world.episode,
        instrument=Instrument.objects.get(code="phq-9"),
        now=timezone.now() - datetime.timedelta(minutes=1),
    )
    _sign_in(phone, world)
    phone.goto(phone.base + reverse("measures:answer", args=[request.pk]))
    first = phone.locator("fieldset.question").first
    first.wait_for()
    shot(phone, "questionnaire-first-question-phone")
    assert phone.evaluate("window.scrollY") == 0
    options = first.locator(".option")
    assert options.count() == 4
    for i in range(options.count()):
        box = options.nth(i).bounding_box()
        assert box is not None and box["y"] + box["height"] <= HEIGHT, (
            f"answer {i + 1} of the first question is below the fold: {box}"
        )
    # The wording of a licensed instrument is fixed, so a long question is made in place: a
    # sentence and an unbroken 60-letter word, as a long compound or a URL would be.
    first.locator(".q-text").evaluate(
        "(e) => { e.textContent = 'Over the last two weeks, how often have you been bothered "
        "by ' + 'x'.repeat(60) + ' ' + e.textContent.repeat(3); }"
    )
    card = first.bounding_box()
    text = first.locator(".q-text").bounding_box()
    assert card is not None and text is not None
    assert (
        card["x"] + card["width"] <= WIDTH
        and text["x"] + text["width"] <= card["x"] + card["width"]
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert text["height"] > 60  # it wrapped onto several lines rather than running off
