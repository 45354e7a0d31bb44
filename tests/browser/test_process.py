"""Psychodynamic process, walked through in a real browser: the therapist reflects on a
session and records a relationship episode; the client, on a phone, writes a dream in the
journal and shares it; the therapist runs theme discovery (with the word-overlap
fallback, chosen explicitly) and accepts the theme it finds."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reverie.audit import trail
from reverie.process import actions, theme_runs
from reverie.process.models import (
    JournalEntry,
    RecurringTheme,
    RelationshipEpisode,
    SessionReflection,
    ThemeRun,
)
from reverie.testing import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, user, *, second_factor: bool) -> None:
    device = None
    if second_factor:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        page.wait_for_url("**/accounts/2fa/")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
        page.get_by_role("button", name="Continue").click()


def _no_serious_accessibility_problems(page) -> None:
    # The flash-message list comes from base.html, which this domain does not own; its
    # ``role="status"`` on a <ul> is reported separately (see docs/process.md).
    results = Axe().run(page, context={"exclude": [[".messages"]]})
    serious = [
        v["id"]
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not serious, results.generate_report()


def _fits_phone_width(page) -> None:
    """The page needs no sideways scrolling at 390 px (tables scroll inside their box)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"
    finally:
        page.set_viewport_size(size)


def test_process_walkthrough(page, phone, shot) -> None:
    world = build_world()
    # Two earlier dreams the client already shared; the third is written in the browser.
    client_ctx = trail.Context(user=world.client_user)
    for days_ago, text in (
        (40, "I dreamt I was locked out of my childhood house and the door was red."),
        (20, "Again I was locked out of my childhood house, knocking at the red door."),
    ):
        actions.create_journal_entry(
            client_ctx,
            fields={
                "kind": "dream",
                "title": "",
                "text": text,
                "mood": None,
                "tags": [],
                "entry_date": timezone.localdate() - datetime.timedelta(days=days_ago),
            },
            share=True,
        )

    # The therapist reflects on the latest session.
    _sign_in(page, world.therapist, second_factor=True)
    page.wait_for_url("**/caseload/")
    page.goto(page.base + f"/clients/{world.client.pk}/")
    page.get_by_role("link", name="Process and themes").click()
    page.get_by_role("heading", name="Process and themes: Cleo Client").wait_for()
    page.get_by_role("link", name=re.compile(r"^Reflect")).first.click()
    features = [
        "1. Feelings",
        "2. Avoidance",
        "3. Recurring patterns",
        "4. The past",
        "5. Relationships",
        "6. Our relationship",
        "7. Inner life",
    ]
    for rating, name in zip((5, 2, 4, 3, 5, 1, 6), features, strict=True):
        page.get_by_role("group", name=name).get_by_text(str(rating), exact=True).click()
    page.get_by_label("Comment (optional)").fill("A dream of the house; we stayed with it.")
    shot(page, "process-reflection-form")
    _fits_phone_width(page)
    page.get_by_role("button", name="Save reflection").click()
    page.get_by_text("Reflection saved.").wait_for()
    page.get_by_role("heading", name="Technique profile").wait_for()
    reflection = SessionReflection.objects.get()
    assert (reflection.affect, reflection.fantasy, reflection.author) == (5, 6, world.therapist)
    _no_serious_accessibility_problems(page)
    shot(page, "process-technique-profile")

    # The therapist records a relationship episode told in the session.
    page.goto(page.base + f"/process/clients/{world.client.pk}/")
    page.get_by_role("link", name="Record an episode").click()
    page.get_by_label("Told in a session").check()
    page.get_by_label("The other person", exact=True).select_option("boss")
    page.get_by_label("Who exactly (optional)").fill("new manager")
    page.get_by_label("The episode, as the client told it").fill(
        "Her new manager walked past her desk without a word after her presentation."
    )
    page.get_by_label("Wish (W): what the client wanted from the other person").fill(
        "to be recognised"
    )
    page.get_by_label("Response of the other (RO): how the other responded").fill("ignores her")
    page.get_by_label("Was the other's response positive or negative for the wish?").select_option(
        "negative"
    )
    page.get_by_label("Response of the self (RS): how the client then felt or acted").fill(
        "feels invisible and works late"
    )
    page.get_by_role("button", name="Save episode").click()
    page.get_by_text("Relationship episode recorded.").wait_for()
    page.get_by_role("heading", name="CCRT workbench: Cleo Client").wait_for()
    assert RelationshipEpisode.objects.get().wish == "to be recognised"
    _no_serious_accessibility_problems(page)
    _fits_phone_width(page)
    shot(page, "process-ccrt-workbench")

    # The client writes a dream on a phone and shares it.
    _sign_in(phone, world.client_user, second_factor=False)
    phone.wait_for_url("**/me/")
    phone.get_by_role("link", name="Journal").click()
    phone.get_by_role("heading", name="My journal").wait_for()
    crisis = phone.get_by_role("complementary", name="If you need help now")
    assert "not a crisis service" in crisis.inner_text()
    assert world.practice.crisis_info in crisis.inner_text()
    phone.get_by_role("link", name="Write a new entry").click()
    phone.get_by_label("A dream").check()
    phone.get_by_label("Title (optional)").fill("The red door")
    phone.get_by_label("Your entry").fill(
        "Locked out of my childhood house once more. The red door would not open."
    )
    phone.get_by_label("How are you feeling? (optional)").select_option("3")
    phone.get_by_label("Tags (optional)").fill("house, door")
    phone.get_by_label("Share this entry with my therapist").check()
    phone.get_by_role("button", name="Save entry").click()
    phone.get_by_text("Saved and shared with your therapist.").wait_for()
    # The title is encrypted at rest, so the entry is found by its client and read back.
    entry = JournalEntry.objects.filter(client=world.client).latest("pk")
    assert entry.title == "The red door"
    assert entry.is_shared and entry.tags == ["house", "door"]
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the journal is {width}px wide on a 390px phone"
    _no_serious_accessibility_problems(phone)
    shot(phone, "process-journal-phone")

    # The therapist sees the shared entry and runs theme discovery with the fallback.
    page.goto(page.base + f"/process/clients/{world.client.pk}/")
    page.get_by_role("link", name="The red door").wait_for()
    page.get_by_role("link", name="Recurring themes", exact=True).click()
    page.get_by_role("radio", name=re.compile(r"^Word-overlap fallback \(lower quality\)")).check()
    page.get_by_role("button", name="Find themes").click()
    page.get_by_text("The search has started.").wait_for()
    run = ThemeRun.objects.get()
    assert run.use_fallback and run.status == "queued"
    shot(page, "process-theme-search-queued")
    # The worker carries out the run; the page follows its progress and then reloads.
    assert theme_runs.process_queued(me="browser-test-worker") == [run.pk]
    accept = page.get_by_role("button", name=re.compile(r"^Accept"))
    accept.first.wait_for()
    theme = RecurringTheme.objects.get()
    assert {e.journal_entry_id for e in theme.evidence.all()} >= {entry.pk}
    _no_serious_accessibility_problems(page)
    _fits_phone_width(page)
    shot(page, "process-themes-found")
    accept.first.click()
    page.get_by_text("Theme accepted.").wait_for()
    theme.refresh_from_db()
    assert theme.status == "accepted"
    page.get_by_role("link", name=theme.label, exact=True).click()
    page.get_by_role("heading", name="Evidence").wait_for()
    quotes = page.locator(".evidence blockquote").all_inner_texts()
    assert "Locked out of my childhood house once more." in quotes
    shot(page, "process-theme-evidence")

    # The therapist seeds a theme of their own with one sentence; the other sentence of the
    # entry comes back ranked, with its score, and is accepted.
    page.get_by_role("link", name=re.compile(r"Recurring themes: ")).first.click()
    page.get_by_role("link", name="Seed a theme").click()
    page.get_by_role("heading", name="Seed a theme").wait_for()
    page.get_by_label("Name of the theme").fill("Shut out of home")
    page.get_by_label(re.compile(r"Locked out of my childhood house once more")).check()
    page.get_by_role("button", name="Seed the theme").click()
    page.get_by_text("Theme seeded.").wait_for()
    ranked = page.get_by_role("region", name="Sentences most like this theme")
    assert "The red door would not open." in ranked.inner_text()
    assert "score" in ranked.inner_text()
    _no_serious_accessibility_problems(page)
    _fits_phone_width(page)
    shot(page, "process-theme-seeded")
    ranked.get_by_role("button", name=re.compile(r"^Accept")).first.click()
    page.get_by_text("Accepted: the sentence joins the theme").wait_for()
    seeded = RecurringTheme.objects.get(origin="seeded")
    assert seeded.evidence.filter(role="accepted").count() == 1
